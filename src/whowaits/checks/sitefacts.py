"""The properties of a call site that policy rules (SPEC section 7) test and their messages name.

Python computes what needs the whole project (is this batch awaited on the same path? is the
call made once per item?); the rules in `rules/*.toml` decide what to report about it. Each
property is one small function of the site and the project, registered under its name with its
kind (what a `[when]` table can compare it with), the values it can take when those are known,
and, where a rule relying on it should show why, its evidence. FIELDS, FIELD_VALUES and
MESSAGE_FIELDS, which validate policy rules, are derived from that registry.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple

from whowaits.core import CallSite, ContextFact, EvidenceStep, Project, RequestFacts
from whowaits.cost import describe
from whowaits.knowledge.frameworks import BLOCKING_KINDS
from whowaits.knowledge.limits import MAX_BATCH_REQUESTS
from whowaits.knowledge.providers import batch_api
from whowaits.knowledge.sdk import BATCH_KINDS, GENERATION_KINDS, METHODS


class Kind(str, Enum):
    """What a `[when]` table can compare a property with."""

    STR = "str"  # glob-matched
    LIST = "list"  # matches when any of its items is glob-matched
    BOOL = "bool"
    NUMBER = "number"  # equal, or compared with a string like "<24"
    TEXT = "text"  # for messages only: no `[when]` condition can test it


@dataclass(frozen=True)
class ProjectView:
    """The project as site properties see it: the indexes several properties share, built once."""

    poll_calls: FrozenSet[Tuple[str, int]]  # (path, call id) of calls inside a poll loop
    waits: Dict[Tuple[str, str], List[CallSite]]  # (entry, thread) -> sites that sit until a batch ends
    submitting_entries: FrozenSet[str]  # entry points that reach a batch submit
    poll_deadlines: Dict[Tuple[str, int], List[float]]  # (path, call id) -> deadlines of its poll loops, in seconds

    @classmethod
    def of(cls, project: Project) -> "ProjectView":
        poll_calls = frozenset(
            (path, call_id) for path, f in project.facts.items() for poll in f.polls for call_id in poll.call_ids
        )
        poll_deadlines: Dict[Tuple[str, int], List[float]] = {}
        for path, facts in project.facts.items():
            for poll in facts.polls:
                if poll.deadline_seconds:
                    for call_id in poll.call_ids:
                        poll_deadlines.setdefault((path, call_id), []).append(poll.deadline_seconds)
        submitting = frozenset(ctx.entry for s in project.sites if s.op.kind == "batch_submit" for ctx in s.contexts)
        return cls(poll_calls, _waits_by_entry(project, poll_calls), submitting, poll_deadlines)


PropertyFn = Callable[[CallSite, ProjectView], Any]
# The evidence a finding relying on a property shows; None when the property has none to give.
EvidenceFn = Callable[[CallSite, ProjectView], Optional[Tuple[EvidenceStep, ...]]]


@dataclass(frozen=True)
class Property:
    """One named fact of a call site: how it is computed and what rules can do with it."""

    name: str
    kind: Kind
    doc: str
    compute: PropertyFn
    values: Optional[FrozenSet[str]] = None  # every value a str / list property can take, when known
    evidence: Optional[EvidenceFn] = None
    thousands: bool = False  # messages print the number as 100,000


PROPERTIES: Dict[str, Property] = {}


def prop(
    name: str,
    kind: Kind,
    values: Optional[FrozenSet[str]] = None,
    evidence: Optional[EvidenceFn] = None,
    thousands: bool = False,
) -> Callable[[PropertyFn], PropertyFn]:
    """Register a property function under `name`; its docstring documents the property."""

    def register(fn: PropertyFn) -> PropertyFn:
        if name in PROPERTIES:
            raise ValueError(f"site property `{name}` is registered twice")
        PROPERTIES[name] = Property(name, kind, inspect.cleandoc(fn.__doc__ or ""), fn, values, evidence, thousands)
        return fn

    return register


class SiteFacts:
    """One call site's properties, each computed the first time a rule asks for it."""

    def __init__(self, site: CallSite, project: ProjectView) -> None:
        self.site = site
        self._project = project
        self._values: Dict[str, Any] = {}

    def value(self, name: str) -> Any:
        if name not in self._values:
            self._values[name] = PROPERTIES[name].compute(self.site, self._project)
        return self._values[name]

    def evidence(self, name: str) -> Optional[Tuple[EvidenceStep, ...]]:
        fn = PROPERTIES[name].evidence
        return None if fn is None else fn(self.site, self._project)


def site_facts(project: Project) -> List[SiteFacts]:
    view = ProjectView.of(project)
    return [SiteFacts(site, view) for site in project.sites]


# -- shared by several properties ---------------------------------------------------------


def sent_requests(site: CallSite) -> List[RequestFacts]:
    """The request shapes a site sends: its own arguments, or for a batch submit the params of
    each request template it submits (so `model = "claude-opus-*"` sees what a batch runs)."""
    batch = site.call.batch
    if site.op.kind == "batch_submit" and batch is not None:
        return [r.params for r in batch.requests if r.params is not None]
    return [site.call.request]


def _polls_in_loop(site: CallSite, poll_calls: FrozenSet[Tuple[str, int]]) -> bool:
    """Polling: in a `while` loop, or in a loop that sleeps between calls (a retry-until-ended
    loop, helpers included). A `for` over batch ids retrieving each once is not polling."""
    return (site.path, site.call.call_id) in poll_calls or any(item.kind == "while" for item in site.call.loops)


def _waits_by_entry(project: Project, poll_calls: FrozenSet[Tuple[str, int]]) -> Dict[Tuple[str, str], List[CallSite]]:
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


def _duration(hours: float) -> str:
    def unit(value: float, name: str) -> str:
        return f"{value:g} {name}{'' if value == 1 else 's'}"

    if hours < 1:
        return unit(round(hours * 60, 1), "minute")
    return unit(round(hours, 1), "hour") if hours < 48 else unit(round(hours / 24, 1), "day")


def _who(ctx: ContextFact) -> str:
    return f"{ctx.kind.replace('_', ' ')} {ctx.entry}"


def _sequential(site: CallSite) -> Optional[ContextFact]:
    """The first deciding context (who waits in production; tests only when nothing else
    reaches the site) that makes the call once per item, one after the other."""
    return next((c for c in site.deciding_contexts if c.per_item and not c.fanout), None)


def _fanout(site: CallSite) -> Optional[ContextFact]:
    """The first deciding context that makes the call once per item, spread over threads or tasks."""
    return next((c for c in site.deciding_contexts if c.per_item and c.fanout), None)


def _schedule(site: CallSite) -> Optional[ContextFact]:
    """The scheduled context that runs most often, when one declares its period."""
    scheduled = [c for c in site.contexts if c.kind == "scheduled" and c.period_hours]
    return min(scheduled, key=lambda c: c.period_hours or float("inf")) if scheduled else None


def _loop_deadlines(site: CallSite, project: ProjectView) -> List[float]:
    """In hours, how long the poll loops around the site wait before they give up."""
    return [d / 3600 for d in project.poll_deadlines.get((site.path, site.call.call_id), [])]


def _job_deadline(site: CallSite) -> Optional[ContextFact]:
    """The context whose runner stops it soonest, when one declares a timeout."""
    timed = [c for c in site.contexts if c.deadline_hours]
    return min(timed, key=lambda c: c.deadline_hours or float("inf")) if timed else None


def _deadline(site: CallSite, project: ProjectView) -> Optional[Tuple[float, Optional[ContextFact]]]:
    """The soonest time a wait at the site gives up, in hours, with the context whose timeout
    sets it (None when the site's own poll loop gives up that soon)."""
    loops = _loop_deadlines(site, project)
    job = _job_deadline(site)
    soonest = min(loops + ([job.deadline_hours] if job is not None and job.deadline_hours else []), default=None)
    if soonest is None:
        return None
    return soonest, (None if soonest in loops else job)


def _awaited(site: CallSite, project: ProjectView) -> Optional[Tuple[ContextFact, CallSite]]:
    """For a batch submit, the first blocking production path that then waits for a batch on
    its own thread, with the wait."""
    if site.op.kind != "batch_submit":
        return None
    for ctx in site.contexts:
        wait = next((w for w in project.waits.get((ctx.entry, ctx.thread), []) if w is not site), None)
        if ctx.blocking and not ctx.from_test and wait is not None:
            return ctx, wait
    return None


def _unsubmitted_wait(site: CallSite, project: ProjectView) -> Optional[ContextFact]:
    """For a batch poll, the first blocking production path that polls in a loop a batch it
    did not submit itself."""
    if site.op.kind != "batch_poll":
        return None
    for ctx in site.contexts:
        looping = _polls_in_loop(site, project.poll_calls) or ctx.looped
        if ctx.blocking and not ctx.from_test and looping and ctx.entry not in project.submitting_entries:
            return ctx
    return None


# -- evidence -----------------------------------------------------------------------------


def _sequential_evidence(site: CallSite, project: ProjectView) -> Optional[Tuple[EvidenceStep, ...]]:
    ctx = _sequential(site)
    return ctx.evidence if ctx is not None else None


def _fanout_evidence(site: CallSite, project: ProjectView) -> Optional[Tuple[EvidenceStep, ...]]:
    ctx = _fanout(site)
    return ctx.evidence if ctx is not None else None


def _per_item_evidence(site: CallSite, project: ProjectView) -> Optional[Tuple[EvidenceStep, ...]]:
    ctx = _sequential(site) or _fanout(site)
    return ctx.evidence if ctx is not None else None


def _schedule_evidence(site: CallSite, project: ProjectView) -> Optional[Tuple[EvidenceStep, ...]]:
    ctx = _schedule(site)
    return ctx.evidence if ctx is not None else None


def _deadline_evidence(site: CallSite, project: ProjectView) -> Optional[Tuple[EvidenceStep, ...]]:
    found = _deadline(site, project)
    if found is None:
        return None
    owner = found[1]
    return (EvidenceStep(site.path, site.line, "polls in a bounded loop"),) if owner is None else owner.evidence


def _awaited_evidence(site: CallSite, project: ProjectView) -> Optional[Tuple[EvidenceStep, ...]]:
    found = _awaited(site, project)
    if found is None:
        return None
    ctx, wait = found
    return ctx.evidence + (EvidenceStep(wait.path, wait.line, f"then waits: {wait.op.method} in {wait.call.function}"),)


def _unsubmitted_evidence(site: CallSite, project: ProjectView) -> Optional[Tuple[EvidenceStep, ...]]:
    ctx = _unsubmitted_wait(site, project)
    return ctx.evidence if ctx is not None else None


# -- what a `[when]` table tests ----------------------------------------------------------


@prop("path", Kind.STR)
def _path(site: CallSite, project: ProjectView) -> str:
    """The file of the call, relative to the project root, `/`-separated."""
    return site.path


@prop("provider", Kind.STR, values=frozenset(METHODS))
def _provider(site: CallSite, project: ProjectView) -> str:
    """The provider whose API the call reaches."""
    return site.op.provider


@prop("client", Kind.STR)
def _client(site: CallSite, project: ProjectView) -> str:
    """The canonical client class the call is made on (`Anthropic`, `AsyncOpenAI`, ...)."""
    return site.op.client


@prop("operation", Kind.STR,
      values=frozenset(k for table in METHODS.values() for k in table.values()) | GENERATION_KINDS | BATCH_KINDS)
def _operation(site: CallSite, project: ProjectView) -> str:
    """The operation kind: `sync`, `stream`, `batch_submit`, `batch_poll`, ..."""
    return site.op.kind


@prop("method", Kind.STR)
def _method(site: CallSite, project: ProjectView) -> str:
    """The SDK method called, as a path from the client (`messages.batches.create`)."""
    return site.op.method


@prop("function", Kind.STR)
def _function(site: CallSite, project: ProjectView) -> str:
    """The function (qualified name) the call is written in."""
    return site.call.function


@prop("model", Kind.LIST)
def _model(site: CallSite, project: ProjectView) -> List[str]:
    """The literal models the call sends; a batch submit has the models of all its requests."""
    return sorted({r.model for r in sent_requests(site) if r.model})


@prop("stream", Kind.BOOL)
def _stream(site: CallSite, project: ProjectView) -> bool:
    """A request the call sends asks for streaming."""
    return any(r.stream for r in sent_requests(site))


@prop("tools", Kind.BOOL)
def _tools(site: CallSite, project: ProjectView) -> bool:
    """A request the call sends offers tools."""
    return any(r.tools for r in sent_requests(site))


@prop("max_tokens", Kind.NUMBER)
def _max_tokens(site: CallSite, project: ProjectView) -> Optional[int]:
    """The largest literal `max_tokens` of the requests the call sends."""
    known = [r.max_tokens for r in sent_requests(site) if r.max_tokens is not None]
    return max(known) if known else None


@prop("async", Kind.BOOL)
def _async(site: CallSite, project: ProjectView) -> bool:
    """The call is awaited (an async client)."""
    return site.call.is_async


@prop("verdict", Kind.STR, values=frozenset({"blocking", "tolerant", "unknown"}))
def _verdict(site: CallSite, project: ProjectView) -> str:
    """Whether someone waits on the call: `blocking`, `tolerant` or `unknown`."""
    return site.verdict


@prop("context", Kind.LIST, values=frozenset(BLOCKING_KINDS))
def _context(site: CallSite, project: ProjectView) -> List[str]:
    """The kinds of the contexts that reach the call (`http_handler`, `scheduled`, ...)."""
    return [c.kind for c in site.contexts]


@prop("entry", Kind.LIST)
def _entry(site: CallSite, project: ProjectView) -> List[str]:
    """The entry points of those contexts, in the same order."""
    return [c.entry for c in site.contexts]


@prop("blocking", Kind.BOOL)
def _blocking(site: CallSite, project: ProjectView) -> bool:
    """Some context reaching the call has someone waiting on it (tests included)."""
    return any(c.blocking for c in site.contexts)


@prop("in_loop", Kind.BOOL)
def _in_loop(site: CallSite, project: ProjectView) -> bool:
    """The call is written inside a loop or comprehension of its own function."""
    return bool(site.call.loops)


@prop("per_item", Kind.BOOL, evidence=_per_item_evidence)
def _per_item(site: CallSite, project: ProjectView) -> bool:
    """A deciding context makes the call once per item of a collection."""
    return _sequential(site) is not None or _fanout(site) is not None


@prop("per_item_sequential", Kind.BOOL, evidence=_sequential_evidence)
def _per_item_sequential(site: CallSite, project: ProjectView) -> bool:
    """A deciding context makes the call once per item, one item after the other."""
    return _sequential(site) is not None


@prop("per_item_fanout", Kind.BOOL, evidence=_fanout_evidence)
def _per_item_fanout(site: CallSite, project: ProjectView) -> bool:
    """A deciding context makes the call once per item, spread over threads or tasks."""
    return _fanout(site) is not None


@prop("batch_supported", Kind.BOOL)
def _batch_supported(site: CallSite, project: ProjectView) -> bool:
    """The client the call is made on has a usable batch API."""
    return site.op.batch_supported


@prop("batch_count", Kind.NUMBER, thousands=True)
def _batch_count(site: CallSite, project: ProjectView) -> Optional[int]:
    """How many requests a batch submit sends, when the code makes it literal."""
    batch = site.call.batch
    return batch.count if batch else None


@prop("batch_unbounded", Kind.BOOL)
def _batch_unbounded(site: CallSite, project: ProjectView) -> bool:
    """A batch submit's requests are built from every entry of a collection that can grow."""
    batch = site.call.batch
    return bool(batch and batch.unbounded)


@prop("batch_chunked", Kind.BOOL)
def _batch_chunked(site: CallSite, project: ProjectView) -> bool:
    """A batch submit's requests come from a slice or chunk of their collection."""
    batch = site.call.batch
    return bool(batch and batch.chunked)


@prop("awaited_blocking", Kind.BOOL, evidence=_awaited_evidence)
def _awaited_blocking(site: CallSite, project: ProjectView) -> bool:
    """A batch submit on a blocking production path that then waits for a batch (polls it in a
    loop or reads its results) on the same thread before it can answer."""
    return _awaited(site, project) is not None


@prop("waits_blocking_unsubmitted", Kind.BOOL, evidence=_unsubmitted_evidence)
def _waits_blocking_unsubmitted(site: CallSite, project: ProjectView) -> bool:
    """A batch poll in a loop on a blocking production path that submits no batch itself."""
    return _unsubmitted_wait(site, project) is not None


@prop("schedule_period_hours", Kind.NUMBER, evidence=_schedule_evidence)
def _schedule_period_hours(site: CallSite, project: ProjectView) -> Optional[float]:
    """How often, in hours, the most frequent scheduled context runs, when declared."""
    ctx = _schedule(site)
    return ctx.period_hours if ctx is not None else None


@prop("poll_deadline_hours", Kind.NUMBER, evidence=_deadline_evidence)
def _poll_deadline_hours(site: CallSite, project: ProjectView) -> Optional[float]:
    """The soonest time, in hours, a wait at the call gives up: its poll loop's deadline or
    the timeout of the job that runs it."""
    found = _deadline(site, project)
    return found[0] if found is not None else None


@prop("polls_in_loop", Kind.BOOL)
def _polls_in_loop_property(site: CallSite, project: ProjectView) -> bool:
    """The call is repeated until something changes: a `while` loop, a loop that sleeps between
    calls, or a context reaching it through a loop."""
    return _polls_in_loop(site, project.poll_calls) or any(c.looped for c in site.contexts)


@prop("usd_per_1k_calls", Kind.NUMBER)
def _usd_per_1k_calls(site: CallSite, project: ProjectView) -> Optional[float]:
    """The estimated price of 1,000 such calls, in USD, when the model and sizes are known."""
    return site.cost.usd_per_1k_calls if site.cost else None


@prop("batch_saving_usd_per_1k_calls", Kind.NUMBER)
def _batch_saving_usd_per_1k_calls(site: CallSite, project: ProjectView) -> Optional[float]:
    """What the batch API would save on 1,000 such calls, in USD, when known."""
    return site.cost.saving_per_1k_calls if site.cost else None


# -- text only messages name --------------------------------------------------------------


@prop("line", Kind.TEXT)
def _line(site: CallSite, project: ProjectView) -> int:
    """The line of the call."""
    return site.line


@prop("cost", Kind.TEXT)
def _cost(site: CallSite, project: ProjectView) -> str:
    """The cost and batch saving per 1,000 calls, or why they are unknown."""
    return describe(site.cost)


@prop("schedule_period", Kind.TEXT)
def _schedule_period(site: CallSite, project: ProjectView) -> str:
    """`schedule_period_hours` as a duration (`10 minutes`, `2 days`)."""
    ctx = _schedule(site)
    return _duration(ctx.period_hours) if ctx is not None and ctx.period_hours is not None else ""


@prop("schedule_entry", Kind.TEXT)
def _schedule_entry(site: CallSite, project: ProjectView) -> str:
    """The entry point of the scheduled context that runs most often."""
    ctx = _schedule(site)
    return ctx.entry if ctx is not None else ""


@prop("poll_deadline", Kind.TEXT)
def _poll_deadline(site: CallSite, project: ProjectView) -> str:
    """`poll_deadline_hours` as a duration."""
    found = _deadline(site, project)
    return _duration(found[0]) if found is not None else ""


@prop("deadline_source", Kind.TEXT)
def _deadline_source(site: CallSite, project: ProjectView) -> Optional[str]:
    """What sets `poll_deadline_hours`: the site's poll loop, or the job's timeout and its entry."""
    found = _deadline(site, project)
    if found is None:
        return None
    owner = found[1]
    return "its poll loop" if owner is None else f"the job's timeout, {owner.entry}"


@prop("context_kinds", Kind.TEXT)
def _context_kinds(site: CallSite, project: ProjectView) -> str:
    """The kinds of the deciding contexts, in words (`none` when nothing reaches the call)."""
    return ", ".join(sorted({c.kind.replace("_", " ") for c in site.deciding_contexts})) or "none"


@prop("batch_api", Kind.TEXT)
def _batch_api(site: CallSite, project: ProjectView) -> str:
    """The name of the provider's batch API (`Message Batches API`)."""
    return batch_api(site.op.provider)


@prop("batch_limit", Kind.TEXT, thousands=True)
def _batch_limit(site: CallSite, project: ProjectView) -> Optional[int]:
    """The most requests the provider accepts in one batch, when known."""
    return MAX_BATCH_REQUESTS.get(site.op.provider)


@prop("batch_unbounded_source", Kind.TEXT)
def _batch_unbounded_source(site: CallSite, project: ProjectView) -> Optional[str]:
    """The collection that feeds an unbounded batch submit."""
    batch = site.call.batch
    return batch.unbounded if batch else None


@prop("per_item_where", Kind.TEXT)
def _per_item_where(site: CallSite, project: ProjectView) -> str:
    """Where the call runs once per item (`in a for loop over docs`), sequential first."""
    ctx = _sequential(site) or _fanout(site)
    return ctx.per_item if ctx is not None else ""


@prop("sequential_where", Kind.TEXT)
def _sequential_where(site: CallSite, project: ProjectView) -> str:
    """Where the call runs once per item, one after the other."""
    ctx = _sequential(site)
    return ctx.per_item if ctx is not None else ""


@prop("sequential_entry", Kind.TEXT)
def _sequential_entry(site: CallSite, project: ProjectView) -> str:
    """The entry point of the context that makes the call per item, one after the other."""
    ctx = _sequential(site)
    return ctx.entry if ctx is not None else ""


@prop("fanout_where", Kind.TEXT)
def _fanout_where(site: CallSite, project: ProjectView) -> str:
    """Where the call is fanned out per item over threads or tasks."""
    ctx = _fanout(site)
    return ctx.per_item if ctx is not None else ""


@prop("fanout_entry", Kind.TEXT)
def _fanout_entry(site: CallSite, project: ProjectView) -> str:
    """The entry point of the context that fans the call out."""
    ctx = _fanout(site)
    return ctx.entry if ctx is not None else ""


@prop("awaited_who", Kind.TEXT)
def _awaited_who(site: CallSite, project: ProjectView) -> Optional[str]:
    """For `awaited_blocking`: the blocking context and its entry point."""
    found = _awaited(site, project)
    return _who(found[0]) if found is not None else None


@prop("awaited_how", Kind.TEXT)
def _awaited_how(site: CallSite, project: ProjectView) -> Optional[str]:
    """For `awaited_blocking`: how the path waits (`reads its results`, `polls it in a loop`)."""
    found = _awaited(site, project)
    if found is None:
        return None
    return "reads its results" if found[1].op.kind == "batch_results" else "polls it in a loop"


@prop("wait_who", Kind.TEXT)
def _wait_who(site: CallSite, project: ProjectView) -> Optional[str]:
    """For `waits_blocking_unsubmitted`: the blocking context and its entry point."""
    ctx = _unsubmitted_wait(site, project)
    return _who(ctx) if ctx is not None else None


# What validates policy rules, derived from the registry: the fields a `[when]` table may name
# with their kinds, the values a str / list field can take (a glob matching none of them, like
# `operation = "synch"`, can never fire, so it is refused), and the text only messages name.
FIELDS: Dict[str, Kind] = {p.name: p.kind for p in PROPERTIES.values() if p.kind is not Kind.TEXT}
FIELD_VALUES: Dict[str, FrozenSet[str]] = {p.name: p.values for p in PROPERTIES.values() if p.values is not None}
MESSAGE_FIELDS: FrozenSet[str] = frozenset(p.name for p in PROPERTIES.values() if p.kind is Kind.TEXT)
