"""What code does with a batch after submitting it: results, polls, retries, resubmits.

WW401: results used without checking `result.type` (or checked against a value the API never
returns): errored, canceled and expired results have no `.message`.
WW402: after a batch ends, the whole original request list is submitted again.
WW403: a poll loop that sleeps less than `poll-interval-min` seconds between status checks.
WW404: an immediate-retry wrapper (tenacity, backoff, a retry loop) around batch calls.
"""

from __future__ import annotations

from typing import Iterator, List, Optional

from whowaits.checks import Hit, check
from whowaits.core import CallSite, EvidenceStep, Project
from whowaits.knowledge.limits import RESULT_TYPES

_WAITS = ("batch_poll", "batch_results")


def _sites(project: Project, path: str, call_ids, kinds) -> List[CallSite]:
    out = []
    for call_id in call_ids:
        site = project.site_for(path, call_id)
        if site is not None and site.op.kind in kinds:
            out.append(site)
    return out


@check("WW401")
def results_type_unchecked(project: Project) -> Iterator[Hit]:
    valid = ", ".join(sorted(RESULT_TYPES))
    for path, facts in sorted(project.facts.items()):
        for read in facts.result_reads:
            site = project.site_for(path, read.call_id)
            if site is None or site.op.kind != "batch_results" or site.op.provider != "anthropic":
                continue
            step = EvidenceStep(path, site.line, f"results of {site.op.method}")
            for span, literal in read.bad_literals:
                yield Hit(
                    "WW401", path, span,
                    f"`result.type` is compared with {literal!r}, a value the API never returns "
                    f"(it is one of {valid}), so this branch never matches and failures slip "
                    "through: compare with \"succeeded\" / \"errored\"",
                    f"{site.call.function}|{literal}", (step,),
                )
            if read.message_uses and not read.type_checked:
                yield Hit(
                    "WW401", path, read.message_uses[0],
                    "batch result's `.result.message` is read without checking `result.type`: "
                    "errored, canceled and expired results have no message, so this raises or drops "
                    "them silently; branch on `result.type == \"succeeded\"` and collect the others for a retry batch",
                    f"{site.call.function}|message", (step,),
                )


@check("WW402")
def resubmit_whole_batch(project: Project) -> Iterator[Hit]:
    for path, facts in sorted(project.facts.items()):
        submits = [(u, project.site_for(path, u.call_id)) for u in facts.submits]
        submits = [(u, s) for u, s in submits if s is not None and s.op.kind == "batch_submit"]
        waits = [s for s in project.sites if s.path == path and s.op.kind in _WAITS]
        for use, site in submits:
            assert site is not None
            reason = _resubmit_reason(use, site, submits, waits)
            if reason is None:
                continue
            wait, note = reason
            yield Hit(
                "WW402", path, site.call.span,
                f"the full request list `{use.collection.rsplit(':', 1)[1]}` is submitted again {note}: "
                "results that succeeded are paid for twice and the retry waits up to another 24 h; "
                "resubmit only the custom_ids whose result was errored or expired",
                f"{site.call.function}|{use.collection}",
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
        inside = [w for w in same_function_waits if any(l.loop_id == loop.loop_id for l in w.call.loops)]
        if inside:
            return inside[0], f"on every pass of the loop on line {loop.span.line}"
    return None


@check("WW403")
def poll_interval_too_short(project: Project) -> Iterator[Hit]:
    minimum = project.poll_interval_min
    for path, facts in sorted(project.facts.items()):
        for poll in facts.polls:
            polled = _sites(project, path, poll.call_ids, ("batch_poll",))
            if not polled:
                continue
            for span, seconds, source in poll.sleeps:
                if seconds is not None and seconds < minimum:
                    yield Hit(
                        "WW403", path, span,
                        f"batch poll loop sleeps {seconds:g} s between status checks (`{source}`); a batch "
                        f"takes minutes to hours, so poll every {minimum:g} s or more (or check from a "
                        "scheduled job) instead of spending requests and rate limit on status calls",
                        f"{polled[0].call.function}|{source}",
                        (EvidenceStep(path, polled[0].line, f"polls with {polled[0].op.method}"),),
                    )


@check("WW404")
def immediate_retry_on_batch(project: Project) -> Iterator[Hit]:
    for path, facts in sorted(project.facts.items()):
        for retry in facts.retries:
            for site in _sites(project, path, retry.call_ids, ("batch_submit", "batch_results")):
                yield Hit(
                    "WW404", path, site.call.span,
                    f"`{site.op.method}` is retried immediately by {retry.describe} (line "
                    f"{retry.span.line}): a failed batch or results download is not a transient error "
                    "the way a sync call's is; read the failed results and submit only those in a "
                    "follow-up batch, or let the next scheduled run pick them up",
                    f"{site.call.function}|{site.op.method}|{retry.describe}",
                    (EvidenceStep(path, retry.span.line, f"retry: {retry.describe}"),),
                )
