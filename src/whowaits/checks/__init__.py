"""The rule engine: checks register under their code and yield hits over the project index.

A check holds the knowledge of its rule (which facts matter, what to say); the engine adds
the catalog's name and severity, orders the findings and gives each a fingerprint that
survives unrelated edits (it hashes what was found and where in the code, not line numbers).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from whowaits.core import EvidenceStep, Finding, Project, RuleMeta, Span


@dataclass(frozen=True)
class Hit:
    """What a check found: the code, the place, the message and the evidence."""

    code: str
    path: str
    span: Span
    message: str
    anchor: str  # stable text identifying what was found, for the fingerprint
    evidence: Tuple[EvidenceStep, ...] = ()
    extent: Optional[Span] = None  # the call the finding belongs to: a suppression on any of its lines counts


CheckFn = Callable[[Project], Iterator[Hit]]
CHECKS: Dict[str, CheckFn] = {}


def check(*codes: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check function for the codes it can report."""

    def register(fn: CheckFn) -> CheckFn:
        for code in codes:
            CHECKS[code] = fn
        return fn

    return register


def _load_builtin_checks() -> None:
    from whowaits.checks import batch_requests, batch_shape, lifecycle  # noqa: F401  (registration)


def selected(code: str, select: Sequence[str], ignore: Sequence[str]) -> bool:
    """ruff-style prefix selection: the longest matching prefix decides; on a tie (the same
    code selected and ignored), ignore wins."""
    best_select = max((len(p) for p in select if code.startswith(p)), default=-1)
    best_ignore = max((len(p) for p in ignore if code.startswith(p)), default=-1)
    return best_select >= 0 and best_select > best_ignore


def run_checks(
    project: Project,
    catalog: Dict[str, RuleMeta],
    select: Sequence[str] = ("WW",),
    ignore: Sequence[str] = (),
) -> List[Hit]:
    _load_builtin_checks()
    functions: List[CheckFn] = []
    for code, fn in sorted(CHECKS.items()):
        if selected(code, select, ignore) and fn not in functions:
            functions.append(fn)
    hits: List[Hit] = []
    for fn in functions:
        hits.extend(h for h in fn(project) if selected(h.code, select, ignore))
    from whowaits.checks.policy import run_policies

    policies = [r for r in catalog.values() if r.policy and selected(r.code, select, ignore)]
    hits.extend(run_policies(project, policies))
    return hits


def findings_from_hits(
    hits: Iterable[Hit],
    catalog: Dict[str, RuleMeta],
    severities: Optional[Dict[str, str]] = None,
    justifications: Optional[Dict[Hit, str]] = None,
) -> List[Finding]:
    """Order hits, name them from the catalog, apply severity overrides and fingerprint them
    (`justifications`: the reasons of the comments that suppressed them, for suppressed hits)."""
    severities = severities or {}
    # By place, since one problem reached by several chains becomes one merged hit.
    reasons = {(h.code, h.path, h.span.line, h.span.col): why for h, why in (justifications or {}).items()}
    ordered = _one_per_problem(sorted(set(hits), key=lambda h: (h.path, h.span.line, h.span.col, h.code, h.message)))
    seen: Dict[str, int] = {}
    findings = []
    for hit in ordered:
        rule = catalog[hit.code]
        key = f"{hit.code}|{hit.path}|{hit.anchor}"
        seen[key] = seen.get(key, 0) + 1
        fingerprint = hashlib.sha1(f"{key}|{seen[key]}".encode("utf-8", "surrogateescape")).hexdigest()[:16]
        findings.append(
            Finding(
                code=hit.code,
                name=rule.name,
                severity=severities.get(hit.code, rule.severity),
                path=hit.path,
                line=hit.span.line,
                col=hit.span.col,
                message=hit.message,
                evidence=hit.evidence,
                fingerprint=fingerprint,
                end_line=hit.span.end_line,
                end_col=hit.span.end_col,
                justification=reasons.get((hit.code, hit.path, hit.span.line, hit.span.col), ""),
            )
        )
    return findings


def _one_per_problem(hits: List[Hit]) -> List[Hit]:
    """One finding per problem: the same code at the same place, reached by several evidence
    chains (two submits sharing one request builder), is one hit carrying every chain."""
    merged: Dict[Tuple[str, str, int, int], Hit] = {}
    for hit in hits:
        key = (hit.code, hit.path, hit.span.line, hit.span.col)
        first = merged.get(key)
        if first is None:
            merged[key] = hit
        else:
            extra = tuple(step for step in hit.evidence if step not in first.evidence)
            merged[key] = replace(first, evidence=first.evidence + extra)
    return list(merged.values())
