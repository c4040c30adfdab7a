"""The requests of a batch submit: ids that join results back, and how many requests there are.

For the providers whose record has a custom_id rule (`knowledge.providers`):
WW301: custom_ids must be unique within a batch (a constant id in a per-item template, an id
that does not change per item, or the same literal twice).
WW302: custom_ids must match the provider's pattern (Anthropic and OpenAI: ^[a-zA-Z0-9_-]{1,64}$;
a 65-character id is a 400 at create).
WW304: every request needs a custom_id (results come back in any order).
For the providers whose record has batch limits:
WW303: more requests than the limit, or requests built from an unbounded collection without chunking.
"""

from __future__ import annotations

import re
from typing import Dict, Iterator, Optional, Tuple

from whowaits.checks import Found, check
from whowaits.core import BatchInput, CallSite, EvidenceStep, OperationKind, Project
from whowaits.knowledge.providers import PROVIDERS, BatchLimits, CustomIdRule


def _submits(project: Project) -> Iterator[Tuple[CallSite, BatchInput, CustomIdRule]]:
    """Batch submits whose requests are visible, with them and their provider's custom_id rule."""
    for site in project.sites:
        record = PROVIDERS.get(site.op.provider)
        batch = site.call.batch
        if site.op.kind == OperationKind.BATCH_SUBMIT and record is not None and record.custom_id is not None \
                and batch is not None:
            yield site, batch, record.custom_id


def _step(site: CallSite) -> EvidenceStep:
    return EvidenceStep(site.path, site.line, f"submitted by {site.op.method} in {site.call.function}")


@check("custom-id-not-unique")
def custom_id_not_unique(project: Project) -> Iterator[Found]:
    for site, batch, _ in _submits(project):
        literals: Dict[str, int] = {}
        for request in batch.requests:
            cid = request.custom_id
            if cid is None:
                continue
            anchor = f"{site.call.function}|{cid.source}"
            if request.repeated and cid.kind == "literal":
                yield Found(
                    site.path, cid.span,
                    f"custom_id `{cid.source}` is the same for every request built in this loop: "
                    "ids must be unique within a batch or results cannot be joined back; "
                    "build it from the item (e.g. its primary key or index)",
                    anchor, (_step(site),), site.call.span,
                )
            elif request.repeated and cid.varies is False:
                yield Found(
                    site.path, cid.span,
                    f"custom_id `{cid.source}` does not change from one item to the next, so every "
                    "request in the batch gets the same id; build it from the item (its key or index)",
                    anchor, (_step(site),), site.call.span,
                )
            elif not request.repeated and cid.literal is not None:
                if cid.literal in literals:
                    yield Found(
                        site.path, cid.span,
                        f"custom_id `{cid.source}` is used twice in this batch (first on line "
                        f"{literals[cid.literal]}): results are joined back by custom_id, which must be unique",
                        anchor, (_step(site),), site.call.span,
                    )
                else:
                    literals[cid.literal] = cid.span.line


@check("custom-id-invalid")
def custom_id_invalid(project: Project) -> Iterator[Found]:
    for site, batch, rule in _submits(project):
        for request in batch.requests:
            cid = request.custom_id
            if cid is None or cid.kind == "expr":
                continue
            anchor = f"{site.call.function}|{cid.source}"
            if cid.kind == "literal" and cid.literal is not None:
                if not re.match(rule.pattern, cid.literal):
                    yield Found(site.path, cid.span, _invalid_message(rule, cid.source, cid.literal), anchor, (_step(site),), site.call.span)
                continue
            fixed = "".join(cid.literal_parts)
            if any(not re.match(rule.allowed, ch) for ch in fixed) or len(fixed) > rule.max_len:
                yield Found(site.path, cid.span, _invalid_message(rule, cid.source, fixed, partial=True), anchor, (_step(site),), site.call.span)


def _invalid_message(rule: CustomIdRule, source: str, text: str, partial: bool = False) -> str:
    bad = sorted({ch for ch in text if not re.match(rule.allowed, ch)})
    what = "its fixed part" if partial else "it"
    if bad:
        shown = " ".join(repr(ch) for ch in bad)
        problem = f"{what} contains {shown}"
    elif len(text) > rule.max_len:
        problem = f"{what} is {len(text)} characters long"
    else:
        problem = "it is empty"
    return (
        f"custom_id `{source}` is invalid: {problem}; ids must match {rule.pattern} "
        f"and an invalid id fails the whole batch with a 400 at create: use {rule.describe}, "
        f"at most {rule.max_len} characters (hash longer keys)"
    )


@check("batch-missing-custom-id")
def batch_missing_custom_id(project: Project) -> Iterator[Found]:
    for site, batch, _ in _submits(project):
        for position, request in enumerate(batch.requests):
            if request.has_custom_id is False:
                yield Found(
                    site.path, request.span,
                    "batch request has no custom_id: results come back in any order and are matched "
                    "to requests only by custom_id; add a unique id built from the item",
                    f"{site.call.function}|request-{position}",
                    (_step(site),),
                    site.call.span,
                )


@check("batch-too-large")
def batch_too_large(project: Project) -> Iterator[Found]:
    for site in project.sites:
        record = PROVIDERS.get(site.op.provider)
        batch = site.call.batch
        if site.op.kind != OperationKind.BATCH_SUBMIT or record is None or record.limits is None or batch is None:
            continue
        message = _too_large(record.limits, batch.count, batch.unbounded if not batch.chunked else None)
        if message:
            yield Found(site.path, site.call.span, message, f"{site.call.function}|{site.op.method}|WW303",
                        extent=site.call.span)


def _too_large(limits: BatchLimits, count: Optional[int], unbounded: Optional[str]) -> str:
    """What is wrong with a batch's size ("" when nothing is): more requests than the limit,
    or requests built from every entry of an unbounded collection (`unbounded` names it)."""
    if count is not None and count > limits.max_requests:
        return (
            f"this batch has {count:,} requests; the {limits.api} takes at most {limits.max_requests:,} "
            f"{limits.scope} (and {limits.max_size}): split the requests into chunks and submit one batch per chunk"
        )
    if unbounded:
        return (
            f"the requests are built from every entry of `{unbounded}` with no chunking; a batch takes at most "
            f"{limits.max_requests:,} requests: submit one batch per chunk of that input"
        )
    return ""
