"""`whowaits audit` as a terminal table: every call site, its operation, context and findings;
and what every audit format shares: which sites could move to batch and what that saves."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from whowaits.core import CallSite, Finding
from whowaits.cost import usd
from whowaits.knowledge.sdk import GENERATION_KINDS
from whowaits.pipeline import RunResult
from whowaits.report import plural


def movable(sites: Sequence[CallSite]) -> List[CallSite]:
    """Synchronous generation where every context is latency-tolerant, on a provider's own API
    with a Batch API (an OpenAI-compatible server has none: `classify` gives it no batch
    support): it could be a batch."""
    return [s for s in sites if s.verdict == "tolerant" and s.op.kind in GENERATION_KINDS and s.op.batch_supported]


@dataclass(frozen=True)
class Savings:
    """The cost and batch saving of some sites, per 1,000 calls of each; unpriced ones counted."""

    sites: Tuple[CallSite, ...]

    @property
    def priced(self) -> List[CallSite]:
        return [s for s in self.sites if s.cost is not None and s.cost.saving_per_1k_calls is not None]

    @property
    def unpriced(self) -> int:
        return len(self.sites) - len(self.priced)

    @property
    def usd(self) -> float:
        return sum(s.cost.usd_per_1k_calls or 0.0 for s in self.priced if s.cost is not None)

    @property
    def saving(self) -> float:
        return sum(s.cost.saving_per_1k_calls or 0.0 for s in self.priced if s.cost is not None)

    def summary(self) -> str:
        """"2 priced sites: about $27 per 1,000 calls of each, batch saves about $13; 1 unpriced"."""
        parts = []
        if self.priced:
            parts.append(f"{plural(len(self.priced), 'priced site')}: about {usd(self.usd)} per 1,000 calls of each site, "
                         f"batch saves about {usd(self.saving)}")
        if self.unpriced:
            parts.append(f"{self.unpriced} without a price (model, max_tokens or price unknown)")
        return "; ".join(parts) or "none"


def savings_by_entry(sites: Sequence[CallSite]) -> List[Tuple[str, str, Savings]]:
    """Per entry point (with its context kind), the movable sites it reaches and their savings."""
    groups: Dict[Tuple[str, str], List[CallSite]] = {}
    for site in movable(sites):
        for ctx in site.contexts:
            members = groups.setdefault((ctx.entry, ctx.kind), [])
            if site not in members:
                members.append(site)
    ranked = sorted(groups.items(), key=lambda item: (-Savings(tuple(item[1])).saving, item[0]))
    return [(entry, kind, Savings(tuple(members))) for (entry, kind), members in ranked]


def cost_cell(site: CallSite) -> str:
    """`$1.52 / $0.76` (cost / batch saving per 1,000 calls), `?` when unknown, `-` when unpriced."""
    if site.cost is None:
        return "-"
    if site.cost.usd_per_1k_calls is None or site.cost.saving_per_1k_calls is None:
        return "?"
    return f"{usd(site.cost.usd_per_1k_calls)} / {usd(site.cost.saving_per_1k_calls)}"


def findings_at(site: CallSite, findings: Sequence[Finding]) -> List[Finding]:
    """The findings about a site: at its line, or about a part of its request."""
    return [
        f for f in findings
        if (f.path, f.line) == (site.path, site.line)
        or (f.evidence and (f.evidence[0].path, f.evidence[0].line) == (site.path, site.line))
    ]


def site_findings(site: CallSite, findings: List[Finding]) -> List[str]:
    """Codes of the findings about a site."""
    return sorted({f.code for f in findings_at(site, findings)})


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
        if candidates.priced:
            lines.append(f"Prices per 1,000 calls from the table of {candidates.priced[0].cost.price_date}; "  # type: ignore[union-attr]
                         "input counts literal prompt text (chars / 4), output the literal max_tokens.")
    return "\n".join(lines) + "\n"

