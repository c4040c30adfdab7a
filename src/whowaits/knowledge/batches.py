"""Batch lifecycles: each provider's batch statuses, where a batch object keeps them, and what
its results look like (see shared api-facts.md, and each SDK's types).

Data only. The lifecycle facts read status checks against the union of every provider's
statuses (a file does not know yet which provider a batch belongs to); the checks intersect
what they found with the record of the provider the project index resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Tuple


@dataclass(frozen=True)
class BatchLifecycle:
    """What a provider's batch goes through, from submit to results."""

    provider: str
    status_fields: Tuple[str, ...]  # attribute (or JSON key) of a batch object holding its status
    running: FrozenSet[str]  # not ended: there are no results to read yet
    ready: FrozenSet[str]  # ended, with results
    partial: FrozenSet[str]  # ended; results only for the requests that finished (maybe none)
    empty: FrozenSet[str]  # ended without any results
    ended_flags: Tuple[str, ...] = ()  # attributes that are truthy only once the batch ended
    output_fields: Tuple[str, ...] = ()  # attributes set only once there are results to read
    error_fields: Tuple[str, ...] = ()  # attributes naming the file of failed requests
    result_types: FrozenSet[str] = frozenset()  # the type each result carries, when it carries one
    result_fields: Tuple[str, ...] = ()  # (value, failure) attributes of each inline result, when it has them
    ordered_results: bool = False  # results come back in the order of the requests
    docs: str = ""

    @property
    def statuses(self) -> FrozenSet[str]:
        return self.running | self.ready | self.partial | self.empty

    @property
    def ended(self) -> FrozenSet[str]:
        return self.ready | self.partial | self.empty


BATCH_LIFECYCLES: Dict[str, BatchLifecycle] = {
    record.provider: record
    for record in (
        BatchLifecycle(
            provider="anthropic",
            status_fields=("processing_status",),
            running=frozenset({"in_progress", "canceling"}),
            ready=frozenset({"ended"}),
            partial=frozenset(),
            empty=frozenset(),
            # `ended_at` and `results_url` stay null until processing has ended.
            ended_flags=("ended_at",),
            output_fields=("results_url",),
            result_types=frozenset({"succeeded", "errored", "canceled", "expired"}),
            docs="api-facts 1: processing_status; results() raises until it is ended; results in any order",
        ),
        BatchLifecycle(
            provider="openai",
            status_fields=("status",),
            running=frozenset({"validating", "in_progress", "finalizing", "cancelling"}),
            ready=frozenset({"completed"}),
            partial=frozenset({"expired", "cancelled"}),
            empty=frozenset({"failed"}),
            output_fields=("output_file_id",),
            error_fields=("error_file_id",),
            docs="api-facts 4: Batch.status; output_file_id is None until results exist; output lines in any order",
        ),
        BatchLifecycle(
            provider="google",
            status_fields=("state",),
            running=frozenset(
                {
                    "JOB_STATE_UNSPECIFIED", "JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING",
                    "JOB_STATE_CANCELLING", "JOB_STATE_PAUSED", "JOB_STATE_UPDATING",
                }
            ),
            ready=frozenset({"JOB_STATE_SUCCEEDED", "JOB_STATE_PARTIALLY_SUCCEEDED"}),
            partial=frozenset({"JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}),
            empty=frozenset({"JOB_STATE_FAILED"}),
            ended_flags=("done",),
            output_fields=("dest",),
            # Each inlined response has `response` or `error`.
            result_fields=("response", "error"),
            # Inlined responses and the responses file follow the order of the requests.
            ordered_results=True,
            docs="google-genai JobState and BatchJob.done; BatchJobDestination keeps the request order",
        ),
        BatchLifecycle(
            provider="bedrock",
            status_fields=("status",),
            running=frozenset({"Submitted", "Validating", "Scheduled", "InProgress", "Stopping"}),
            ready=frozenset({"Completed", "PartiallyCompleted"}),
            partial=frozenset({"Stopped", "Expired"}),
            empty=frozenset({"Failed"}),
            docs="api-facts 3: model invocation job status; output records carry their recordId",
        ),
    )
}

# Every status any provider's batch can be in, and the fields that hold one: what a status
# check looks like before the provider is known.
ALL_STATUSES: FrozenSet[str] = frozenset(s for r in BATCH_LIFECYCLES.values() for s in r.statuses)
STATUS_FIELDS: FrozenSet[str] = frozenset(f for r in BATCH_LIFECYCLES.values() for f in r.status_fields)
RUNNING_STATUSES: FrozenSet[str] = frozenset(s for r in BATCH_LIFECYCLES.values() for s in r.running)
ENDED_STATUSES: FrozenSet[str] = frozenset(s for r in BATCH_LIFECYCLES.values() for s in r.ended)
# Statuses in which an output field can be set (so a truthy output field rules the others out).
OUTPUT_STATUSES: FrozenSet[str] = frozenset(s for r in BATCH_LIFECYCLES.values() for s in r.ready | r.partial)
ENDED_FLAGS: FrozenSet[str] = frozenset(f for r in BATCH_LIFECYCLES.values() for f in r.ended_flags)
OUTPUT_FIELDS: FrozenSet[str] = frozenset(f for r in BATCH_LIFECYCLES.values() for f in r.output_fields)
# Attributes that name a batch (`batch.id`, a Gemini job's `name`) rather than describe it.
ID_FIELDS: FrozenSet[str] = frozenset({"id", "name"})
# (value, failure) attribute pairs of inline results.
RESULT_FIELDS: FrozenSet[Tuple[str, ...]] = frozenset(r.result_fields for r in BATCH_LIFECYCLES.values() if r.result_fields)
