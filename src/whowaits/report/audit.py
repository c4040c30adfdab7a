"""What every `whowaits audit` format shares: which sites could move to batch and what that saves,
and each site's cells (location, contexts, cost, findings)."""

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


COLUMNS = ("location", "provider", "operation", "method", "function", "verdict", "contexts", "findings")


def site_row(site: CallSite, result: RunResult) -> Tuple[str, ...]:
    """A site's cells under `COLUMNS`, as the markdown and CSV reports list it."""
    return (
        f"{site.path}:{site.line}",
        site.op.provider,
        site.op.kind,
        site.op.method,
        site.call.function,
        site.verdict,
        contexts_cell(site),
        ",".join(site_findings(site, result.findings)),
    )


def site_counts(result: RunResult) -> Dict[str, Counter]:
    """Sites per provider, operation and verdict."""
    return {
        "provider": Counter(s.op.provider for s in result.sites),
        "operation": Counter(s.op.kind for s in result.sites),
        "verdict": Counter(s.verdict for s in result.sites),
    }
