"""The facts of each call site that policy rules (SPEC section 7) match on.

Python computes what needs the whole project (is this batch awaited on the same path? is the
call made once per item?); the rules in `rules/*.toml` decide what to report about it. Every
field a rule's `[when]` table may name is listed in FIELDS with its type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, List, Set, Tuple

from whowaits.core import CallSite, ContextFact, EvidenceStep, Project, RequestFacts
from whowaits.cost import describe
from whowaits.knowledge.frameworks import BLOCKING_KINDS
from whowaits.knowledge.limits import MAX_BATCH_REQUESTS
from whowaits.knowledge.providers import batch_api
from whowaits.knowledge.sdk import BATCH_KINDS, GENERATION_KINDS, METHODS

# field -> type: "str" (glob-matched), "list" (any element glob-matched), "bool", "number".
FIELDS: Dict[str, str] = {
    "path": "str",
    "provider": "str",
    "client": "str",
    "operation": "str",
    "method": "str",
    "function": "str",
    "model": "list",  # a batch submit has the models of all its requests
    "stream": "bool",
    "tools": "bool",
    "max_tokens": "number",
    "async": "bool",
    "verdict": "str",
    "context": "list",
    "entry": "list",
    "blocking": "bool",
    "in_loop": "bool",
    "per_item": "bool",
    "per_item_sequential": "bool",
    "per_item_fanout": "bool",
    "batch_supported": "bool",
    "batch_count": "number",
    "batch_unbounded": "bool",
    "batch_chunked": "bool",
    "awaited_blocking": "bool",
    "waits_blocking_unsubmitted": "bool",
    "schedule_period_hours": "number",
    "poll_deadline_hours": "number",
    "polls_in_loop": "bool",
    "usd_per_1k_calls": "number",
    "batch_saving_usd_per_1k_calls": "number",
}

# The values a `str` / `list` field can take, derived from the knowledge tables: a policy rule
# whose glob matches none of them (`operation = "synch"`) can never fire, so it is refused.
FIELD_VALUES: Dict[str, FrozenSet[str]] = {
    "provider": frozenset(METHODS),
    "operation": frozenset(k for table in METHODS.values() for k in table.values()) | GENERATION_KINDS | BATCH_KINDS,
    "verdict": frozenset({"blocking", "tolerant", "unknown"}),
    "context": frozenset(BLOCKING_KINDS),
}

# Text a rule's `message` may name besides FIELDS (filled where they apply, "?" elsewhere).
MESSAGE_FIELDS: FrozenSet[str] = frozenset({
    "line", "schedule_period", "schedule_entry", "poll_deadline", "deadline_source", "context_kinds",
    "batch_api", "batch_limit", "batch_unbounded_source", "per_item_where", "sequential_where",
    "sequential_entry", "fanout_where", "fanout_entry", "awaited_who", "awaited_how", "wait_who",
    "matched_entry", "matched_kind", "cost",
})


@dataclass
class SiteFacts:
    site: CallSite
    values: Dict[str, Any]  # FIELDS, plus text fields for messages
    evidence: Dict[str, Tuple[EvidenceStep, ...]]  # field -> evidence when a rule relies on it


def sent_requests(site: CallSite) -> List[RequestFacts]:
    """The request shapes a site sends: its own arguments, or for a batch submit the params of
    each request template it submits (so `model = "claude-opus-*"` sees what a batch runs)."""
    batch = site.call.batch
    if site.op.kind == "batch_submit" and batch is not None:
        return [r.params for r in batch.requests if r.params is not None]
    return [site.call.request]


def _polls_in_loop(site: CallSite, poll_calls: Set[Tuple[str, int]]) -> bool:
    """Polling: in a `while` loop, or in a loop that sleeps between calls (a retry-until-ended
    loop, helpers included). A `for` over batch ids retrieving each once is not polling."""
    return (site.path, site.call.call_id) in poll_calls or any(item.kind == "while" for item in site.call.loops)


def _waits_by_entry(project: Project, poll_calls: Set[Tuple[str, int]]) -> Dict[Tuple[str, str], List[CallSite]]:
    """Per entry point and thread, the sites where that path sits until a batch ends (a wait
    on a thread the path started holds up that thread, not the path)."""
    out: Dict[Tuple[str, str], List[CallSite]] = {}
    for site in project.sites:
        for ctx in site.contexts:
            if site.op.kind == "batch_results" and not site.call.status_guarded:
                out.setdefault((ctx.entry, ctx.thread), []).append(site)
            elif site.op.kind == "batch_poll" and (_polls_in_loop(site, poll_calls) or ctx.looped):
                out.setdefault((ctx.entry, ctx.thread), []).append(site)
    return out


def _submits_by_entry(project: Project) -> Dict[str, List[CallSite]]:
    out: Dict[str, List[CallSite]] = {}
    for site in project.sites:
        if site.op.kind == "batch_submit":
            for ctx in site.contexts:
                out.setdefault(ctx.entry, []).append(site)
    return out


def _duration(hours: float) -> str:
    def unit(value: float, name: str) -> str:
        return f"{value:g} {name}{'' if value == 1 else 's'}"

    if hours < 1:
        return unit(round(hours * 60, 1), "minute")
    return unit(round(hours, 1), "hour") if hours < 48 else unit(round(hours / 24, 1), "day")


def _period(ctx: ContextFact) -> float:
    return ctx.period_hours if ctx.period_hours is not None else float("inf")


def _deadline(ctx: ContextFact) -> float:
    return ctx.deadline_hours if ctx.deadline_hours is not None else float("inf")


def _who(ctx: ContextFact) -> str:
    return f"{ctx.kind.replace('_', ' ')} {ctx.entry}"


def site_facts(project: Project) -> List[SiteFacts]:
    poll_calls = {(path, call_id) for path, f in project.facts.items() for poll in f.polls for call_id in poll.call_ids}
    waits = _waits_by_entry(project, poll_calls)
    submits = _submits_by_entry(project)
    poll_deadlines: Dict[Tuple[str, int], List[float]] = {}
    for path, facts in project.facts.items():
        for poll in facts.polls:
            if poll.deadline_seconds:
                for call_id in poll.call_ids:
                    poll_deadlines.setdefault((path, call_id), []).append(poll.deadline_seconds)
    out = []
    for site in project.sites:
        call, batch = site.call, site.call.batch
        requests = sent_requests(site)
        models = sorted({r.model for r in requests if r.model})
        max_tokens = [r.max_tokens for r in requests if r.max_tokens is not None]
        scheduled = [c for c in site.contexts if c.kind == "scheduled" and c.period_hours]
        periods = [c.period_hours for c in scheduled if c.period_hours is not None]
        timed = [c for c in site.contexts if c.deadline_hours]
        deadlines = [c.deadline_hours for c in timed if c.deadline_hours is not None]
        loop_deadlines = [d / 3600 for d in poll_deadlines.get((site.path, call.call_id), [])]
        deadlines += loop_deadlines
        # Who waits in production decides (tests only when nothing else reaches the site): the
        # per-item facts and the kinds a message names come from those contexts, so a message
        # about a tolerant path never names a test's blocking context.
        deciding = site.deciding_contexts
        sequential = next((c for c in deciding if c.per_item and not c.fanout), None)
        parallel = next((c for c in deciding if c.per_item and c.fanout), None)
        chosen = sequential or parallel
        values: Dict[str, Any] = {
            "path": site.path,
            "line": site.line,
            "provider": site.op.provider,
            "client": site.op.client,
            "operation": site.op.kind,
            "method": site.op.method,
            "function": call.function,
            "model": models,
            "stream": any(r.stream for r in requests),
            "tools": any(r.tools for r in requests),
            "max_tokens": max(max_tokens) if max_tokens else None,
            "async": call.is_async,
            "verdict": site.verdict,
            "context": [c.kind for c in site.contexts],
            "entry": [c.entry for c in site.contexts],
            "blocking": any(c.blocking for c in site.contexts),
            "in_loop": bool(call.loops),
            "per_item": sequential is not None or parallel is not None,
            "per_item_sequential": sequential is not None,
            "per_item_fanout": parallel is not None,
            "batch_supported": site.op.batch_supported,
            "batch_count": batch.count if batch else None,
            "batch_unbounded": bool(batch and batch.unbounded),
            "batch_chunked": bool(batch and batch.chunked),
            "awaited_blocking": False,
            "waits_blocking_unsubmitted": False,
            "schedule_period_hours": min(periods) if periods else None,
            "poll_deadline_hours": min(deadlines) if deadlines else None,
            "polls_in_loop": _polls_in_loop(site, poll_calls) or any(c.looped for c in site.contexts),
            "usd_per_1k_calls": site.cost.usd_per_1k_calls if site.cost else None,
            "batch_saving_usd_per_1k_calls": site.cost.saving_per_1k_calls if site.cost else None,
            # text for messages
            "cost": describe(site.cost),
            "schedule_period": _duration(min(periods)) if periods else "",
            "schedule_entry": min(scheduled, key=_period).entry if scheduled else "",
            "poll_deadline": _duration(min(deadlines)) if deadlines else "",
            "context_kinds": ", ".join(sorted({c.kind.replace("_", " ") for c in deciding})) or "none",
            "batch_api": batch_api(site.op.provider),
            "batch_limit": MAX_BATCH_REQUESTS.get(site.op.provider),
            "batch_unbounded_source": batch.unbounded if batch else None,
            "per_item_where": chosen.per_item if chosen else "",
            "sequential_where": sequential.per_item if sequential else "",
            "sequential_entry": sequential.entry if sequential else "",
            "fanout_where": parallel.per_item if parallel else "",
            "fanout_entry": parallel.entry if parallel else "",
        }
        evidence: Dict[str, Tuple[EvidenceStep, ...]] = {}
        if scheduled:
            evidence["schedule_period_hours"] = min(scheduled, key=_period).evidence
        if deadlines:
            if min(deadlines) in loop_deadlines:
                values["deadline_source"] = "its poll loop"
                evidence["poll_deadline_hours"] = (EvidenceStep(site.path, site.line, "polls in a bounded loop"),)
            else:
                owner = min(timed, key=_deadline)
                values["deadline_source"] = f"the job's timeout, {owner.entry}"
                evidence["poll_deadline_hours"] = owner.evidence
        if sequential is not None:
            evidence["per_item_sequential"] = evidence["per_item"] = sequential.evidence
        if parallel is not None:
            evidence["per_item_fanout"] = parallel.evidence
            evidence.setdefault("per_item", parallel.evidence)
        if site.op.kind == "batch_submit":
            for ctx in site.contexts:
                wait = next((w for w in waits.get((ctx.entry, ctx.thread), []) if w is not site), None)
                if ctx.blocking and not ctx.from_test and wait is not None:
                    values["awaited_blocking"] = True
                    values["awaited_who"] = _who(ctx)
                    values["awaited_how"] = "reads its results" if wait.op.kind == "batch_results" else "polls it in a loop"
                    evidence["awaited_blocking"] = ctx.evidence + (
                        EvidenceStep(wait.path, wait.line, f"then waits: {wait.op.method} in {wait.call.function}"),
                    )
                    break
        if site.op.kind == "batch_poll":
            for ctx in site.contexts:
                if ctx.blocking and not ctx.from_test and (_polls_in_loop(site, poll_calls) or ctx.looped) and not submits.get(ctx.entry):
                    values["waits_blocking_unsubmitted"] = True
                    values["wait_who"] = _who(ctx)
                    evidence["waits_blocking_unsubmitted"] = ctx.evidence
                    break
        for ctx in site.contexts:
            evidence.setdefault("context:" + ctx.kind, ctx.evidence)
            values.setdefault("context_entry:" + ctx.kind, ctx.entry)
        out.append(SiteFacts(site, values, evidence))
    return out
