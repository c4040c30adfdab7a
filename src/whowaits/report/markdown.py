"""The audit as Markdown: counts per provider, operation and verdict, what could move to batch
and at what saving, then every call site."""

from __future__ import annotations

from whowaits.core import CallSite
from whowaits.cost import describe
from whowaits.report.audit import (
    COLUMNS, Savings, contexts_cell, cost_cell, movable, savings_by_entry, site_counts, site_row,
)
from whowaits.report.output import Report


def render(report: Report) -> str:
    result = report.result
    counts = site_counts(result)
    lines = ["# whowaits audit", "", f"{len(result.sites)} LLM call sites in {result.files_scanned} files.", ""]
    for title, key in (("Provider", "provider"), ("Operation", "operation"), ("Verdict", "verdict")):
        lines += [f"| {title} | Sites |", "| --- | ---: |"]
        lines += [f"| {name} | {count} |" for name, count in sorted(counts[key].items())]
        lines.append("")
    candidates = movable(result.sites)
    lines.append(f"## Could move to the Batch API ({len(candidates)})")
    lines.append("")
    if candidates:
        lines.append("Synchronous calls nobody waits on: the Batch API would save 50% of their token cost. "
                     f"Total: {Savings(tuple(candidates)).summary()}.")
        lines.append("")
        lines += [f"- `{s.path}:{s.line}` {s.op.method} in `{s.call.function}` ({contexts_cell(s)}): {_money(s)}" for s in candidates]
        lines += ["", "| Entry point | Kind | Could move to batch |", "| --- | --- | --- |"]
        lines += [f"| {_md(entry)} | {kind} | {_md(group.summary())} |" for entry, kind, group in savings_by_entry(result.sites)]
    else:
        lines.append("None: every synchronous call has someone waiting on it, or nobody knows who does.")
    header = COLUMNS[:-1] + ("$/1k (batch saves)", COLUMNS[-1])
    lines += ["", "## Call sites", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for site in result.sites:
        cells = site_row(site, result)
        lines.append("| " + " | ".join(_md(cell) or "-" for cell in cells[:-1] + (cost_cell(site), cells[-1])) + " |")
    return "\n".join(lines) + "\n"


def _md(cell: str) -> str:
    return cell.replace("|", "\\|")


def _money(site: CallSite) -> str:
    """A movable site's cost and saving per 1,000 calls, or why it is unknown."""
    return describe(site.cost, per="calls") or "not priced"
