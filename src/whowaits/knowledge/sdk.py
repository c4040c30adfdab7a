"""What each LLM SDK looks like: client classes, method paths and the operation each one is.

Data only. `whowaits.facts.calls` turns a resolved value path into an `Operation` with these
tables; adding a provider or a method is adding a row here.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

# Module roots that mark a file as worth parsing (the text pre-filter) and a value path as SDK.
SDK_MODULES: Tuple[str, ...] = (
    "anthropic", "openai", "litellm", "google.genai", "boto3",
    "google.generativeai", "vertexai", "google.cloud.aiplatform",
    # LangChain chat models: `.batch()` there is concurrent synchronous calls, not a batch API.
    "langchain_anthropic", "langchain_openai", "langchain_community.chat_models", "langchain.chat_models",
    "langchain_google_genai",
)
# Libraries whose HTTP calls may carry a provider URL (raw HTTP sites; also pre-filter words).
HTTP_MODULES: Tuple[str, ...] = ("requests", "httpx", "httpx2", "aiohttp")

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
    # Gemini through the legacy SDK and through the Vertex AI SDK (its batch is BatchPredictionJob).
    ("google.generativeai", "GenerativeModel"): ("google", "generativeai.GenerativeModel", True),
    ("vertexai", "GenerativeModel"): ("google", "vertexai.GenerativeModel", True),
    ("vertexai", "BatchPredictionJob"): ("google", "vertexai.BatchPredictionJob", True),
    ("google.cloud.aiplatform", "BatchPredictionJob"): ("google", "vertexai.BatchPredictionJob", True),
    # LangChain chat models call the provider's synchronous API, once per input.
    ("langchain_anthropic", "ChatAnthropic"): ("anthropic", "ChatAnthropic", True),
    ("langchain_community.chat_models", "ChatAnthropic"): ("anthropic", "ChatAnthropic", True),
    ("langchain.chat_models", "ChatAnthropic"): ("anthropic", "ChatAnthropic", True),
    ("langchain_openai", "ChatOpenAI"): ("openai", "ChatOpenAI", True),
    ("langchain_openai", "AzureChatOpenAI"): ("openai", "ChatOpenAI", True),
    ("langchain_openai", "OpenAI"): ("openai", "ChatOpenAI", True),
    ("langchain_community.chat_models", "ChatOpenAI"): ("openai", "ChatOpenAI", True),
    ("langchain.chat_models", "ChatOpenAI"): ("openai", "ChatOpenAI", True),
    ("langchain_google_genai", "ChatGoogleGenerativeAI"): ("google", "ChatGoogleGenerativeAI", True),
}

# Classes whose methods are called on the class itself (`BatchPredictionJob.submit(...)`).
CLASS_LEVEL_CLIENTS: FrozenSet[Tuple[str, str]] = frozenset(
    {("vertexai", "BatchPredictionJob"), ("google.cloud.aiplatform", "BatchPredictionJob")}
)

# The hosts of each provider's own API: a client pointed anywhere else (`base_url=`,
# `api_base=`, `openai.base_url = ...`) talks to an OpenAI-compatible server (a local model,
# vLLM, Ollama, another vendor), which has no Batch API. `*` is a glob.
OFFICIAL_HOSTS: Dict[str, Tuple[str, ...]] = {
    "anthropic": ("api.anthropic.com",),
    "openai": ("api.openai.com", "*.openai.azure.com", "*.cognitiveservices.azure.com"),
    "google": ("generativelanguage.googleapis.com", "*aiplatform.googleapis.com"),
    "bedrock": ("bedrock*.amazonaws.com",),
}
# Keywords and module attributes that point a client at a server.
ENDPOINT_KEYWORDS: FrozenSet[str] = frozenset(
    {"base_url", "api_base", "openai_api_base", "anthropic_api_url", "endpoint_url"}
)
COMPATIBLE = "compatible"  # the provider of a client pointed at another server
# API keys that local OpenAI-compatible servers document as placeholders (vLLM, Ollama, LM
# Studio, llama.cpp): a client built with one talks to such a server, wherever its URL comes from.
LOCAL_SERVER_KEYS: FrozenSet[str] = frozenset(
    {"empty", "ollama", "lm-studio", "lmstudio", "not-needed", "sk-no-key-required", "vllm", "llama.cpp"}
)
# Environment lookups whose second argument is the value the code falls back to.
ENV_LOOKUPS: FrozenSet[str] = frozenset({"os.getenv", "os.environ.get"})

# Callables whose first literal argument is a boto3 service name.
BOTO3_CLIENT_FACTORIES: Tuple[str, ...] = ("boto3.client", "boto3.Session().client", "boto3.session.Session().client")

# HTTP calls whose URL decides the operation: (glob over the call's value path, HTTP method).
HTTP_CALLS: Tuple[Tuple[str, str], ...] = (
    ("{requests,httpx,httpx2}.{post,get}", ""),
    ("{requests,httpx,httpx2}.request", ""),
    ("requests.Session().{post,get,request}", ""),
    ("{httpx,httpx2}.{Client,AsyncClient}().{post,get,request}", ""),
    ("aiohttp.ClientSession().{post,get,request}", ""),
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
    (r"api\.anthropic\.com/v1/complete/?$", "post", "anthropic.http().completions.create"),
    (r"api\.openai\.com/v1/chat/completions", "post", "openai.http().chat.completions.create"),
    (r"api\.openai\.com/v1/responses", "post", "openai.http().responses.create"),
    (r"api\.openai\.com/v1/completions", "post", "openai.http().completions.create"),
    (r"api\.openai\.com/v1/batches/?$", "post", "openai.http().batches.create"),
    (r"api\.openai\.com/v1/batches/?$", "get", "openai.http().batches.list"),
    (r"api\.openai\.com/v1/batches/[^/]+/cancel", "post", "openai.http().batches.cancel"),
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
    # PaLM-era functions of the legacy Google SDK.
    "google.generativeai.generate_text": ("google", "sync"),
    "google.generativeai.chat": ("google", "sync"),
}

# Segments that wrap a resource without changing the operation.
PASSTHROUGH_SEGMENTS: FrozenSet[str] = frozenset(
    {"with_raw_response", "with_streaming_response", "with_options()", "copy()", "aio",
     # LangChain runnables configured from a chat model are still that chat model.
     "with_structured_output()", "bind_tools()", "bind()", "with_retry()", "with_config()", "with_fallbacks()"}
)

# Operations that run once per element of their first argument, concurrently (LangChain's
# `.batch()`: a thread pool of synchronous calls): a fan-out at the call itself.
FANOUT_OPERATIONS: FrozenSet[str] = frozenset({"batch", "abatch", "batch_as_completed", "abatch_as_completed"})

# Constructors of chains that call the model passed as a keyword (`LLMChain(llm=llm, prompt=p)`):
# the chain is that model for call resolution.
MODEL_WRAPPERS: Dict[str, str] = {
    "langchain.chains.LLMChain": "llm",
    "langchain.chains.ConversationChain": "llm",
    "langchain.chains.llm.LLMChain": "llm",
    "langchain_classic.chains.LLMChain": "llm",
}

# Module roots whose objects compose with `|` into a runnable that calls the model
# (`prompt | llm | parser`): the chain is the chat model for call resolution.
PIPE_COMPOSED: Tuple[str, ...] = tuple(m for m in SDK_MODULES if m.startswith("langchain"))

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
    # anthropic < 0.3: `anthropic.Client(key).completion(prompt=...)`.
    "completion": "sync",
    "acompletion": "sync",
    "completion_stream": "stream",
    "acompletion_stream": "stream",
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
        # openai < 1.0 module API.
        "ChatCompletion.create": "sync",
        "ChatCompletion.acreate": "sync",
        "Completion.create": "sync",
        "Completion.acreate": "sync",
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

_GEMINI_MODEL = {
    "generate_content": "sync",
    "generate_content_async": "sync",
    "start_chat().send_message": "sync",
    "start_chat().send_message_async": "sync",
    "count_tokens": "count_tokens",
}
_LANGCHAIN = {
    "invoke": "sync", "ainvoke": "sync", "predict": "sync", "apredict": "sync",
    "predict_messages": "sync", "generate": "sync", "agenerate": "sync", "__call__": "sync",
    "run": "sync", "arun": "sync",  # an LLMChain built around the chat model
    "batch": "sync", "abatch": "sync", "batch_as_completed": "sync", "abatch_as_completed": "sync",
    "stream": "stream", "astream": "stream", "astream_events": "stream",
}
_VERTEX_BATCH = {
    "submit": "batch_submit",
    "create": "batch_submit",
    "submit().refresh": "batch_poll",
    "create().refresh": "batch_poll",
    "refresh": "batch_poll",
    "submit().cancel": "batch_cancel",
    "cancel": "batch_cancel",
    "delete": "batch_delete",
}
# canonical client -> method path -> operation kind, for clients whose methods differ from
# their provider's main SDK client (METHODS).
CLIENT_METHODS: Dict[str, Dict[str, str]] = {
    "generativeai.GenerativeModel": _GEMINI_MODEL,
    "vertexai.GenerativeModel": _GEMINI_MODEL,
    "vertexai.BatchPredictionJob": _VERTEX_BATCH,
    "ChatAnthropic": _LANGCHAIN,
    "ChatOpenAI": _LANGCHAIN,
    "ChatGoogleGenerativeAI": _LANGCHAIN,
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
METHOD_TAILS: FrozenSet[str] = frozenset(
    m for table in list(METHODS.values()) + list(CLIENT_METHODS.values()) for m in table
)
