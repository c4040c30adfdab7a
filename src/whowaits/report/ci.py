"""Formats CI systems read: SARIF 2.1.0 (code scanning), GitHub workflow commands, GitLab Code
Quality JSON and JUnit XML. Each is a pure function of the run result and the rule catalog."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from whowaits import __version__
from whowaits.catalog import rules_web_base
from whowaits.core import Finding, RuleMeta
from whowaits.pipeline import RunResult
from whowaits.report.json_out import cost_dict

_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_GITLAB_SEVERITY = {"error": "major", "warning": "minor", "info": "info"}


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


def sarif(result: RunResult, catalog: Dict[str, RuleMeta]) -> str:
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


def _escape_property(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace(":", "%3A").replace(",", "%2C")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github(result: RunResult) -> str:
    """GitHub Actions workflow commands: one annotation per finding."""
    lines = []
    for f in result.findings:
        kind = {"error": "error", "warning": "warning", "info": "notice"}[f.severity]
        chain = "".join(f"\n  -> {s.path}:{s.line}: {s.note}" for s in f.evidence)
        if f.brought_in_by is not None:  # the annotation may land outside the pull request's diff
            step = f.brought_in_by
            chain = f"\n  reported because its evidence passes through {step.path}:{step.line}, {step.note}" + chain
        lines.append(
            f"::{kind} file={_escape_property(f.path)},line={f.line},col={f.col},"
            f"title={_escape_property(f.code + ' ' + f.name)}::{_escape_data(f.message + chain)}"
        )
    return "".join(line + "\n" for line in lines)


def gitlab(result: RunResult) -> str:
    """GitLab Code Quality report (a JSON array of issues)."""
    issues = [
        {
            "description": f"{f.code} {f.message}",
            "check_name": f"{f.code} {f.name}",
            "fingerprint": f.fingerprint,
            "severity": _GITLAB_SEVERITY[f.severity],
            "location": {"path": f.path, "lines": {"begin": f.line}},
        }
        for f in result.findings
    ]
    return json.dumps(issues, indent=2) + "\n"


def junit(result: RunResult) -> str:
    """JUnit XML in ruff's shape: a test suite per file with findings, a test case per finding
    (viewers show one failure per test case), and one passing case when there is nothing."""
    by_file: Dict[str, List[Finding]] = {}
    for f in result.findings:
        by_file.setdefault(f.path, []).append(f)
    suites = []
    for path, findings in sorted(by_file.items()):
        cases = "".join(
            f"\n    <testcase name={quoteattr(f'{f.code} {f.name} at {f.path}:{f.line}:{f.col}')} "
            f"classname={quoteattr(path)} file={quoteattr(path)} line=\"{f.line}\">"
            f"<failure type={quoteattr(f.code)} message={quoteattr(f.code + ' ' + f.message)}>"
            f"{escape(_text_block(f))}</failure></testcase>"
            for f in findings
        )
        suites.append(f'  <testsuite name={quoteattr(path)} tests="{len(findings)}" failures="{len(findings)}" '
                      f'errors="0">{cases}\n  </testsuite>')
    if not suites:
        suites.append('  <testsuite name="whowaits" tests="1" failures="0" errors="0">\n'
                      '    <testcase classname="whowaits" name="whowaits"/>\n  </testsuite>')
    total = max(len(result.findings), 1)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="whowaits" tests="{total}" failures="{len(result.findings)}" errors="0">\n'
        + "\n".join(suites)
        + "\n</testsuites>\n"
    )


def _text_block(f: Finding) -> str:
    lines = [f"{f.path}:{f.line}:{f.col}: {f.severity}[{f.code}] {f.message}"]
    lines.extend(f"  -> {s.path}:{s.line}: {s.note}" for s in f.evidence)
    return "\n".join(lines)
