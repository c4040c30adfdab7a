"""Operation kinds: from a resolved value path to what the SDK call does.

`classify` is the one place a value path becomes an `Operation`; the facts pass uses it to keep
candidate calls, and the project index uses it again once cross-module prefixes are resolved.
"""

from __future__ import annotations

import re
from typing import Any, List, Optional, Tuple

from whowaits.core import Operation, RequestFacts
from whowaits.knowledge.batches import BATCH_LIFECYCLES
from whowaits.knowledge.libraries import CALL_THROUGH
from whowaits.knowledge.patterns import compile_globs
from whowaits.knowledge.sdk import (
    CLIENT_CLASSES,
    HTTP_CALLS,
    HTTP_ENDPOINTS,
    CONDITIONAL_METHODS,
    FUNCTION_SITES,
    METHOD_TAILS,
    METHODS,
    MODULE_CLIENTS,
    PASSTHROUGH_SEGMENTS,
    SDK_MODULES,
)


def sdk_root(path: str) -> Optional[str]:
    """The SDK module a value path starts in, if any (`google.genai.Client()` -> `google.genai`)."""
    for root in SDK_MODULES:
        if path == root or path.startswith(root + "."):
            return root
    return None


def _client_of(segments: List[str], root: str) -> Optional[Tuple[Tuple[str, str, bool], List[str]]]:
    """Find the client instance in a path: `<root>...<ClientClass>()` followed by a method path."""
    for i, segment in enumerate(segments):
        if not segment.endswith("()"):
            continue
        client = CLIENT_CLASSES.get((root, segment[:-2]))
        if client is not None:
            return client, segments[i + 1 :]
        if root != "boto3":  # boto3.Session().client(...): the client comes after a session
            return None
    if root in MODULE_CLIENTS:
        return MODULE_CLIENTS[root], segments[len(root.split(".")) :]
    return None


def classify(target: str, request: RequestFacts, first_arg: str) -> Optional[Operation]:
    """The operation a call to `target` performs, or None when it is not an LLM API call."""
    root = sdk_root(target)
    if root is None:
        return None
    if target in FUNCTION_SITES:
        provider, kind = FUNCTION_SITES[target]
        if kind == "sync" and request.stream:
            kind = "stream"
        return Operation(provider, target.split(".")[0], kind, target.split(".", 1)[1], False)
    found = _client_of(target.split("."), root)
    if found is None:
        return None
    (provider, client, batch_supported), rest = found
    method = ".".join(seg for seg in rest if seg not in PASSTHROUGH_SEGMENTS)
    kind = METHODS.get(provider, {}).get(method)
    if kind is None:
        return None
    condition = CONDITIONAL_METHODS.get((provider, method))
    if condition == "purpose=batch" and request.purpose != "batch":
        return None
    if condition == "batch-output-file" and not _batch_output(provider, first_arg):
        return None
    if kind == "sync" and request.stream:
        kind = "stream"
    return Operation(provider, client, kind, method, batch_supported)


def _batch_output(provider: str, argument: str) -> bool:
    """Whether a file argument names a batch's output (`batch.output_file_id`, `job.dest.file_name`)."""
    record = BATCH_LIFECYCLES.get(provider)
    fields = record.output_fields + record.error_fields if record is not None else ()
    return any(re.search(rf"\b{re.escape(field)}\b", argument) for field in fields)


def may_be_site(target: str) -> bool:
    """Whether a call is worth keeping: an SDK path, or a project path ending in an SDK method.

    A project path (`myapp.llm.client.messages.create`) may resolve to a client once the project
    index knows what `myapp.llm.client` is; the method tail is only a filter, never a verdict.
    """
    if sdk_root(target) is not None:
        return True
    segments = [s for s in target.split(".") if s not in PASSTHROUGH_SEGMENTS]
    return any(".".join(segments[-n:]) in METHOD_TAILS for n in range(2, 5) if len(segments) > n)


_CALL_THROUGH = [(compile_globs(pattern), position, parallel) for pattern, position, parallel in CALL_THROUGH]


def call_through(wrapper: str) -> Optional[Tuple[int, bool]]:
    """For a runner of functions (`asyncio.to_thread`), where the function argument is and
    whether it runs once per item in parallel (`executor.map`)."""
    for pattern, position, parallel in _CALL_THROUGH:
        if pattern.match(wrapper):
            return position, parallel
    return None


_HTTP_CALLS = compile_globs(*(pattern for pattern, _ in HTTP_CALLS))
_ENDPOINTS = [(re.compile(url), method, target) for url, method, target in HTTP_ENDPOINTS]


def http_target(path: str, call: Any, evaluator: Any, scope: Any) -> Optional[str]:
    """A raw HTTP call to a provider endpoint, as the SDK method it stands for.

    The URL must be visible: a literal, a name bound to one, or an f-string whose fixed parts
    spell the endpoint (`f"{BASE}/v1/messages/batches/{batch_id}"` counts when BASE is literal).
    """
    if not _HTTP_CALLS.match(path) or not call.args:
        return None
    method = path.rsplit(".", 1)[-1]
    args = [a for a in call.args if a.keyword is None]
    url_arg = args[0].value if args else None
    if method == "request" and len(args) >= 2:
        verb = evaluator.eval(args[0].value, scope)
        method = str(getattr(verb, "value", "")).lower()
        url_arg = args[1].value
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "url":
            url_arg = arg.value
    url = _url_text(url_arg, evaluator, scope) if url_arg is not None else None
    if not url:
        return None
    for pattern, wanted, target in _ENDPOINTS:
        if (not wanted or wanted == method) and pattern.search(url):
            return target
    return None


def _url_text(node: Any, evaluator: Any, scope: Any) -> Optional[str]:
    import libcst as cst

    value = evaluator.eval(node, scope)
    if isinstance(getattr(value, "value", None), str):
        return value.value  # type: ignore[no-any-return]
    if isinstance(node, cst.FormattedString):
        parts = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            else:
                inner = evaluator.eval(part.expression, scope)
                parts.append(inner.value if isinstance(getattr(inner, "value", None), str) else "X")
        return "".join(parts)
    return None
