"""The versioned JSON document shared by `check --output-format json` and `audit --format json`."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence

from whowaits import __version__
from whowaits.core import CallSite, CostEstimate, EvidenceStep, Finding, FixInfo, RequestFacts
from whowaits.pipeline import RunResult
from whowaits.report.audit import Savings, movable, savings_by_entry
from whowaits.report.output import Report

JSON_VERSION = 1


def _evidence(steps: Sequence[EvidenceStep]) -> List[Dict[str, Any]]:
    return [{"path": e.path, "line": e.line, "note": e.note} for e in steps]


def _request(request: RequestFacts) -> Dict[str, Any]:
    return {
        "model": request.model,
        "stream": request.stream,
        "tools": request.tools,
        "max_tokens": request.max_tokens,
        "speed": request.speed,
        "betas": list(request.betas),
    }


def cost_dict(cost: Optional[CostEstimate]) -> Optional[Dict[str, Any]]:
    """SPEC section 5's `cost`: per 1,000 calls, from the dated price table; unknowns listed."""
    if cost is None:
        return None
    return {
        "model": cost.model,
        "input_tokens": cost.input_tokens,
        "output_tokens": cost.output_tokens,
        "usd_per_1k_calls": _round(cost.usd_per_1k_calls),
        "batch_usd_per_1k_calls": _round(cost.batch_usd_per_1k_calls),
        "batch_saving_usd_per_1k_calls": _round(cost.saving_per_1k_calls),
        "unknown": list(cost.unknown),
        "price_date": cost.price_date,
    }


def _round(amount: Optional[float]) -> Optional[float]:
    return None if amount is None else round(amount, 6)


def site_dict(site: CallSite, findings: List[Finding]) -> Dict[str, Any]:
    call = site.call
    out: Dict[str, Any] = {
        "path": site.path,
        "line": site.line,
        "col": site.col,
        "provider": site.op.provider,
        "client": site.op.client,
        "operation": site.op.kind,
        "method": site.op.method,
        "function": call.function,
        "async": call.is_async,
        "receiver": call.via,
        "contexts": [
            {
                "kind": c.kind,
                "blocking": c.blocking,
                "entry": c.entry,
                "per_item": c.per_item,
                "evidence": _evidence(c.evidence),
            }
            for c in site.contexts
        ],
        "verdict": site.verdict,
        "request": _request(call.request),
        "loops": [{"kind": item.kind, "line": item.span.line, "fanout": item.fanout} for item in call.loops],
        "findings": [f.code for f in findings if f.path == site.path and f.line == site.line],
        "cost": cost_dict(site.cost),
    }
    if call.batch is not None:
        out["batch"] = {
            "source": call.batch.source,
            "requests": len(call.batch.requests),
            "count": call.batch.count,
        }
    return out


def finding_dict(finding: Finding) -> Dict[str, Any]:
    return {
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity,
        "path": finding.path,
        "line": finding.line,
        "col": finding.col,
        "message": finding.message,
        "evidence": _evidence(finding.evidence),
        "fingerprint": finding.fingerprint,
        "fix": _fix(finding.fix),
    }


def _fix(fix: Optional[FixInfo]) -> Optional[Dict[str, Any]]:
    """`safe` (SPEC), then ruff's shape: applicability, message and edits (1-based, end exclusive)."""
    if fix is None:
        return None
    return {
        "safe": fix.applicability == "safe",
        "applicability": fix.applicability,
        "message": fix.message,
        "edits": [
            {"content": e.content, "location": {"row": e.line, "column": e.col},
             "end_location": {"row": e.end_line, "column": e.end_col}}
            for e in fix.edits
        ],
    }


def _savings(group: Savings) -> Dict[str, Any]:
    return {
        "sites": len(group.sites),
        "priced_sites": len(group.priced),
        "unpriced_sites": group.unpriced,
        "usd_per_1k_calls": _round(group.usd),
        "batch_saving_usd_per_1k_calls": _round(group.saving),
    }


def could_move_to_batch(result: RunResult) -> Dict[str, Any]:
    """The portfolio total and, per entry point, what moving tolerant sync sites to batch saves
    (per 1,000 calls of each site, from the dated price table)."""
    total = Savings(tuple(movable(result.sites)))
    return dict(
        _savings(total),
        price_date=next((s.cost.price_date for s in total.sites if s.cost), None),
        locations=[f"{s.path}:{s.line}" for s in total.sites],
        by_entry=[dict(entry=entry, kind=kind, **_savings(group)) for entry, kind, group in savings_by_entry(result.sites)],
    )


def summary(result: RunResult) -> Dict[str, Any]:
    return {
        "files": result.files_scanned,
        "files_parsed": result.files_parsed,
        "sites": len(result.sites),
        "findings": len(result.findings),
        "by_severity": dict(sorted(Counter(f.severity for f in result.findings).items())),
        "by_code": dict(sorted(Counter(f.code for f in result.findings).items())),
        "sites_by_operation": dict(sorted(Counter(s.op.kind for s in result.sites).items())),
        "sites_by_provider": dict(sorted(Counter(s.op.provider for s in result.sites).items())),
        "sites_by_verdict": dict(sorted(Counter(s.verdict for s in result.sites).items())),
        "could_move_to_batch": could_move_to_batch(result),
    }


def render(report: Report) -> str:
    result = report.result
    doc = {
        "version": JSON_VERSION,
        "tool": {"name": "whowaits", "version": __version__},
        "sites": [site_dict(s, result.findings) for s in result.sites],
        "findings": [finding_dict(f) for f in result.findings],
        "summary": summary(result),
    }
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"
