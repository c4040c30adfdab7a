"""Operation kinds: from a resolved value path to what the SDK call does.

`classify` is the one place a value path becomes an `Operation`; the facts pass uses it to keep
candidate calls, and the project index uses it again once cross-module prefixes are resolved.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import Any, List, Optional, Tuple

from whowaits.core import Operation, RequestFacts
from whowaits.knowledge.batches import BATCH_LIFECYCLES
from whowaits.knowledge.libraries import CALL_THROUGH
from whowaits.knowledge.patterns import GlobTable, compile_globs
from whowaits.knowledge.sdk import (
    CLASS_LEVEL_CLIENTS,
    CLIENT_CLASSES,
    CLIENT_METHODS,
    COMPATIBLE,
    ENDPOINT_KEYWORDS,
    ENV_LOOKUPS,
    HTTP_CALLS,
    LOCAL_SERVER_KEYS,
    HTTP_ENDPOINTS,
    CONDITIONAL_METHODS,
    FUNCTION_SITES,
    METHOD_TAILS,
    METHODS,
    MODULE_CLIENTS,
    OFFICIAL_HOSTS,
    PASSTHROUGH_SEGMENTS,
    SDK_MODULES,
)

COMPATIBLE_TAG = f"[{COMPATIBLE}]"  # marks a client class constructed with a non-official base_url


@lru_cache(maxsize=1 << 16)
def sdk_root(path: str) -> Optional[str]:
    """The SDK module a value path starts in, if any (`google.genai.Client()` -> `google.genai`).
    Cached: every evaluated call asks, and a module has few distinct paths."""
    for root in SDK_MODULES:
        if path == root or path.startswith(root + "."):
            return root
    return None


def _client_of(segments: List[str], root: str) -> Optional[Tuple[Tuple[str, str, bool], List[str], bool]]:
    """Find the client in a path: `<root>...<ClientClass>()` (or a class whose methods are
    called on the class itself) followed by a method path; and whether the client was pointed
    at a server other than the provider's (`OpenAI[compatible]()`)."""
    for i, segment in enumerate(segments):
        if (root, segment) in CLASS_LEVEL_CLIENTS:
            return CLIENT_CLASSES[(root, segment)], segments[i + 1 :], False
        if not segment.endswith("()"):
            continue
        name = segment[:-2]
        compatible = name.endswith(COMPATIBLE_TAG)
        client = CLIENT_CLASSES.get((root, name[: -len(COMPATIBLE_TAG)] if compatible else name))
        if client is not None:
            # Nothing after the client: the call is the instance itself (`chat(messages)`).
            return client, segments[i + 1 :] or ["__call__"], compatible
        if root != "boto3":  # boto3.Session().client(...): the client comes after a session
            return None
    if root in MODULE_CLIENTS:
        return MODULE_CLIENTS[root], segments[len(root.split(".")) :], False
    return None


def url_host(url: str) -> str:
    """The host of a URL written in code (`http://localhost:8000/v1` -> `localhost`)."""
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].split("@")[-1].split(":")[0].lower()


def is_compatible_server(provider: str, url: str) -> bool:
    """Whether a literal base URL names a server other than the provider's own API; for a
    provider without its own host (LiteLLM), other than any provider's."""
    host = url_host(url)
    if not host:
        return False
    hosts = OFFICIAL_HOSTS.get(provider) or tuple(h for table in OFFICIAL_HOSTS.values() for h in table)
    return not any(fnmatch.fnmatchcase(host, pattern) for pattern in hosts)


def classify(target: str, request: RequestFacts, first_arg: str) -> Optional[Operation]:
    """The operation a call to `target` performs, or None when it is not an LLM API call.

    A call made to an OpenAI-compatible server (its client's `base_url`, or the request's own
    `api_base`) keeps its operation kind with provider `compatible` and no batch support: there
    is no Batch API behind it, so no batch or cost advice applies."""
    root = sdk_root(target)
    if root is None:
        return None
    if target in FUNCTION_SITES:
        provider, kind = FUNCTION_SITES[target]
        if kind == "sync" and request.stream:
            kind = "stream"
        if request.base_url and is_compatible_server(provider, request.base_url):
            provider = COMPATIBLE
        return Operation(provider, target.split(".")[0], kind, target.split(".", 1)[1], False)
    found = _client_of(target.split("."), root)
    if found is None:
        return None
    (provider, client, batch_supported), rest, compatible = found
    method = ".".join(seg for seg in rest if seg not in PASSTHROUGH_SEGMENTS)
    found_kind = CLIENT_METHODS.get(client, METHODS.get(provider, {})).get(method)
    if found_kind is None:
        return None
    kind = found_kind
    if compatible or (request.base_url and is_compatible_server(provider, request.base_url)):
        provider, batch_supported = COMPATIBLE, False
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


@lru_cache(maxsize=1 << 16)
def may_be_site(target: str) -> bool:
    """Whether a call is worth keeping: an SDK path, or a project path ending in an SDK method.

    A project path (`myapp.llm.client.messages.create`) may resolve to a client once the project
    index knows what `myapp.llm.client` is; the method tail is only a filter, never a verdict.
    Cached, like `sdk_root`: every call of every module asks.
    """
    if sdk_root(target) is not None:
        return True
    segments = [s for s in target.split(".") if s not in PASSTHROUGH_SEGMENTS]
    return any(".".join(segments[-n:]) in METHOD_TAILS for n in range(1, 5) if len(segments) > n)


_CALL_THROUGH = GlobTable((pattern, (position, parallel)) for pattern, position, parallel in CALL_THROUGH)


def call_through(wrapper: str) -> Optional[Tuple[int, bool]]:
    """For a runner of functions (`asyncio.to_thread`), where the function argument is and
    whether it runs once per item in parallel (`executor.map`)."""
    found = _CALL_THROUGH.matching(wrapper)
    return found[0] if found else None


_HTTP_CALLS = compile_globs(*(pattern for pattern, _ in HTTP_CALLS))
_ENDPOINTS = [(re.compile(url), method, target) for url, method, target in HTTP_ENDPOINTS]


def http_target(path: str, call: Any, evaluator: Any, scope: Any) -> Optional[str]:
    """A raw HTTP call to a provider endpoint, as the SDK method it stands for.

    The URL must be visible: a literal, a name bound to one, or an f-string whose fixed parts
    spell the endpoint (`f"{BASE}/v1/messages/batches/{batch_id}"` counts when BASE is literal).
    """
    from whowaits.facts.syntax import arguments

    given = arguments(call)
    if not _HTTP_CALLS.match(path) or not given:
        return None
    method = path.rsplit(".", 1)[-1]
    args = [a for a in given if a.keyword is None]
    url_arg = args[0].value if args else None
    if method == "request" and len(args) >= 2:
        verb = evaluator.eval(args[0].value, scope)
        method = str(getattr(verb, "value", "")).lower()
        url_arg = args[1].value
    for arg in given:
        if arg.keyword == "url":
            url_arg = arg.value
    url = _url_text(url_arg, evaluator, scope) if url_arg is not None else None
    if not url:
        return None
    for pattern, wanted, target in _ENDPOINTS:
        if (not wanted or wanted == method) and pattern.search(url):
            return target
    return None


def _url_text(node: Any, evaluator: Any, scope: Any, unknown: str = "X") -> Optional[str]:
    value = evaluator.eval(node, scope)
    if isinstance(getattr(value, "value", None), str):
        return value.value
    found = evaluator.fstring_parts(node)
    if found is None:
        return None
    parts = []
    for part in found:
        if isinstance(part, str):
            parts.append(part)
        else:
            inner = evaluator.eval(part, scope)
            parts.append(inner.value if isinstance(getattr(inner, "value", None), str) else unknown)
    return "".join(parts)


def literal_url(node: Any, evaluator: Any, scope: Any) -> Optional[str]:
    """A base URL written in code whose scheme and host are visible (`f"http://localhost:{port}/v1"`
    counts, `f"https://{host}/v1"` does not). An environment lookup counts by its default
    (`os.getenv("BASE_URL", "http://localhost:8000/v1")`): the server the code is written for."""
    import ast

    from whowaits.facts.syntax import arguments

    if isinstance(node, ast.Call) and len(arguments(node)) == 2 and all(a.keyword is None for a in arguments(node)):
        lookup = evaluator.eval(node.func, scope)
        if getattr(lookup, "path", None) in ENV_LOOKUPS:
            node = arguments(node)[1].value
    url = _url_text(node, evaluator, scope, unknown="\0")
    if not url or "://" not in url or "\0" in url_host(url) or "\0" in url.split("://", 1)[0]:
        return None
    return url


def client_endpoint_tag(path: str, call: Any, evaluator: Any, scope: Any) -> str:
    """`[compatible]` for an SDK client constructed with a `base_url` (or `api_base`) naming a
    server other than its provider's; "" otherwise (no URL, or one not visible statically)."""
    root = sdk_root(path)
    record = CLIENT_CLASSES.get((root, path.rsplit(".", 1)[-1])) if root else None
    if record is None:
        return ""
    for arg in call.keywords:
        if arg.arg is not None and arg.arg in ENDPOINT_KEYWORDS:
            url = literal_url(arg.value, evaluator, scope)
            if url and is_compatible_server(record[0], url):
                return COMPATIBLE_TAG
        if arg.arg in ("api_key", "openai_api_key"):
            key = evaluator.eval(arg.value, scope)
            if isinstance(getattr(key, "value", None), str) and key.value.lower() in LOCAL_SERVER_KEYS:
                return COMPATIBLE_TAG  # the placeholder key local servers document (`api_key="EMPTY"`)
    return ""
