"""ruff-style text output: `path:line:col: error[CODE] message`, evidence indented, then a summary
and the fix hint.

The severity is printed with the code, so errors and warnings differ without colour.
`--statistics` prints one line per rule with its count instead of the findings, most frequent
first, as ruff does.
"""

from __future__ import annotations

from collections import Counter
from typing import List

import click

from whowaits.core import Finding
from whowaits.pipeline import RunResult
from whowaits.report import plural
from whowaits.report.output import Report


def render(report: Report) -> str:
    """Findings (`[*]` marks a fix `--fix` would apply), then the summary and the fix hint."""
    result, unsafe_fixes = report.result, report.unsafe_fixes
    lines: List[str] = []

    def style(text: str, **kw: object) -> str:
        return click.style(text, **kw) if report.color else text  # type: ignore[arg-type]

    if report.statistics:
        counts = Counter((f.code, f.name) for f in result.findings)
        for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            lines.append(f"{count:5d}\t{code}\t{name}")
    else:
        for f in result.findings:
            where = style(f"{f.path}:{f.line}:{f.col}:", bold=True)
            code = style(f"{f.severity}[{f.code}]", fg="red" if f.severity == "error" else "yellow", bold=True)
            mark = " [*]" if f.fix and (f.fix.applicability == "safe" or unsafe_fixes) else ""
            lines.append(f"{where} {code}{mark} {f.message}")
            if f.brought_in_by is not None:
                step = f.brought_in_by
                lines.append(style(f"    note: reported because its evidence passes through {step.path}:{step.line}, "
                                   f"{step.note}", fg="cyan"))
            if report.show_evidence:
                for ev in f.evidence:
                    lines.append(style(f"    -> {ev.path}:{ev.line}: {ev.note}", dim=True))
    if report.summary:
        lines.append(_summary(result.findings, result))
        if not report.statistics:
            lines += _fix_hint(result.findings, unsafe_fixes)
    return "".join(line + "\n" for line in lines)


def _fix_hint(findings: List[Finding], unsafe_fixes: bool) -> List[str]:
    """ruff's hint: how many findings `--fix` would fix, and how many more `--unsafe-fixes` adds."""
    safe = sum(1 for f in findings if f.fix and f.fix.applicability == "safe")
    unsafe = sum(1 for f in findings if f.fix and f.fix.applicability == "unsafe")
    fixable = safe + unsafe if unsafe_fixes else safe
    hidden = 0 if unsafe_fixes else unsafe
    more = f" ({hidden} hidden fix{'' if hidden == 1 else 'es'} can be enabled with the `--unsafe-fixes` option)" if hidden else ""
    if fixable:
        return [f"[*] {fixable} fixable with the `--fix` option{more}."]
    return [f"No fixes available{more}."] if hidden else []


def _summary(findings: List[Finding], result: RunResult) -> str:
    if not findings and result.checked_nothing:
        return "Nothing checked: no Python, CI, cron or deploy file in the paths given."
    site_files = len({s.path for s in result.sites})
    where = f"{plural(len(result.sites), 'LLM call site')} in {plural(site_files, 'file')}"
    hidden = []
    if result.baselined:
        hidden.append(f"{result.baselined} more in the baseline")
    if result.unchanged:
        hidden.append(f"{result.unchanged} more outside the changed lines")
    more = f" ({'; '.join(hidden)})" if hidden else ""
    if not findings:
        return f"All clear: {where}, no findings{more}."
    counts = Counter(f.severity for f in findings)
    parts = [plural(counts[s], s) for s in ("error", "warning", "info") if counts[s]]
    return f"Found {plural(len(findings), 'finding')} ({', '.join(parts)}){more}: {where}."
