"""ruff-style text output: `path:line:col: CODE message`, evidence indented, then a summary."""

from __future__ import annotations

from collections import Counter
from typing import List

import click

from whowaits.core import Finding
from whowaits.pipeline import RunResult


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render(result: RunResult, color: bool = False, show_evidence: bool = True, statistics: bool = False,
           unsafe_fixes: bool = False, summary: bool = True) -> str:
    """Findings (`[*]` marks a fix `--fix` would apply), then the summary and the fix hint."""
    lines: List[str] = []

    def style(text: str, **kw: object) -> str:
        return click.style(text, **kw) if color else text  # type: ignore[arg-type]

    for f in result.findings:
        where = style(f"{f.path}:{f.line}:{f.col}:", bold=True)
        code = style(f.code, fg="red" if f.severity == "error" else "yellow", bold=True)
        mark = " [*]" if f.fix and (f.fix.applicability == "safe" or unsafe_fixes) else ""
        lines.append(f"{where} {code}{mark} {f.message}")
        if show_evidence:
            for step in f.evidence:
                lines.append(style(f"    -> {step.path}:{step.line}: {step.note}", dim=True))
    if statistics and result.findings:
        lines.append("")
        for (code, name), count in sorted(Counter((f.code, f.name) for f in result.findings).items()):
            lines.append(f"{count:5d}  {code}  {name}")
    if summary:
        lines.append(_summary(result.findings, result))
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
    sites = _plural(len(result.sites), "LLM call site")
    files = _plural(result.files_scanned, "file")
    baselined = f" ({result.baselined} more in the baseline)" if result.baselined else ""
    if not findings:
        return f"All clear: {sites} in {files}, no findings{baselined}."
    counts = Counter(f.severity for f in findings)
    parts = [_plural(counts[s], s) for s in ("error", "warning", "info") if counts[s]]
    return f"Found {_plural(len(findings), 'finding')} ({', '.join(parts)}){baselined}: {sites} in {files}."
