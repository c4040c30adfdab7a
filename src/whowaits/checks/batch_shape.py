"""Batch requests that ask for what only the synchronous API can do, and the reverse.

WW104: streaming, fast mode (`speed`) and `max_tokens: 0` are rejected inside a batch.
WW106: the 300k-output beta header works only on the Batch API, not on `messages.create`.
WW107: clients whose provider record says they have no batch API (Anthropic on Bedrock, Vertex
and Foundry): the call raises.
"""

from __future__ import annotations

from typing import Iterator, Tuple

from whowaits.checks import Found, check
from whowaits.core import CallSite, EvidenceStep, OperationKind, Project
from whowaits.knowledge.limits import BATCH_ONLY_BETAS
from whowaits.knowledge.providers import PROVIDERS, batch_api
from whowaits.knowledge.sdk import BATCH_KINDS, COMPATIBLE, GENERATION_KINDS


def _site_step(site: CallSite) -> EvidenceStep:
    return EvidenceStep(site.path, site.line, f"{site.op.method} in {site.call.function}")


@check("batch-with-sync-only-feature")
def batch_with_sync_only_feature(project: Project) -> Iterator[Found]:
    for site in project.sites:
        if site.op.kind != OperationKind.BATCH_SUBMIT or site.call.batch is None:
            continue
        for request in site.call.batch.requests:
            params = request.params
            if params is None:
                continue
            problems = []
            if params.stream:
                problems.append(("stream", "`stream: True`", "drop `stream` (batch results arrive whole), or call messages.stream synchronously if someone reads the tokens as they come"))
            if params.speed is not None and params.speed != "standard":
                problems.append(("speed", f"fast mode (`speed: {params.speed!r}`)", "fast mode is a synchronous-only option; drop `speed` or send this request with messages.create"))
            if params.max_tokens == 0:
                problems.append(("max_tokens", "`max_tokens: 0`", "set the output budget the request needs (use messages.count_tokens to count input tokens)"))
            for key, what, fix in problems:
                span = params.key_span(key) or request.span
                yield Found(
                    site.path,
                    span,
                    f"batch request asks for {what}, which the Message Batches API rejects: the "
                    f"request comes back `errored` only after the batch ends; {fix}",
                    anchor=f"{site.call.function}|{key}|{site.op.method}",
                    evidence=(_site_step(site),),
                    extent=site.call.span,
                )


@check("batch-only-feature-on-sync")
def batch_only_feature_on_sync(project: Project) -> Iterator[Found]:
    for site in project.sites:
        if site.op.kind not in GENERATION_KINDS:
            continue
        for beta in site.call.request.betas:
            if beta in BATCH_ONLY_BETAS:
                yield Found(
                    site.path,
                    site.call.span,
                    f"beta `{beta}` is only honoured by the Message Batches API; on "
                    f"`{site.op.method}` the request fails or is capped at the synchronous output "
                    "limit: submit it with messages.batches.create, or drop the header",
                    anchor=f"{site.call.function}|{beta}",
                )


@check("batch-on-unsupported-client")
def batch_on_unsupported_client(project: Project) -> Iterator[Found]:
    for site in project.sites:
        # An OpenAI-compatible server gets no batch advice: what it serves is its own business.
        if site.op.kind in BATCH_KINDS and not site.op.batch_supported and site.op.provider != COMPATIBLE:
            platform, native = _no_batch(site)
            yield Found(                site.path,
                site.call.span,
                f"`{site.op.method}` on `{site.op.client}`: the SDK has no {batch_api(site.op.provider)} for "
                f"{platform} and this call raises at run time; use {native} instead",
                anchor=f"{site.call.function}|{site.op.method}",
            )


def _no_batch(site: CallSite) -> Tuple[str, str]:
    """The platform of a client without the batch API, and what to use there instead (its record)."""
    record = PROVIDERS.get(site.op.provider)
    for client in record.clients if record is not None else ():
        if client.canonical == site.op.client and not client.batch:
            return client.no_batch
    return "this platform", "the platform's own batch API"
