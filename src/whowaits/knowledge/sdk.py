"""What each LLM SDK looks like: client classes, method paths and the operation each one is.

Data only. `whowaits.facts.calls` turns a resolved value path into an `Operation` with these
tables; adding a provider or a method is adding a row here.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

# Module roots that mark a file as worth parsing (the text pre-filter) and a value path as SDK.
SDK_MODULES: Tuple[str, ...] = ("anthropic", "openai", "litellm", "google.genai", "boto3")

# (module root, class name) -> (provider, canonical class, batch API usable on this client)
CLIENT_CLASSES: Dict[Tuple[str, str], Tuple[str, str, bool]] = {
    ("anthropic", "Anthropic"): ("anthropic", "Anthropic", True),
    ("anthropic", "AsyncAnthropic"): ("anthropic", "AsyncAnthropic", True),
    ("anthropic", "Client"): ("anthropic", "Anthropic", True),
    ("anthropic", "AsyncClient"): ("anthropic", "AsyncAnthropic", True),
    ("anthropic", "AnthropicAWS"): ("anthropic", "AnthropicAWS", True),
    ("anthropic", "AsyncAnthropicAWS"): ("anthropic", "AsyncAnthropicAWS", True),
    ("anthropic", "AnthropicGoogleCloud"): ("anthropic", "AnthropicGoogleCloud", True),
    # Mantle serves the standard Messages resource, batches included (SDK 2.12.0 source).
    ("anthropic", "AnthropicBedrockMantle"): ("anthropic", "AnthropicBedrockMantle", True),
    ("anthropic", "AsyncAnthropicBedrockMantle"): ("anthropic", "AsyncAnthropicBedrockMantle", True),
    ("anthropic", "AsyncAnthropicGoogleCloud"): ("anthropic", "AsyncAnthropicGoogleCloud", True),
    # The attribute exists on these, but every batch call raises at run time (api-facts 2).
    ("anthropic", "AnthropicBedrock"): ("anthropic", "AnthropicBedrock", False),
    ("anthropic", "AsyncAnthropicBedrock"): ("anthropic", "AsyncAnthropicBedrock", False),

    ("anthropic", "AnthropicVertex"): ("anthropic", "AnthropicVertex", False),
    ("anthropic", "AsyncAnthropicVertex"): ("anthropic", "AsyncAnthropicVertex", False),
    ("anthropic", "AnthropicFoundry"): ("anthropic", "AnthropicFoundry", False),
    ("anthropic", "AsyncAnthropicFoundry"): ("anthropic", "AsyncAnthropicFoundry", False),
    ("openai", "OpenAI"): ("openai", "OpenAI", True),
    ("openai", "AsyncOpenAI"): ("openai", "AsyncOpenAI", True),
    ("openai", "AzureOpenAI"): ("openai", "AzureOpenAI", True),
    ("openai", "AsyncAzureOpenAI"): ("openai", "AsyncAzureOpenAI", True),
    ("google.genai", "Client"): ("google", "genai.Client", True),
    # boto3 clients carry their service name: boto3.client("bedrock-runtime") -> client[bedrock-runtime]
    ("boto3", "client[bedrock-runtime]"): ("bedrock", "boto3 bedrock-runtime", True),
    ("boto3", "client[bedrock]"): ("bedrock", "boto3 bedrock", True),
    # Raw HTTP to the providers' endpoints (requests / httpx / aiohttp posts).
    ("anthropic", "http"): ("anthropic", "HTTP API", True),
    ("openai", "http"): ("openai", "HTTP API", True),
}

# Callables whose first literal argument is a boto3 service name.
BOTO3_CLIENT_FACTORIES: Tuple[str, ...] = ("boto3.client", "boto3.Session().client", "boto3.session.Session().client")

# HTTP calls whose URL decides the operation: (glob over the call's value path, HTTP method).
HTTP_CALLS: Tuple[Tuple[str, str], ...] = (
    ("{requests,httpx}.{post,get}", ""),
    ("{requests,httpx}.request", ""),
    ("requests.Session().{post,get}", ""),
    ("{httpx.Client,httpx.AsyncClient}().{post,get}", ""),
    ("aiohttp.ClientSession().{post,get}", ""),
)
# (URL pattern, HTTP method or "" for any, value path of the equivalent SDK method).
HTTP_ENDPOINTS: Tuple[Tuple[str, str, str], ...] = (
    (r"api\.anthropic\.com/v1/messages/batches/[^/]+/results", "get", "anthropic.http().messages.batches.results"),
    (r"api\.anthropic\.com/v1/messages/batches/[^/]+/cancel", "post", "anthropic.http().messages.batches.cancel"),
    (r"api\.anthropic\.com/v1/messages/batches/.+", "get", "anthropic.http().messages.batches.retrieve"),
    (r"api\.anthropic\.com/v1/messages/batches/?$", "post", "anthropic.http().messages.batches.create"),
    (r"api\.anthropic\.com/v1/messages/batches/?$", "get", "anthropic.http().messages.batches.list"),
    (r"api\.anthropic\.com/v1/messages/count_tokens", "post", "anthropic.http().messages.count_tokens"),
    (r"api\.anthropic\.com/v1/messages/?$", "post", "anthropic.http().messages.create"),
    (r"api\.openai\.com/v1/chat/completions", "post", "openai.http().chat.completions.create"),
    (r"api\.openai\.com/v1/responses", "post", "openai.http().responses.create"),
    (r"api\.openai\.com/v1/batches/?$", "post", "openai.http().batches.create"),
    (r"api\.openai\.com/v1/batches/.+", "get", "openai.http().batches.retrieve"),
)

# Module objects that act as a client themselves (`openai.chat.completions.create`).
MODULE_CLIENTS: Dict[str, Tuple[str, str, bool]] = {
    "openai": ("openai", "openai (module client)", True),
}

# Plain functions that are a whole call site: value path -> (provider, operation kind).
FUNCTION_SITES: Dict[str, Tuple[str, str]] = {
    "litellm.completion": ("litellm", "sync"),
    "litellm.acompletion": ("litellm", "sync"),
    "litellm.text_completion": ("litellm", "sync"),
    # LiteLLM's batch_completion is concurrent synchronous calls, not a batch API.
    "litellm.batch_completion": ("litellm", "sync"),
}

# Segments that wrap a resource without changing the operation.
PASSTHROUGH_SEGMENTS: FrozenSet[str] = frozenset(
    {"with_raw_response", "with_streaming_response", "with_options()", "copy()", "aio"}
)

_ANTHROPIC_BATCH = {
    "batches.create": "batch_submit",
    "batches.retrieve": "batch_poll",
    "batches.list": "batch_poll",
    "batches.results": "batch_results",
    "batches.cancel": "batch_cancel",
    "batches.delete": "batch_delete",
}

_ANTHROPIC_METHODS: Dict[str, str] = {
    "messages.create": "sync",
    "messages.parse": "sync",
    "messages.stream": "stream",
    "messages.count_tokens": "count_tokens",
    "messages.tool_runner": "tool_runner",
    "completions.create": "sync",
}
for _prefix in ("", "beta."):
    for _method, _kind in list(_ANTHROPIC_METHODS.items()):
        if _method.startswith("messages."):
            _ANTHROPIC_METHODS[_prefix + _method] = _kind
    for _method, _kind in _ANTHROPIC_BATCH.items():
        _ANTHROPIC_METHODS[_prefix + "messages." + _method] = _kind

# provider -> method path (after the client) -> operation kind
METHODS: Dict[str, Dict[str, str]] = {
    "anthropic": _ANTHROPIC_METHODS,
    "openai": {
        "chat.completions.create": "sync",
        "chat.completions.parse": "sync",
        "beta.chat.completions.parse": "sync",
        "chat.completions.stream": "stream",
        "beta.chat.completions.stream": "stream",
        "responses.create": "sync",
        "responses.parse": "sync",
        "responses.stream": "stream",
        "completions.create": "sync",
        "batches.create": "batch_submit",
        "batches.retrieve": "batch_poll",
        "batches.list": "batch_poll",
        "batches.cancel": "batch_cancel",
        # Only a batch operation under the argument conditions in CONDITIONAL_METHODS.
        "files.create": "batch_upload",
        "files.content": "batch_results",
        "files.retrieve_content": "batch_results",
    },
    "bedrock": {
        "invoke_model": "sync",
        "invoke_model_with_response_stream": "stream",
        "converse": "sync",
        "converse_stream": "stream",
        "create_model_invocation_job": "batch_submit",
        "get_model_invocation_job": "batch_poll",
        "list_model_invocation_jobs": "batch_poll",
        "stop_model_invocation_job": "batch_cancel",
    },
    "google": {
        "models.generate_content": "sync",
        "models.generate_content_stream": "stream",
        "models.count_tokens": "count_tokens",
        "batches.create": "batch_submit",
        "batches.get": "batch_poll",
        "batches.list": "batch_poll",
        "batches.cancel": "batch_cancel",
        "batches.delete": "batch_delete",
        # Only a batch operation under the argument conditions in CONDITIONAL_METHODS.
        "files.download": "batch_results",
    },
}

# (provider, method) -> predicate over (request facts purpose, first positional argument source):
# methods that are only a batch operation when their arguments say so.
CONDITIONAL_METHODS: Dict[Tuple[str, str], str] = {
    ("openai", "files.create"): "purpose=batch",
    ("openai", "files.content"): "batch-output-file",
    ("openai", "files.retrieve_content"): "batch-output-file",
    ("google", "files.download"): "batch-output-file",
}

# Operation kinds that generate text synchronously (the Batch API could carry them).
GENERATION_KINDS: FrozenSet[str] = frozenset({"sync", "stream"})
BATCH_KINDS: FrozenSet[str] = frozenset(
    {"batch_upload", "batch_submit", "batch_poll", "batch_results", "batch_cancel", "batch_delete"}
)

# Every method tail any provider has: a call on an unresolved project name is kept for the
# project index only when its path ends with one of these.
METHOD_TAILS: FrozenSet[str] = frozenset(m for table in METHODS.values() for m in table)
