"""`whowaits audit` as a terminal table: every call site, its operation, context and findings."""

from __future__ import annotations

from collections import Counter
from typing import Dict, List, Sequence, Tuple

from whowaits.core import CallSite, Finding
from whowaits.knowledge.sdk import COMPATIBLE
from whowaits.pipeline import RunResult


def site_findings(site: CallSite, findings: List[Finding]) -> List[str]:
    """Codes of the findings about a site: at its line, or about a part of its request."""
    codes = set()
    for f in findings:
        if f.path == site.path and f.line == site.line:
            codes.add(f.code)
        elif f.evidence and (f.evidence[0].path, f.evidence[0].line) == (site.path, site.line):
            codes.add(f.code)
    return sorted(codes)


def contexts_cell(site: CallSite) -> str:
    if not site.contexts:
        return "-"
    seen = []
    for ctx in site.contexts:
        where = ctx.entry.split(" ", 1)[0]
        text = f"{ctx.kind}@{where}" + (" (per item)" if ctx.per_item else "")
        if text not in seen:
            seen.append(text)
    return ", ".join(seen)


def manifest_groups(result: RunResult) -> List[Tuple[str, str, List[CallSite]]]:
    """Sites grouped by the manifest entry (workflow step, cron line...) that reaches them."""
    groups: Dict[Tuple[str, str], List[CallSite]] = {}
    for site in result.sites:
        for ctx in site.contexts:
            if ctx.evidence and not ctx.evidence[0].path.endswith(".py"):
                members = groups.setdefault((ctx.entry, ctx.kind), [])
                if site not in members:
                    members.append(site)
    return [(entry, kind, sites) for (entry, kind), sites in sorted(groups.items())]


def render_table(result: RunResult) -> str:
    header = ("LOCATION", "OPERATION", "METHOD", "FUNCTION", "VERDICT", "CONTEXTS", "FINDINGS")
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
        f"{len(result.sites)} call sites in {files} file{'' if files == 1 else 's'}; "
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
    movable = movable_sites(result.sites)
    if movable:
        lines.append(
            f"{len(movable)} synchronous site{'s' if len(movable) != 1 else ''} where nobody waits could "
            "move to the Batch API at 50% of their token cost"
        )
    return "\n".join(lines) + "\n"


def movable_sites(sites: Sequence[CallSite]) -> List[CallSite]:
    """Synchronous generation where every context is latency-tolerant, on a provider's own API
    (an OpenAI-compatible server has no Batch API to move to)."""
    return [s for s in sites if s.verdict == "tolerant" and s.op.kind in ("sync", "stream") and s.op.provider != COMPATIBLE]
