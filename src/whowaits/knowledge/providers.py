"""One record per LLM provider: everything whowaits knows about it, in one place.

Data only. A `Provider` holds the SDK modules, client classes (and whether each can use the
batch API), the method -> operation kind tables, the batch API's name, limits, custom_id rule
and lifecycle (statuses, result types), and the provider's own hosts and HTTP endpoints. The
tables the other stages read (`knowledge.sdk`, `knowledge.limits`, `knowledge.batches`, the
text pre-filter in `discover`) are derived from these records: adding a provider is adding a
record to PROVIDERS, plus fixtures exercising each operation kind it declares
(tests/test_providers.py holds them to it). Facts from shared/api-facts.md are cited by section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Mapping, Optional, Tuple

from whowaits.core import OperationKind

SYNC = OperationKind.SYNC
STREAM = OperationKind.STREAM
TOOL_RUNNER = OperationKind.TOOL_RUNNER
COUNT_TOKENS = OperationKind.COUNT_TOKENS
BATCH_UPLOAD = OperationKind.BATCH_UPLOAD
BATCH_SUBMIT = OperationKind.BATCH_SUBMIT
BATCH_POLL = OperationKind.BATCH_POLL
BATCH_RESULTS = OperationKind.BATCH_RESULTS
BATCH_CANCEL = OperationKind.BATCH_CANCEL
BATCH_DELETE = OperationKind.BATCH_DELETE

Methods = Mapping[str, OperationKind]


@dataclass(frozen=True)
class Client:
    """A client class (or a module acting as one) and what it serves."""

    module: str  # the SDK module it is imported from
    name: str  # as a value path spells it; a boto3 client carries its service: `client[bedrock-runtime]`
    canonical: str  # what reports call it (aliases and re-exports share one)
    batch: bool = True  # the provider's batch API works on this client
    # When `batch` is False: (the platform, what to use there instead), for WW107's advice.
    no_batch: Tuple[str, str] = ("", "")
    methods: Optional[Methods] = None  # its own methods, when they differ from the provider's
    class_level: bool = False  # its methods are called on the class itself (`BatchPredictionJob.submit`)
    # Raw HTTP endpoints (an `http` client): (path pattern after the provider's first host,
    # HTTP method or "" for any, the SDK method it stands for). First match wins.
    endpoints: Tuple[Tuple[str, str, str], ...] = ()

    @property
    def service(self) -> str:
        """The service a factory-made client is for (`client[bedrock-runtime]` -> `bedrock-runtime`)."""
        return self.name[self.name.index("[") + 1 : -1] if self.name.endswith("]") else ""


@dataclass(frozen=True)
class BatchLimits:
    """How much one batch may hold (a larger one is rejected at create)."""

    max_requests: int
    max_size: str  # as the provider states it: "256 MB"
    scope: str  # what the limits apply to: "per batch", "per input file"
    api: str  # the API the limit is stated for, as a message names it
    source: str


@dataclass(frozen=True)
class CustomIdRule:
    """The ids that join batch results back to their requests."""

    allowed: str  # a regex character class
    max_len: int
    describe: str  # the allowed characters, as advice words them

    @property
    def pattern(self) -> str:
        return f"^{self.allowed}{{1,{self.max_len}}}$"


@dataclass(frozen=True)
class BatchLifecycle:
    """What a provider's batch goes through, from submit to results."""

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


@dataclass(frozen=True)
class Provider:
    """Everything whowaits knows about one provider's API."""

    name: str  # the provider as findings, reports and policy rules name it
    title: str  # as prose names it
    modules: Tuple[str, ...]  # module roots that mark a file (and a value path) as this SDK
    clients: Tuple[Client, ...]
    methods: Methods = field(default_factory=dict)  # method path after a client -> operation kind
    functions: Methods = field(default_factory=dict)  # plain functions that are a whole call site
    module_client: Optional[Client] = None  # a module object acting as a client (`openai.chat...`)
    # Methods that are a batch operation only when their arguments say so: method -> predicate
    # over the request facts (`purpose=batch`) or the first argument (`batch-output-file`).
    conditional: Mapping[str, str] = field(default_factory=dict)
    # The hosts of the provider's own API (`*` is a glob): a client pointed anywhere else talks
    # to an OpenAI-compatible server, which has no batch API.
    hosts: Tuple[str, ...] = ()
    batch_api: str = "Batch API"  # what messages call its batch API
    limits: Optional[BatchLimits] = None
    custom_id: Optional[CustomIdRule] = None  # None: its batch requests carry no custom_id
    lifecycle: Optional[BatchLifecycle] = None

    def __post_init__(self) -> None:
        for client in self.clients + ((self.module_client,) if self.module_client else ()):
            if client.module not in self.modules:
                raise ValueError(f"{self.name}: client {client.name} is in {client.module}, not one of its modules")
            if not client.batch and not client.no_batch[0]:
                raise ValueError(f"{self.name}: client {client.name} has no batch API but no advice (no_batch)")
        for path in self.functions:
            if not any(path.startswith(module + ".") for module in self.modules):
                raise ValueError(f"{self.name}: function {path} is in none of its modules")

    @property
    def method_tables(self) -> Tuple[Methods, ...]:
        """Every method table of the provider: its own and its clients' own."""
        return (self.methods,) + tuple(c.methods for c in self.clients if c.methods is not None)

    @property
    def operation_kinds(self) -> FrozenSet[OperationKind]:
        """Every operation kind the provider's methods and functions declare."""
        return frozenset(kind for table in self.method_tables + (self.functions,) for kind in table.values())


# --------------------------------------------------------------------------------------------
# Shared method tables
# --------------------------------------------------------------------------------------------

# LangChain chat models call the provider's synchronous API, once per input: `.batch()` there
# is concurrent synchronous calls, not a batch API.
_LANGCHAIN: Methods = {
    "invoke": SYNC, "ainvoke": SYNC, "predict": SYNC, "apredict": SYNC,
    "predict_messages": SYNC, "generate": SYNC, "agenerate": SYNC, "__call__": SYNC,
    "run": SYNC, "arun": SYNC,  # an LLMChain built around the chat model
    "batch": SYNC, "abatch": SYNC, "batch_as_completed": SYNC, "abatch_as_completed": SYNC,
    "stream": STREAM, "astream": STREAM, "astream_events": STREAM,
}
# LangChain's shared packages, which hold several providers' chat models.
_LANGCHAIN_SHARED = ("langchain_community.chat_models", "langchain.chat_models")

# One custom_id rule for Anthropic and OpenAI: 1-64 letters, digits, `_` and `-` (api-facts 1, 4).
_CUSTOM_ID = CustomIdRule(allowed="[a-zA-Z0-9_-]", max_len=64, describe="only letters, digits, `_` and `-`")


def _anthropic_methods() -> Methods:
    """Messages, the legacy completion API, and the batches under `messages` and `beta.messages`."""
    messages = {
        "messages.create": SYNC,
        "messages.parse": SYNC,
        "messages.stream": STREAM,
        "messages.count_tokens": COUNT_TOKENS,
        "messages.tool_runner": TOOL_RUNNER,
    }
    batches = {
        "batches.create": BATCH_SUBMIT,
        "batches.retrieve": BATCH_POLL,
        "batches.list": BATCH_POLL,
        "batches.results": BATCH_RESULTS,
        "batches.cancel": BATCH_CANCEL,
        "batches.delete": BATCH_DELETE,
    }
    table: Dict[str, OperationKind] = {
        **messages,
        "completions.create": SYNC,
        # anthropic < 0.3: `anthropic.Client(key).completion(prompt=...)`.
        "completion": SYNC,
        "acompletion": SYNC,
        "completion_stream": STREAM,
        "acompletion_stream": STREAM,
    }
    for prefix in ("", "beta."):
        table.update({prefix + method: kind for method, kind in messages.items()})
        table.update({prefix + "messages." + method: kind for method, kind in batches.items()})
    # anthropic 0.3x: prompt caching and tool use had beta namespaces of their own.
    for prefix in ("beta.prompt_caching.", "beta.tools."):
        table.update({prefix + method: messages[method] for method in ("messages.create", "messages.stream")})
    return table


def _anthropic_clients() -> Tuple[Client, ...]:
    """The SDK's clients and their async twins (api-facts 2)."""
    clients = []
    no_batch = {
        # The attribute exists on these, but every batch call raises at run time.
        "AnthropicBedrock": ("Bedrock", "Bedrock batch inference (`create_model_invocation_job` on boto3's `bedrock` client)"),
        "AnthropicVertex": ("Vertex AI", "Vertex AI batch prediction"),
        "AnthropicFoundry": ("Foundry", "the platform's own batch deployment"),  # `.batches` is None
    }
    # Mantle serves the standard Messages resource, batches included (SDK 2.12.0 source).
    for name in ("Anthropic", "AnthropicAWS", "AnthropicGoogleCloud", "AnthropicBedrockMantle", *no_batch):
        for cls in (name, "Async" + name):
            clients.append(Client("anthropic", cls, cls, batch=name not in no_batch, no_batch=no_batch.get(name, ("", ""))))
    clients += [
        Client("anthropic", "Client", "Anthropic"),
        Client("anthropic", "AsyncClient", "AsyncAnthropic"),
    ]
    return tuple(clients)


ANTHROPIC = Provider(
    name="anthropic",
    title="Anthropic",
    modules=("anthropic", "langchain_anthropic", *_LANGCHAIN_SHARED),
    clients=_anthropic_clients() + (
        Client("anthropic", "http", "HTTP API", endpoints=(
            (r"/v1/messages/batches/[^/]+/results", "get", "messages.batches.results"),
            (r"/v1/messages/batches/[^/]+/cancel", "post", "messages.batches.cancel"),
            (r"/v1/messages/batches/.+", "get", "messages.batches.retrieve"),
            (r"/v1/messages/batches/?$", "post", "messages.batches.create"),
            (r"/v1/messages/batches/?$", "get", "messages.batches.list"),
            (r"/v1/messages/count_tokens", "post", "messages.count_tokens"),
            (r"/v1/messages/?$", "post", "messages.create"),
            (r"/v1/complete/?$", "post", "completions.create"),
        )),
        Client("langchain_anthropic", "ChatAnthropic", "ChatAnthropic", methods=_LANGCHAIN),
        *(Client(module, "ChatAnthropic", "ChatAnthropic", methods=_LANGCHAIN) for module in _LANGCHAIN_SHARED),
    ),
    methods=_anthropic_methods(),
    hosts=("api.anthropic.com",),
    batch_api="Message Batches API",
    limits=BatchLimits(100_000, "256 MB", "per batch", "Message Batches API", "api-facts 1"),
    custom_id=_CUSTOM_ID,
    lifecycle=BatchLifecycle(
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
)

OPENAI = Provider(
    name="openai",
    title="OpenAI",
    modules=("openai", "langchain_openai", *_LANGCHAIN_SHARED),
    clients=(
        Client("openai", "OpenAI", "OpenAI"),
        Client("openai", "AsyncOpenAI", "AsyncOpenAI"),
        Client("openai", "Client", "OpenAI"),
        Client("openai", "AsyncClient", "AsyncOpenAI"),
        Client("openai", "AzureOpenAI", "AzureOpenAI"),
        Client("openai", "AsyncAzureOpenAI", "AsyncAzureOpenAI"),
        Client("openai", "http", "HTTP API", endpoints=(
            (r"/v1/chat/completions", "post", "chat.completions.create"),
            (r"/v1/responses", "post", "responses.create"),
            (r"/v1/completions", "post", "completions.create"),
            (r"/v1/batches/?$", "post", "batches.create"),
            (r"/v1/batches/?$", "get", "batches.list"),
            (r"/v1/batches/[^/]+/cancel", "post", "batches.cancel"),
            (r"/v1/batches/.+", "get", "batches.retrieve"),
        )),
        Client("langchain_openai", "ChatOpenAI", "ChatOpenAI", methods=_LANGCHAIN),
        Client("langchain_openai", "AzureChatOpenAI", "ChatOpenAI", methods=_LANGCHAIN),
        Client("langchain_openai", "OpenAI", "ChatOpenAI", methods=_LANGCHAIN),
        *(Client(module, "ChatOpenAI", "ChatOpenAI", methods=_LANGCHAIN) for module in _LANGCHAIN_SHARED),
    ),
    module_client=Client("openai", "", "openai (module client)"),
    methods={
        "chat.completions.create": SYNC,
        "chat.completions.parse": SYNC,
        "beta.chat.completions.parse": SYNC,
        "chat.completions.stream": STREAM,
        "beta.chat.completions.stream": STREAM,
        "responses.create": SYNC,
        "responses.parse": SYNC,
        "responses.stream": STREAM,
        "completions.create": SYNC,
        # openai < 1.0 module API.
        "ChatCompletion.create": SYNC,
        "ChatCompletion.acreate": SYNC,
        "Completion.create": SYNC,
        "Completion.acreate": SYNC,
        "batches.create": BATCH_SUBMIT,
        "batches.retrieve": BATCH_POLL,
        "batches.list": BATCH_POLL,
        "batches.cancel": BATCH_CANCEL,
        # Only a batch operation under the argument conditions in `conditional`.
        "files.create": BATCH_UPLOAD,
        "files.content": BATCH_RESULTS,
        "files.retrieve_content": BATCH_RESULTS,
    },
    conditional={
        "files.create": "purpose=batch",
        "files.content": "batch-output-file",
        "files.retrieve_content": "batch-output-file",
    },
    hosts=("api.openai.com", "*.openai.azure.com", "*.cognitiveservices.azure.com"),
    limits=BatchLimits(50_000, "200 MB", "per input file", "OpenAI Batch API", "api-facts 4"),
    custom_id=_CUSTOM_ID,
    lifecycle=BatchLifecycle(
        status_fields=("status",),
        running=frozenset({"validating", "in_progress", "finalizing", "cancelling"}),
        ready=frozenset({"completed"}),
        partial=frozenset({"expired", "cancelled"}),
        empty=frozenset({"failed"}),
        output_fields=("output_file_id",),
        error_fields=("error_file_id",),
        docs="api-facts 4: Batch.status; output_file_id is None until results exist; output lines in any order",
    ),
)

_GEMINI_MODEL: Methods = {
    "generate_content": SYNC,
    "generate_content_async": SYNC,
    "start_chat().send_message": SYNC,
    "start_chat().send_message_async": SYNC,
    "count_tokens": COUNT_TOKENS,
}
# Vertex AI batch prediction (Gemini's batch on Vertex): a job class used on the class itself.
_VERTEX_BATCH: Methods = {
    "submit": BATCH_SUBMIT,
    "create": BATCH_SUBMIT,
    "submit().refresh": BATCH_POLL,
    "create().refresh": BATCH_POLL,
    "refresh": BATCH_POLL,
    "submit().cancel": BATCH_CANCEL,
    "cancel": BATCH_CANCEL,
    "delete": BATCH_DELETE,
}

# Gemini through google-genai, the legacy SDK (google.generativeai) and the Vertex AI SDK.
GOOGLE = Provider(
    name="google",
    title="Google Gemini",
    modules=("google.genai", "google.generativeai", "vertexai", "google.cloud.aiplatform", "langchain_google_genai"),
    clients=(
        Client("google.genai", "Client", "genai.Client"),
        Client("google.generativeai", "GenerativeModel", "generativeai.GenerativeModel", methods=_GEMINI_MODEL),
        Client("vertexai", "GenerativeModel", "vertexai.GenerativeModel", methods=_GEMINI_MODEL),
        Client("vertexai", "BatchPredictionJob", "vertexai.BatchPredictionJob", methods=_VERTEX_BATCH, class_level=True),
        Client("google.cloud.aiplatform", "BatchPredictionJob", "vertexai.BatchPredictionJob", methods=_VERTEX_BATCH,
               class_level=True),
        Client("langchain_google_genai", "ChatGoogleGenerativeAI", "ChatGoogleGenerativeAI", methods=_LANGCHAIN),
    ),
    methods={
        "models.generate_content": SYNC,
        "models.generate_content_stream": STREAM,
        "models.count_tokens": COUNT_TOKENS,
        "batches.create": BATCH_SUBMIT,
        "batches.get": BATCH_POLL,
        "batches.list": BATCH_POLL,
        "batches.cancel": BATCH_CANCEL,
        "batches.delete": BATCH_DELETE,
        # Only a batch operation under the argument conditions in `conditional`.
        "files.download": BATCH_RESULTS,
    },
    functions={
        # PaLM-era functions of the legacy SDK.
        "google.generativeai.generate_text": SYNC,
        "google.generativeai.chat": SYNC,
    },
    conditional={"files.download": "batch-output-file"},
    hosts=("generativelanguage.googleapis.com", "*aiplatform.googleapis.com"),
    # api-facts 5 states no request limit for a Gemini batch (only the inline size, which the
    # code does not show): no `limits` until one is stated.
    lifecycle=BatchLifecycle(
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
)

# Claude and other models on AWS Bedrock through boto3 (api-facts 3). boto3 clients carry their
# service name: `boto3.client("bedrock-runtime")` is `client[bedrock-runtime]`.
BEDROCK = Provider(
    name="bedrock",
    title="AWS Bedrock",
    modules=("boto3",),
    clients=(
        Client("boto3", "client[bedrock-runtime]", "boto3 bedrock-runtime"),
        Client("boto3", "client[bedrock]", "boto3 bedrock"),
    ),
    methods={
        "invoke_model": SYNC,
        "invoke_model_with_response_stream": STREAM,
        "converse": SYNC,
        "converse_stream": STREAM,
        "create_model_invocation_job": BATCH_SUBMIT,
        "get_model_invocation_job": BATCH_POLL,
        "list_model_invocation_jobs": BATCH_POLL,
        "stop_model_invocation_job": BATCH_CANCEL,
    },
    hosts=("bedrock*.amazonaws.com",),
    batch_api="Bedrock batch inference (create_model_invocation_job)",
    # api-facts 3 and 7 state a minimum record count (100 per model), no maximum: no `limits`.
    # Records join back by `recordId`, which api-facts gives no format for: no `custom_id`.
    lifecycle=BatchLifecycle(
        status_fields=("status",),
        running=frozenset({"Submitted", "Validating", "Scheduled", "InProgress", "Stopping"}),
        ready=frozenset({"Completed", "PartiallyCompleted"}),
        partial=frozenset({"Stopped", "Expired"}),
        empty=frozenset({"Failed"}),
        docs="api-facts 3: model invocation job status; output records carry their recordId",
    ),
)

# LiteLLM routes to any provider through plain functions; it has no batch API of its own here.
LITELLM = Provider(
    name="litellm",
    title="LiteLLM",
    modules=("litellm",),
    clients=(),
    functions={
        "litellm.completion": SYNC,
        "litellm.acompletion": SYNC,
        "litellm.text_completion": SYNC,
        # LiteLLM's batch_completion is concurrent synchronous calls, not a batch API.
        "litellm.batch_completion": SYNC,
    },
)

PROVIDERS: Dict[str, Provider] = {p.name: p for p in (ANTHROPIC, OPENAI, LITELLM, GOOGLE, BEDROCK)}


def batch_api(name: str) -> str:
    """What a message calls the provider's batch API."""
    record = PROVIDERS.get(name)
    return record.batch_api if record is not None else "Batch API"
