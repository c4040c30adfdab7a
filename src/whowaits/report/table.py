"""`whowaits audit` as a terminal table: every call site, its operation, contexts, cost and
findings; then counts, the CI, cron and deploy entries and what could move to batch."""

from __future__ import annotations

from collections import Counter

from whowaits.report import plural
from whowaits.report.audit import (
    Savings, contexts_cell, cost_cell, manifest_groups, movable, savings_by_entry, site_findings,
)
from whowaits.report.output import Report


def render(report: Report) -> str:
    result = report.result
    header = ("LOCATION", "OPERATION", "METHOD", "FUNCTION", "VERDICT", "CONTEXTS", "$/1K (BATCH SAVES)", "FINDINGS")
    rows = [header]
    for s in result.sites:
        rows.append(
            (
                f"{s.path}:{s.line}:{s.col}",
                s.op.kind,
                f"{s.op.provider} {s.op.method}",
                s.call.function,
                s.verdict,
                contexts_cell(s),
                cost_cell(s),
                ",".join(site_findings(s, result.findings)) or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    files = result.files_scanned
    by_op = Counter(s.op.kind for s in result.sites)
    by_verdict = Counter(s.verdict for s in result.sites)
    lines.append(
        f"{len(result.sites)} call sites in {plural(files, 'file')}; "
        + ", ".join(f"{k}: {v}" for k, v in sorted(by_op.items()))
    )
    lines.append("verdicts: " + (", ".join(f"{k}: {v}" for k, v in sorted(by_verdict.items())) or "none"))
    by_manifest = manifest_groups(result)
    if by_manifest:
        lines.append("")
        lines.append("Started by CI, cron and deploy files:")
        for entry, kind, sites in by_manifest:
            lines.append(f"  {entry} [{kind}]")
            lines.extend(f"    {s.path}:{s.line} {s.op.method} in {s.call.function}" for s in sites)
    unresolved = sorted(set(getattr(result.graph, "unresolved", [])))
    if unresolved:
        lines.append("")
        lines.append("Python commands in CI, cron and deploy files that reach no analysed LLM code:")
        lines.extend(f"  {path}:{line}: {command}" for path, line, command in unresolved)
    candidates = Savings(tuple(movable(result.sites)))
    if candidates.sites:
        lines.append("")
        lines.append(f"Could move to the Batch API ({plural(len(candidates.sites), 'synchronous site')} nobody waits on, "
                     f"50% of their token cost): {candidates.summary()}")
        for entry, kind, group in savings_by_entry(result.sites):
            lines.append(f"  {entry} [{kind}]: {group.summary()}")
        priced = candidates.priced[0].cost if candidates.priced else None
        if priced is not None:
            lines.append(f"Prices per 1,000 calls from the table of {priced.price_date}; "
                         "input counts literal prompt text (chars / 4), output the literal max_tokens.")
    return "\n".join(lines) + "\n"
