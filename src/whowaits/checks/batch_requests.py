"""The requests of a batch submit: ids that join results back, and how many requests there are.

WW301: custom_ids must be unique within a batch (a constant id in a per-item template, an id
that does not change per item, or the same literal twice).
WW302: custom_ids must match ^[a-zA-Z0-9_-]{1,64}$ (a 65-character id is a 400 at create).
WW304: every request needs a custom_id (results come back in any order).
"""

from __future__ import annotations

from typing import Dict, Iterator

from whowaits.checks import Found, check
from whowaits.core import CallSite, EvidenceStep, Project
from whowaits.knowledge.limits import CUSTOM_ID_ALLOWED_CHAR, CUSTOM_ID_MAX_LEN, CUSTOM_ID_PATTERN

_ID_PROVIDERS = ("anthropic", "openai")


def _submits(project: Project) -> Iterator[CallSite]:
    for site in project.sites:
        if site.op.kind == "batch_submit" and site.op.provider in _ID_PROVIDERS and site.call.batch is not None:
            yield site


def _step(site: CallSite) -> EvidenceStep:
    return EvidenceStep(site.path, site.line, f"submitted by {site.op.method} in {site.call.function}")


@check("custom-id-not-unique")
def custom_id_not_unique(project: Project) -> Iterator[Found]:
    for site in _submits(project):
        literals: Dict[str, int] = {}
        for request in site.call.batch.requests:  # type: ignore[union-attr]
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
    for site in _submits(project):
        for request in site.call.batch.requests:  # type: ignore[union-attr]
            cid = request.custom_id
            if cid is None or cid.kind == "expr":
                continue
            anchor = f"{site.call.function}|{cid.source}"
            if cid.kind == "literal" and cid.literal is not None:
                if not CUSTOM_ID_PATTERN.match(cid.literal):
                    yield Found(site.path, cid.span, _invalid_message(cid.source, cid.literal), anchor, (_step(site),), site.call.span)
                continue
            fixed = "".join(cid.literal_parts)
            bad = sorted({ch for ch in fixed if not CUSTOM_ID_ALLOWED_CHAR.match(ch)})
            if bad or len(fixed) > CUSTOM_ID_MAX_LEN:
                yield Found(site.path, cid.span, _invalid_message(cid.source, fixed, partial=True), anchor, (_step(site),), site.call.span)


def _invalid_message(source: str, text: str, partial: bool = False) -> str:
    bad = sorted({ch for ch in text if not CUSTOM_ID_ALLOWED_CHAR.match(ch)})
    what = "its fixed part" if partial else "it"
    if bad:
        shown = " ".join(repr(ch) for ch in bad)
        problem = f"{what} contains {shown}"
    elif len(text) > CUSTOM_ID_MAX_LEN:
        problem = f"{what} is {len(text)} characters long"
    else:
        problem = "it is empty"
    return (
        f"custom_id `{source}` is invalid: {problem}; ids must match ^[a-zA-Z0-9_-]{{1,64}}$ "
        "and an invalid id fails the whole batch with a 400 at create: use only letters, digits, "
        "`_` and `-`, at most 64 characters (hash longer keys)"
    )


@check("batch-missing-custom-id")
def batch_missing_custom_id(project: Project) -> Iterator[Found]:
    for site in _submits(project):
        for position, request in enumerate(site.call.batch.requests):  # type: ignore[union-attr]
            if request.has_custom_id is False:
                yield Found(
                    site.path, request.span,
                    "batch request has no custom_id: results come back in any order and are matched "
                    "to requests only by custom_id; add a unique id built from the item",
                    f"{site.call.function}|request-{position}",
                    (_step(site),),
                    site.call.span,
                )
