"""`whowaits explain PATH:LINE`: why a call site has the context it has."""

from __future__ import annotations

from typing import List, Set

from whowaits.contexts import CallGraph, FuncKey
from whowaits.core import CallSite


def explain_site(site: CallSite, graph: CallGraph) -> str:
    lines = [
        f"{site.path}:{site.line}:{site.col}: {site.op.provider} {site.op.method} "
        f"({site.op.kind}) in {site.call.function}",
        f"verdict: {site.verdict}",
    ]
    if site.contexts:
        for ctx in site.contexts:
            extra = f", {ctx.per_item}" if ctx.per_item else ""
            lines.append(f"\n{ctx.kind} ({'blocking' if ctx.blocking else 'tolerant'}{extra})")
            for step in ctx.evidence:
                lines.append(f"    {step.path}:{step.line}: {step.note}")
        return "\n".join(lines) + "\n"
    lines.append("")
    lines.extend(_why_unknown((site.path, site.call.function), graph))
    return "\n".join(lines) + "\n"


def _why_unknown(key: FuncKey, graph: CallGraph) -> List[str]:
    """Walk callers upwards to show where the chain stops."""
    out = [f"No entry point reaches {key[1]} ({key[0]}), so nobody is known to wait or not wait on it."]
    frontier = [key]
    seen: Set[FuncKey] = {key}
    depth = 0
    while frontier and depth < 6:
        next_frontier = []
        for current in frontier:
            callers = graph.callers_of(current)
            if not callers:
                out.append(f"  {current[1]} ({current[0]}) is not called from any analysed project code.")
            for caller, line in callers:
                out.append(f"  {current[1]} is called from {caller[1]} at {caller[0]}:{line}")
                if caller not in seen:
                    seen.add(caller)
                    next_frontier.append(caller)
        frontier = next_frontier
        depth += 1
    out.append(
        "Mark the function with `# whowaits: context=blocking` or `context=tolerant` on its def line "
        "if you know who waits on it."
    )
    return out
