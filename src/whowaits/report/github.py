"""GitHub Actions workflow commands: one annotation per finding, its evidence chain in the message."""

from __future__ import annotations

from whowaits.report.output import Report


def _escape_property(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace(":", "%3A").replace(",", "%2C")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def render(report: Report) -> str:
    lines = []
    for f in report.result.findings:
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
