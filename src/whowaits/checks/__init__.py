"""The rule engine: checks register under the name of their rule and yield what they found.

A rule is its TOML file under `rules/` (code, name, severity, documentation, examples, fix
safety and, for a policy rule, its `[when]` conditions and message) plus, unless it is a policy
rule, the check function registered under its name in a module of this package, which holds
the knowledge of the rule (which facts matter, what to say). The engine joins the two by name,
so a code is written only in its rule file; it adds the catalog's code, name and severity,
orders the findings and gives each a fingerprint that survives unrelated edits (it hashes what
was found and where in the code, not line numbers).
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from dataclasses import dataclass, replace
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from whowaits.core import EvidenceStep, Finding, Project, RuleMeta, Span


@dataclass(frozen=True)
class Found:
    """What a check found: the place, the message and the evidence; the engine names the rule."""

    path: str
    span: Span
    message: str
    anchor: str  # stable text identifying what was found, for the fingerprint
    evidence: Tuple[EvidenceStep, ...] = ()
    extent: Optional[Span] = None  # the call the finding belongs to: a suppression on any of its lines counts


@dataclass(frozen=True)
class Hit:
    """A finding of one rule, by code, before the catalog names it and orders it."""

    code: str
    path: str
    span: Span
    message: str
    anchor: str
    evidence: Tuple[EvidenceStep, ...] = ()
    extent: Optional[Span] = None


CheckFn = Callable[[Project], Iterator[Found]]
CHECKS: Dict[str, CheckFn] = {}  # rule name -> its check


def check(name: str) -> Callable[[CheckFn], CheckFn]:
    """Register the check of the rule named `name` (the `name` of its file under `rules/`)."""

    def register(fn: CheckFn) -> CheckFn:
        if name in CHECKS:
            raise ValueError(f"rule `{name}` has two checks")
        CHECKS[name] = fn
        return fn

    return register


def _load_builtin_checks() -> None:
    """Import every module of this package, so that each registers its checks."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def checks_by_code(catalog: Dict[str, RuleMeta]) -> Dict[str, CheckFn]:
    """Each built-in check under the code of the rule it is named after."""
    _load_builtin_checks()
    codes = {rule.name: code for code, rule in catalog.items() if rule.builtin}
    unknown = sorted(set(CHECKS) - set(codes))
    if unknown:
        raise ValueError(f"check for `{unknown[0]}`, which names no rule under rules/")
    return {codes[name]: fn for name, fn in CHECKS.items()}


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
    hits: List[Hit] = []
    for code, fn in sorted(checks_by_code(catalog).items()):
        if selected(code, select, ignore):
            hits.extend(Hit(code, f.path, f.span, f.message, f.anchor, f.evidence, f.extent) for f in fn(project))
    from whowaits.checks.policy import run_policies

    policies = [r for r in catalog.values() if r.policy and selected(r.code, select, ignore)]
    hits.extend(run_policies(project, policies))
    return hits


def fixable_paths(project: Project, catalog: Dict[str, RuleMeta], select: Sequence[str] = ("WW",),
                  ignore: Sequence[str] = ()) -> List[str]:
    """The files the selected rules with a fix find something in, run as soon as the call
    sites are known, before their contexts: where fixes will likely be offered (a hint for the
    fix process to parse them meanwhile; a rule that reads contexts may find less then)."""
    found: Set[str] = set()
    for code, fn in checks_by_code(catalog).items():
        autofix = catalog[code].autofix
        if autofix is not None and autofix.safety != "none" and selected(code, select, ignore):
            found.update(f.path for f in fn(project))
    return sorted(found)


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
    ordered = _one_per_problem(sorted(set(hits), key=_place_then_content))
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


def _place_then_content(hit: Hit) -> Tuple[object, ...]:
    """By place, then by everything else a hit holds: two hits of one problem reached by
    different chains (merged into one finding) come in the same order on every run, so the
    merged evidence and the fingerprint do not depend on the order of a set."""
    spans = [(s.line, s.col, s.end_line, s.end_col) for s in (hit.span, hit.extent) if s is not None]
    return (hit.path, hit.span.line, hit.span.col, hit.code, hit.message, hit.anchor,
            [(e.path, e.line, e.note) for e in hit.evidence], spans, hit.extent is None)


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
