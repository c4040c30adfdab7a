"""SARIF 2.1.0, what code scanning reads: rule metadata, the evidence chain as related locations
and a code flow, fingerprints, fixes, and findings suppressed in the code as dismissed."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Tuple
from urllib.parse import quote

from whowaits import __version__
from whowaits.catalog import rules_web_base
from whowaits.core import Finding, RuleMeta
from whowaits.report.json_out import cost_dict
from whowaits.report.output import Report

_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _location(path: str, line: int, col: int = 1, message: str = "", end: Tuple[int, int] = (0, 0)) -> Dict[str, Any]:
    """A SARIF location; without a known end (evidence steps) the region is the whole line:
    SARIF reads an `endLine` without `endColumn` as "to the end of that line"."""
    region = {"startLine": max(line, 1), "startColumn": max(col, 1), "endLine": max(end[0], line, 1)}
    if end[0]:
        region["endColumn"] = max(end[1], 1) if end[0] > line else max(end[1], col, 1)
    out: Dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": quote(path), "uriBaseId": "%SRCROOT%"},
            "region": region,
        }
    }
    if message:
        out["message"] = {"text": message}
    return out


def _rule(meta: RuleMeta, docs: Optional[str]) -> Dict[str, Any]:
    help_text = "\n\n".join(p for p in (meta.rationale, "How to fix: " + meta.fix if meta.fix else "") if p)
    markdown = f"{meta.rationale}\n\n**How to fix.** {meta.fix}" if meta.fix else meta.rationale
    if meta.bad:
        markdown += f"\n\nBad:\n\n```python\n{meta.bad}\n```"
    if meta.good:
        markdown += f"\n\nGood:\n\n```python\n{meta.good}\n```"
    rule: Dict[str, Any] = {
        "id": meta.code,
        "name": meta.name,
        "shortDescription": {"text": meta.summary},
        "fullDescription": {"text": meta.rationale or meta.summary},
        "help": {"text": help_text or meta.summary, "markdown": markdown or meta.summary},
        "defaultConfiguration": {"level": _SARIF_LEVEL[meta.severity]},
        "properties": {"tags": ["whowaits", "llm-routing"], "precision": "high"},
    }
    if docs and meta.builtin:  # a team's own policy rule is documented in its own repository
        rule["helpUri"] = f"{docs}{meta.code}.toml"
    return rule


def render(report: Report) -> str:
    result, catalog = report.result, report.catalog
    codes = sorted({f.code for f in result.findings + result.suppressed} | set(catalog))
    index = {code: i for i, code in enumerate(codes)}
    docs = rules_web_base()
    results = []
    costs = {(s.path, s.line): s.cost for s in result.sites if s.cost is not None}
    for f, silenced in [(f, False) for f in result.findings] + [(f, True) for f in result.suppressed]:
        entry: Dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message},
            "locations": [_location(f.path, f.line, f.col, end=(f.end_line, f.end_col))],
            "partialFingerprints": {"whowaits/v1": f.fingerprint},
        }
        if silenced:  # by a comment in the code: code scanning shows it as dismissed
            entry["suppressions"] = [dict({"kind": "inSource"}, **({"justification": f.justification} if f.justification else {}))]
        if (f.path, f.line) in costs:  # the site's cost and batch saving per 1,000 calls
            entry["properties"] = {"cost": cost_dict(costs[(f.path, f.line)])}
        if f.evidence:
            entry["relatedLocations"] = [
                dict(_location(step.path, step.line, 1, step.note), id=i) for i, step in enumerate(f.evidence)
            ]
            entry["codeFlows"] = [{
                "message": {"text": "who waits: the path from the entry point to the call"},
                "threadFlows": [{"locations": [{"location": _location(s.path, s.line, 1, s.note)} for s in f.evidence]}],
            }]
        if f.fix is not None:
            entry["fixes"] = [_sarif_fix(f)]
        results.append(entry)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "whowaits", "version": __version__, "semanticVersion": __version__,
                                "rules": [_rule(catalog[c], docs) for c in codes if c in catalog]}},
            # Paths are relative to the repository root; no absolute path of this machine.
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The root of the repository."}}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2) + "\n"


def _sarif_fix(f: Finding) -> Dict[str, Any]:
    """A SARIF `fix`: its description says whether it is safe; one replacement per edit."""
    assert f.fix is not None
    return {
        "description": {"text": f"{f.fix.message} ({f.fix.applicability} fix)"},
        "artifactChanges": [{
            "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
            "replacements": [
                {"deletedRegion": {"startLine": e.line, "startColumn": e.col, "endLine": e.end_line, "endColumn": e.end_col},
                 "insertedContent": {"text": e.content}}
                for e in f.fix.edits
            ],
        }],
        "properties": {"applicability": f.fix.applicability},
    }
