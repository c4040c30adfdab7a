"""What each LLM SDK looks like, as the call resolution reads it: the tables of the provider
records (`knowledge.providers`), flattened, and the SDK-independent shapes around them.

Data only. `whowaits.facts.calls` turns a resolved value path into an `Operation` with these
tables. Nothing about one provider is written here: adding a provider or a method is a change
to its record.
"""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, Tuple

from whowaits.core import OperationKind
from whowaits.knowledge.providers import PROVIDERS

_RECORDS = tuple(PROVIDERS.values())

# Module roots that mark a file as worth parsing (the text pre-filter) and a value path as SDK.
SDK_MODULES: Tuple[str, ...] = tuple(dict.fromkeys(m for p in _RECORDS for m in p.modules))

# (module root, class name) -> (provider, canonical class, batch API usable on this client)
CLIENT_CLASSES: Dict[Tuple[str, str], Tuple[str, str, bool]] = {
    (c.module, c.name): (p.name, c.canonical, c.batch) for p in _RECORDS for c in p.clients
}

# Classes whose methods are called on the class itself (`BatchPredictionJob.submit(...)`).
CLASS_LEVEL_CLIENTS: FrozenSet[Tuple[str, str]] = frozenset(
    (c.module, c.name) for p in _RECORDS for c in p.clients if c.class_level
)

# The hosts of each provider's own API: a client pointed anywhere else (`base_url=`,
# `api_base=`, `openai.base_url = ...`) talks to an OpenAI-compatible server (a local model,
# vLLM, Ollama, another vendor), which has no Batch API. `*` is a glob.
OFFICIAL_HOSTS: Dict[str, Tuple[str, ...]] = {p.name: p.hosts for p in _RECORDS if p.hosts}
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
# (URL pattern, HTTP method or "" for any, value path of the equivalent SDK method), from each
# provider's HTTP clients: their endpoint paths after the provider's first host.
HTTP_ENDPOINTS: Tuple[Tuple[str, str, str], ...] = tuple(
    (re.escape(p.hosts[0]) + path, verb, f"{c.module}.{c.name}().{method}")
    for p in _RECORDS for c in p.clients for path, verb, method in c.endpoints
)

# Module objects that act as a client themselves (`openai.chat.completions.create`).
MODULE_CLIENTS: Dict[str, Tuple[str, str, bool]] = {
    p.module_client.module: (p.name, p.module_client.canonical, p.module_client.batch)
    for p in _RECORDS if p.module_client is not None
}

# Plain functions that are a whole call site: value path -> (provider, operation kind).
FUNCTION_SITES: Dict[str, Tuple[str, str]] = {path: (p.name, kind) for p in _RECORDS for path, kind in p.functions.items()}

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

# provider -> method path (after the client) -> operation kind
METHODS: Dict[str, Dict[str, str]] = {p.name: dict(p.methods) for p in _RECORDS if p.methods}

# canonical client -> method path -> operation kind, for clients whose methods differ from
# their provider's main SDK client (METHODS).
CLIENT_METHODS: Dict[str, Dict[str, str]] = {
    c.canonical: dict(c.methods) for p in _RECORDS for c in p.clients if c.methods is not None
}

# (provider, method) -> predicate over (request facts purpose, first positional argument source):
# methods that are only a batch operation when their arguments say so.
CONDITIONAL_METHODS: Dict[Tuple[str, str], str] = {
    (p.name, method): condition for p in _RECORDS for method, condition in p.conditional.items()
}

# Operation kinds that generate text synchronously (the Batch API could carry them).
GENERATION_KINDS: FrozenSet[str] = frozenset({OperationKind.SYNC, OperationKind.STREAM})
BATCH_KINDS: FrozenSet[str] = frozenset(
    {
        OperationKind.BATCH_UPLOAD, OperationKind.BATCH_SUBMIT, OperationKind.BATCH_POLL,
        OperationKind.BATCH_RESULTS, OperationKind.BATCH_CANCEL, OperationKind.BATCH_DELETE,
    }
)

# Every method tail any provider has: a call on an unresolved project name is kept for the
# project index only when its path ends with one of these.
METHOD_TAILS: FrozenSet[str] = frozenset(
    m for table in list(METHODS.values()) + list(CLIENT_METHODS.values()) for m in table
)
