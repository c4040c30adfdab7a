"""Routing: the delivery mode against who waits.

WW101: a blocking path submits a batch and then waits for it (poll loop or results read).
WW102: a blocking path polls a batch it did not submit.
WW105: a batch is submitted inside a tool/agent loop.
WW201: synchronous generation per item of a collection where nobody waits (all contexts
tolerant): the Batch API would halve the cost.
WW202: the same, fanned out over threads or tasks for throughput.

The waiting decides, not the trigger: a handler that submits a batch and answers with its id
at once is routed correctly. Routing rules never fire on an `unknown` verdict.
"""

from __future__ import annotations

from typing import Dict, Iterator, List

from whowaits.checks import Hit, check
from whowaits.core import CallSite, ContextFact, EvidenceStep, Project
from whowaits.knowledge.sdk import GENERATION_KINDS

_API = {"anthropic": "Message Batches API", "openai": "Batch API", "google": "Batch API"}


def _is_wait(site: CallSite) -> bool:
    """A results read, or a status poll repeated in a loop: the caller sits until the batch ends."""
    if site.op.kind == "batch_results":
        return True
    return site.op.kind == "batch_poll" and any(l.kind in ("while", "for") for l in site.call.loops)


def _by_entry(project: Project, predicate) -> Dict[str, List[CallSite]]:
    out: Dict[str, List[CallSite]] = {}
    for site in project.sites:
        if predicate(site):
            for ctx in site.contexts:
                out.setdefault(ctx.entry, []).append(site)
    return out


def _who(ctx: ContextFact) -> str:
    return f"{ctx.kind.replace('_', ' ')} {ctx.entry}"


@check("WW101", "WW102")
def batch_wait_in_blocking_path(project: Project) -> Iterator[Hit]:
    waits = _by_entry(project, _is_wait)
    submits = _by_entry(project, lambda s: s.op.kind == "batch_submit")
    for site in project.sites:
        if site.op.kind != "batch_submit":
            continue
        for ctx in site.contexts:
            if not ctx.blocking:
                continue
            wait = next((w for w in waits.get(ctx.entry, []) if w is not site), None)
            if wait is None:
                continue
            how = "reads its results" if wait.op.kind == "batch_results" else "polls it in a loop"
            yield Hit(
                "WW101", site.path, site.call.span,
                f"batch submitted in a blocking path ({_who(ctx)}) that then {how} before it can answer: "
                "a batch can take up to 24 h, so whoever waits on this path waits that long; call "
                "the synchronous API here, or answer at once with the batch id and collect the results "
                "from a background or scheduled job",
                f"{site.call.function}|{ctx.entry}",
                ctx.evidence + (EvidenceStep(wait.path, wait.line, f"then waits: {wait.op.method} in {wait.call.function}"),),
            )
            break
    for site in project.sites:
        if not (_is_wait(site) and site.op.kind == "batch_poll"):
            continue
        for ctx in site.contexts:
            if ctx.blocking and not submits.get(ctx.entry):
                yield Hit(
                    "WW102", site.path, site.call.span,
                    f"a blocking path ({_who(ctx)}) polls a batch in a loop until it ends: a batch can "
                    "take up to 24 h; read the status once and answer with it (a status endpoint), or "
                    "move the wait to a background or scheduled job",
                    f"{site.call.function}|{ctx.entry}",
                    ctx.evidence,
                )
                break


@check("WW105")
def batch_in_tool_loop(project: Project) -> Iterator[Hit]:
    for site in project.sites:
        if site.op.kind != "batch_submit":
            continue
        ctx = next((c for c in site.contexts if c.kind == "tool_loop"), None)
        if ctx is None:
            continue
        yield Hit(
            "WW105", site.path, site.call.span,
            f"batch submitted inside a tool loop ({ctx.entry}): each turn needs the previous turn's "
            "answer, a batch turn can take up to 24 h, and a tool_use stop cannot be answered inside "
            "the same batch; call messages.create in the loop",
            f"{site.call.function}|{ctx.entry}",
            ctx.evidence,
        )


@check("WW201", "WW202")
def sync_bulk_in_tolerant_path(project: Project) -> Iterator[Hit]:
    for site in project.sites:
        if site.op.kind not in GENERATION_KINDS or not site.op.batch_supported or site.verdict != "tolerant":
            continue
        kinds = ", ".join(sorted({c.kind.replace("_", " ") for c in site.contexts}))
        api = _API.get(site.op.provider, "Batch API")
        sequential = next((c for c in site.contexts if c.per_item and not c.fanout), None)
        parallel = next((c for c in site.contexts if c.per_item and c.fanout), None)
        if sequential is not None:
            yield Hit(
                "WW201", site.path, site.call.span,
                f"synchronous `{site.op.method}` runs {sequential.per_item} in a path nobody waits on "
                f"({kinds}: {sequential.entry}): the {api} would save 50% of input and output "
                "tokens for the same work; collect the requests and submit them as one batch",
                f"{site.call.function}|{site.op.method}",
                sequential.evidence,
            )
        if parallel is not None:
            yield Hit(
                "WW202", site.path, site.call.span,
                f"synchronous `{site.op.method}` is {parallel.per_item} in a path nobody waits on "
                f"({kinds}: {parallel.entry}): the {api} gives the same throughput without "
                "rate-limit pressure at 50% of input and output tokens; submit the items as one batch",
                f"{site.call.function}|{site.op.method}",
                parallel.evidence,
            )
