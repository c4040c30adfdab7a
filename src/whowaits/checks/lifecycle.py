"""What code does with a batch after submitting it: results, polls, retries, resubmits.

WW401: results used without checking `result.type` (or checked against a value the API never
returns): errored, canceled and expired results have no `.message`.
WW402: after a batch ends, the whole original request list is submitted again.
WW403: a poll loop that sleeps less than `poll-interval-min` seconds between status checks.
WW404: an immediate-retry wrapper (tenacity, backoff, a retry loop) around batch calls.
WW405: results read on a path where the batch can still be running.
WW406: results matched with their inputs by position instead of by custom_id.

WW401 also covers output files (OpenAI, Gemini): an output read on a path where the batch may
have ended without any output (a failed batch has no `output_file_id`).
"""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

from whowaits.checks import Found, check
from whowaits.core import BatchReadFact, CallSite, EvidenceStep, OperationKind, Project
from whowaits.knowledge.batches import BATCH_LIFECYCLES, BatchLifecycle

_WAITS = (OperationKind.BATCH_POLL, OperationKind.BATCH_RESULTS)
_JOBS = (OperationKind.BATCH_SUBMIT, OperationKind.BATCH_POLL)  # calls that return a batch job object


def _sites(project: Project, path: str, call_ids, kinds) -> List[CallSite]:
    out = []
    for call_id in call_ids:
        site = project.site_for(path, call_id)
        if site is not None and site.op.kind in kinds:
            out.append(site)
    return out


@check("results-type-unchecked")
def results_unchecked(project: Project) -> Iterator[Found]:
    yield from _result_types_unchecked(project)
    for path, read, (record, origin, what) in _lifecycle_reads(project):
        empty = sorted(set(read.statuses) & record.empty)
        if set(read.statuses) & record.running or not empty or not record.output_fields:
            continue
        field = record.output_fields[0]
        yield Found(
            path, read.span,
            f"{what} is read on a path where the batch may have ended {_either(empty)} "
            f"(`{record.status_fields[0]}` is not narrowed to {_either(sorted(record.ready))}): such a "
            f"batch has no `{field}`, so the read fails; check `{field}` (or the status) first and report the "
            "batch's errors",
            f"{origin.call.function}|{what}|empty", _read_evidence(project, path, read, origin),
        )


def _result_types_unchecked(project: Project) -> Iterator[Found]:
    for path, facts in sorted(project.facts.items()):
        for read in facts.result_reads:
            site = project.site_for(path, read.call_id)
            record = BATCH_LIFECYCLES.get(site.op.provider) if site is not None else None
            if site is not None and record is not None and record.result_fields and site.op.kind in _JOBS:
                if read.message_uses and not read.type_checked:
                    value, failure = record.result_fields
                    yield Found(
                        path, read.message_uses[0],
                        f"a batch result's `.{value}` is used without checking `.{failure}`: a request that failed "
                        f"has an `{failure}` and no `{value}`, so this raises on the first failure; skip or "
                        "collect the failed ones for a follow-up batch",
                        f"{site.call.function}|{value}", (EvidenceStep(path, site.line, f"batch job from {site.op.method}"),),
                    )
                continue
            # Results that carry a type (`result.type`: Anthropic's) are checked against it.
            if site is None or site.op.kind != OperationKind.BATCH_RESULTS or record is None or not record.result_types:
                continue
            valid = ", ".join(sorted(record.result_types))
            step = EvidenceStep(path, site.line, f"results of {site.op.method}")
            for span, literal in read.bad_literals:
                yield Found(
                    path, span,
                    f"`result.type` is compared with {literal!r}, a value the API never returns "
                    f"(it is one of {valid}), so this branch never matches and failures slip "
                    "through: compare with \"succeeded\" / \"errored\"",
                    f"{site.call.function}|{literal}", (step,),
                )
            if read.message_uses and not read.type_checked:
                yield Found(
                    path, read.message_uses[0],
                    "batch result's `.result.message` is read without checking `result.type`: "
                    "errored, canceled and expired results have no message, so this raises or drops "
                    "them silently; branch on `result.type == \"succeeded\"` and collect the others for a retry batch",
                    f"{site.call.function}|message", (step,),
                )


@check("resubmit-whole-batch")
def resubmit_whole_batch(project: Project) -> Iterator[Found]:
    for path, facts in sorted(project.facts.items()):
        submits = [(u, project.site_for(path, u.call_id)) for u in facts.submits]
        submits = [(u, s) for u, s in submits if s is not None and s.op.kind == OperationKind.BATCH_SUBMIT]
        waits = [s for s in project.sites if s.path == path and s.op.kind in _WAITS]
        for use, site in submits:
            assert site is not None
            reason = _resubmit_reason(use, site, submits, waits)
            if reason is None:
                continue
            wait, note = reason
            yield Found(
                path, site.call.span,
                f"the full request list `{use.collection.name}` is submitted again {note}: "
                "results that succeeded are paid for twice and the retry waits up to another 24 h; "
                "resubmit only the custom_ids whose result was errored or expired",
                f"{site.call.function}|{use.collection.render()}",
                (EvidenceStep(path, wait.line, f"the batch is waited on here ({wait.op.method})"),),
            )


def _resubmit_reason(use, site: CallSite, submits, waits) -> Optional[tuple]:
    function = site.call.function
    same_function_waits = [w for w in waits if w.call.function == function]
    for earlier_use, earlier in submits:
        if earlier is site or earlier_use.collection != use.collection or earlier.call.function != function:
            continue
        between = [w for w in same_function_waits if earlier.line < w.line < site.line]
        if earlier.line < site.line and between:
            return between[0], f"after the batch submitted on line {earlier.line} ended"
    for loop in site.call.loops:
        if loop.kind not in ("for", "while") or loop.loop_id in use.reassigned_in_loops:
            continue
        inside = [w for w in same_function_waits if any(item.loop_id == loop.loop_id for item in w.call.loops)]
        if inside:
            return inside[0], f"on every pass of the loop on line {loop.span.line}"
    return None


@check("poll-interval-too-short")
def poll_interval_too_short(project: Project) -> Iterator[Found]:
    minimum = project.poll_interval_min
    for path, facts in sorted(project.facts.items()):
        for poll in facts.polls:
            polled = _sites(project, path, poll.call_ids, (OperationKind.BATCH_POLL,))
            if not polled:
                continue
            for span, seconds, source in poll.sleeps:
                if seconds is not None and seconds < minimum:
                    yield Found(
                        path, span,
                        f"batch poll loop sleeps {seconds:g} s between status checks (`{source}`); a batch "
                        f"takes minutes to hours, so poll every {minimum:g} s or more (or check from a "
                        "scheduled job) instead of spending requests and rate limit on status calls",
                        f"{polled[0].call.function}|{source}",
                        (EvidenceStep(path, polled[0].line, f"polls with {polled[0].op.method}"),),
                    )


@check("immediate-retry-on-batch")
def immediate_retry_on_batch(project: Project) -> Iterator[Found]:
    for path, facts in sorted(project.facts.items()):
        for retry in facts.retries:
            for site in _sites(project, path, retry.call_ids, (OperationKind.BATCH_SUBMIT, OperationKind.BATCH_RESULTS)):
                yield Found(
                    path, site.call.span,
                    f"`{site.op.method}` is retried immediately by {retry.describe} (line "
                    f"{retry.span.line}): a failed batch or results download is not a transient error "
                    "the way a sync call's is; read the failed results and submit only those in a "
                    "follow-up batch, or let the next scheduled run pick them up",
                    f"{site.call.function}|{site.op.method}|{retry.describe}",
                    (EvidenceStep(path, retry.span.line, f"retry: {retry.describe}"),),
                )


def _lifecycle_reads(project: Project) -> Iterator[Tuple[str, BatchReadFact, Tuple[BatchLifecycle, CallSite, str]]]:
    """Every read of a batch's output whose provider record and origin are known (WW401, WW405)."""
    for path, facts in sorted(project.facts.items()):
        for read in facts.batch_reads:
            found = _read_lifecycle(project, path, read)
            if found is not None:
                yield path, read, found


def _read_lifecycle(project: Project, path: str, read: BatchReadFact) -> Optional[Tuple[BatchLifecycle, CallSite, str]]:
    """The provider record of a read's batch, the create / retrieve its state comes from, and what
    is read; None unless the origins and the read agree on one provider with a batch lifecycle."""
    origins = [project.site_for(path, call_id) for call_id in read.origins]
    sites = [s for s in origins if s is not None and s.op.kind in _JOBS]
    if not sites:
        return None
    providers = {s.op.provider for s in sites}
    what = ""
    if read.call_id >= 0:
        site = project.site_for(path, read.call_id)
        if site is None or site.op.kind != OperationKind.BATCH_RESULTS:
            return None
        providers.add(site.op.provider)
        what = "the output file" if site.op.method.startswith("files.") else f"the output of `{site.op.method}`"
    record = BATCH_LIFECYCLES.get(providers.pop()) if len(providers) == 1 else None
    if record is None:
        return None
    return record, sites[0], what or f"the job's `{record.output_fields[0]}`"


def _either(values: List[str]) -> str:
    quoted = [f'"{v}"' for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _read_evidence(project: Project, path: str, read: BatchReadFact, origin: CallSite) -> Tuple[EvidenceStep, ...]:
    verb = "submitted" if origin.op.kind == OperationKind.BATCH_SUBMIT else "status read"
    steps = [EvidenceStep(path, origin.line, f"batch {verb} here ({origin.op.method})")]
    steps += [EvidenceStep(path, line, "status checked here") for line in read.checks]
    site = project.site_for(path, read.call_id) if read.call_id >= 0 else None
    if site is not None and site.line != read.span.line:
        steps.append(EvidenceStep(path, site.line, f"{site.call.function} reads the results ({site.op.method})"))
    return tuple(steps)


@check("results-before-end")
def results_before_end(project: Project) -> Iterator[Found]:
    for path, read, (record, origin, what) in _lifecycle_reads(project):
        running = sorted(set(read.statuses) & record.running)
        if not running:
            continue
        field, ready = record.status_fields[0], _either(sorted(record.ready))
        if read.checks:
            why = f"the status check{'s' if len(read.checks) > 1 else ''} on line {', '.join(map(str, read.checks))} let {_either(running)} through"
        elif origin.op.kind == OperationKind.BATCH_SUBMIT:
            why = f"the batch was submitted on line {origin.line} and nothing waits for it to end"
        else:
            why = f"the status read on line {origin.line} is never checked"
        missing = (f"`{record.output_fields[0]}` is None" if not what.startswith("the output of")
                   else "the SDK raises")
        yield Found(
            path, read.span,
            f"{what} is read while the batch can still be running: {why}; until `{field}` is {ready} there are "
            f"no results ({missing}), so read them only on a path that has seen it {ready}",
            f"{origin.call.function}|{what}|running", _read_evidence(project, path, read, origin),
        )


@check("results-joined-by-position")
def results_joined_by_position(project: Project) -> Iterator[Found]:
    for path, facts in sorted(project.facts.items()):
        for join in facts.position_joins:
            site = project.site_for(path, join.call_id)
            if site is None or site.op.kind != OperationKind.BATCH_RESULTS:
                continue
            record = BATCH_LIFECYCLES.get(site.op.provider)
            if record is None or record.ordered_results:
                continue
            yield Found(
                path, join.span,
                f"batch results are matched to their inputs by position (`{join.how}`): results come back in any "
                "order, not in the order of the requests, so answers land on the wrong items without any error; key "
                "the results by `custom_id` and look each input up by its id",
                f"{site.call.function}|{join.how}",
                (EvidenceStep(path, site.line, f"results of {site.op.method}"),),
            )
