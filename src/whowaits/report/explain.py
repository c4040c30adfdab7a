"""`whowaits explain PATH:LINE`: why a call site has the context it has."""

from __future__ import annotations

from typing import List, Set, Tuple

from whowaits.contexts import CallGraph, FuncKey
from whowaits.core import CallSite, ParamGuard


def explain_site(site: CallSite, graph: CallGraph) -> str:
    lines = [
        f"{site.path}:{site.line}:{site.col}: {site.op.provider} {site.op.method} "
        f"({site.op.kind}) in {site.call.function}",
        f"verdict: {site.verdict}",
    ]
    if site.contexts:
        deciding = site.deciding_contexts
        for ctx in site.contexts:
            extra = f", {ctx.per_item}" if ctx.per_item else ""
            # Tests fake the API more often than not: theirs counts only when nothing else reaches.
            extra += "" if ctx in deciding else "; a test's: not counted in the verdict, other code reaches the site"
            lines.append(f"\n{ctx.kind} ({'blocking' if ctx.blocking else 'tolerant'}{extra})")
            for step in ctx.evidence:
                lines.append(f"    {step.path}:{step.line}: {step.note}")
        return "\n".join(lines) + "\n"
    lines.append("")
    lines.extend(_why_unknown((site.path, site.call.function), site.call.guards, graph))
    return "\n".join(lines) + "\n"


def _why_unknown(key: FuncKey, guards: Tuple[ParamGuard, ...], graph: CallGraph) -> List[str]:
    """Walk callers upwards to show where the chain stops: no caller, or callers that pass
    what rules out the branch the way down needs (`run(rows, bulk=False)` above `if bulk:`)."""
    out = [f"No entry point reaches {key[1]} ({key[0]}), so nobody is known to wait or not wait on it."]
    frontier = [(key, guards)]
    seen: Set[FuncKey] = {key}
    depth = 0
    while frontier and depth < 6:
        next_frontier = []
        for current, needs in frontier:
            calls = [(caller, edge) for caller, edges in sorted(graph.edges.items()) for edge, callee in edges if callee == current]
            if not calls:
                out.append(f"  {current[1]} ({current[0]}) is not called from any analysed project code.")
            for caller, edge in calls:
                ruled_out = graph.rejects(edge, current, needs)
                why = f" (the call never takes `{_branch(ruled_out)}` there)" if ruled_out is not None else ""
                out.append(f"  {current[1]} is called from {caller[1]} at {caller[0]}:{edge.line}{why}")
                if caller not in seen and ruled_out is None:
                    seen.add(caller)
                    next_frontier.append((caller, edge.guards))
        frontier = next_frontier
        depth += 1
    out.append(
        "Mark the function with `# whowaits: context=blocking` or `context=tolerant` on its def line "
        "if you know who waits on it."
    )
    return out


def _branch(guard: ParamGuard) -> str:
    """The branch a guard names, as code: `if bulk`, `if not bulk`, `if mode == 'batch'`."""
    if guard.test in ("truthy", "falsy"):
        return f"if {'not ' if guard.test == 'falsy' else ''}{guard.name}"
    return f"if {guard.name} {'==' if guard.test == 'equal' else '!='} {guard.value!r}"
