"""Every type the pipeline stages hand to each other.

This module imports nothing from whowaits, so any stage (and any test) can use the types
without pulling in the parser or the CLI. Facts are frozen, small and picklable: they are what
the content-hash cache stores and what worker processes send back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Callable, ClassVar, Dict, FrozenSet, Optional, Tuple, Union

SEVERITIES: Tuple[str, ...] = ("info", "warning", "error")


class TextEnum(str, Enum):
    """A closed set of names that still is plain text: a member equals, hashes and sorts like
    its value, so tables keyed by text, `==` against the strings older facts carry and the
    JSON cache keep working, and `str()` / f-strings print the value, not `Kind.NAME`."""

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        return str.__format__(str.__str__(self), spec)


class OperationKind(TextEnum):
    """What an LLM API call does (the provider records map each SDK method to one)."""

    SYNC = "sync"  # one synchronous generation
    STREAM = "stream"  # one generation, streamed
    TOOL_RUNNER = "tool_runner"  # an SDK-run tool loop: an agent by construction
    COUNT_TOKENS = "count_tokens"  # no generation
    BATCH_UPLOAD = "batch_upload"  # the input file of a batch
    BATCH_SUBMIT = "batch_submit"
    BATCH_POLL = "batch_poll"  # a status read (retrieve, list)
    BATCH_RESULTS = "batch_results"
    BATCH_CANCEL = "batch_cancel"
    BATCH_DELETE = "batch_delete"


class ContextKind(TextEnum):
    """Who runs the code a call site is reached from (SPEC section 3); whether someone waits
    on each kind is knowledge (`knowledge.frameworks.BLOCKING_KINDS`)."""

    HTTP_HANDLER = "http_handler"
    BOT_HANDLER = "bot_handler"
    INTERACTIVE_UI = "interactive_ui"
    INTERACTIVE_CLI = "interactive_cli"
    CI_PREMERGE = "ci_premerge"
    CI_COMMENT = "ci_comment"  # a CI run answering a person: issue_comment, pull_request_review (a /command)
    TOOL_LOOP = "tool_loop"
    AGENT_TOOL = "agent_tool"  # an MCP server's tool, prompt or resource: the calling agent waits on it
    SCHEDULED = "scheduled"
    BACKGROUND = "background"
    OFFLINE_SCRIPT = "offline_script"
    CI_MANUAL = "ci_manual"  # a CI run started by hand (workflow_dispatch), usually beside a schedule
    CI_EVENT = "ci_event"  # a CI run started by a repository event nobody sits on: release, workflow_run
    DECLARED = "declared"  # a pragma or the configuration says who waits


def severity_rank(severity: str) -> int:
    """Order severities so `--fail-on` can compare them."""
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Span:
    """1-based line and column of a node's start and end (end column exclusive)."""

    line: int
    col: int
    end_line: int
    end_col: int


# --------------------------------------------------------------------------------------------
# References: how a file's facts point at what only the project stage can resolve.
#
# A value path (`anthropic.Anthropic().messages.create`, `myapp.llm.client`, relative
# `.llm.client`) is a plain `str`; every other kind of reference is one of these classes, so
# the stages share fields, not a text format to parse.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalRef:
    """A function or class of the same module, by qualified name (`Handler.get`)."""

    qualname: str


@dataclass(frozen=True)
class LocalInstance:
    """An instance of a class of the same module: called, it runs the class's `__call__`;
    passed as an argument, it is that instance in the callee."""

    qualname: str


@dataclass(frozen=True)
class ParamRef:
    """The parameter at `index` (counting `self`) of `function`, a function of the same module,
    and the attribute path used on it (`client.messages.create`; "" for the parameter itself,
    handed on as an argument). The call graph fills it in from what the function's callers pass."""

    function: str
    index: int
    rest: str = ""
    called: bool = False  # the parameter is a class made here first (`translator_cls(key).translate`)

    def on(self, value: str) -> str:
        """The path `rest` names when the parameter is `value` (what a caller passes)."""
        return value + ("()" if self.called else "") + (f".{self.rest}" if self.rest else "")


LiteralValue = Union[str, int, float, bool, None]


@dataclass(frozen=True)
class ParamGuard:
    """A branch on a parameter of the function a call sits in, which the call needs to be
    taken: `if bulk:` (truthy), `if not bulk:` or its `else` (falsy), `if mode == "batch":`
    (equal) or `!=` (unequal). A caller that passes a literal the branch rejects, or leaves a
    literal default it rejects, never runs the call (`run(rows, bulk=False)` from a route)."""

    name: str
    index: int  # position counting `self`; -1 for a keyword-only parameter
    test: str  # truthy | falsy | equal | unequal
    value: LiteralValue = None  # what `equal` and `unequal` compare with
    default: Tuple[LiteralValue, ...] = ()  # (the default,) when it is a literal

    def admits(self, value: LiteralValue) -> bool:
        """Whether the branch is taken when the parameter is `value`."""
        if self.test == "truthy":
            return bool(value)
        if self.test == "falsy":
            return not value
        return (value == self.value) == (self.test == "equal")


@dataclass(frozen=True)
class LiteralArg:
    """An argument written as a literal (`bulk=False`, `"batch"`): by position or by name."""

    value: LiteralValue
    at: int = -1  # position among the positional arguments; -1 for a keyword
    name: str = ""


@dataclass(frozen=True)
class Passed:
    """What a direct call passes (no `*args` or `**kwargs`), for the callee's branches on its
    parameters: how many positional arguments, the keywords' names, and the literal ones."""

    count: int = 0
    names: Tuple[str, ...] = ()
    literals: Tuple[LiteralArg, ...] = ()

    def takes(self, guard: ParamGuard, offset: int) -> bool:
        """Whether a callee reached through this call may take the branch `guard` names;
        `offset` is 1 when the callee's first parameter is the `self` the call does not pass."""
        at = guard.index - offset
        for literal in self.literals:
            if (literal.name == guard.name) if literal.at < 0 else (literal.at == at):
                return guard.admits(literal.value)
        if guard.name in self.names or 0 <= at < self.count:
            return True  # passed, but not as a literal
        return not guard.default or guard.admits(guard.default[0])


@dataclass(frozen=True)
class ArgRef:
    """The calling function's own parameter at `index`, handed to a runner
    (`def map_parallel(fn, items): pool.imap(fn, items)`): a function callers pass there runs
    the way the runner runs it."""

    index: int


@dataclass(frozen=True)
class ScriptRef:
    """A project script run in a subprocess (`python scripts/x.py`), its path as written."""

    path: str


@dataclass(frozen=True)
class ModuleRef:
    """A project module run in a subprocess (`python -m pkg.job`)."""

    module: str


@dataclass(frozen=True)
class ClassRef:
    """A class handed to a framework that calls its HTTP-verb methods (a class-based view, a
    resource): an imported class by value path, or a class of the same module."""

    cls: ValueRef


@dataclass(frozen=True)
class TaskRef:
    """A task named by its dotted name (`"app.tasks.nightly"` in a Celery beat schedule)."""

    name: str


@dataclass(frozen=True)
class CollectionRef:
    """A local collection by name and the qualified name of the scope that binds it
    (`<unbound>` when nothing in the module does): a submit of the same one is a resubmit."""

    scope: str
    name: str

    def render(self) -> str:
        """The text output uses for it (finding fingerprints): `scope:name`."""
        return f"{self.scope}:{self.name}"


# What a name evaluates to when the call graph may resolve it: a decorator, a base class.
ValueRef = Union[str, LocalRef]
# What a call may run.
CallRef = Union[str, LocalRef, LocalInstance, ParamRef]
# What a call edge leads to: a call, a runner of the caller's parameter, a subprocess.
EdgeTarget = Union[CallRef, ArgRef, ScriptRef, ModuleRef]
# A positional argument the call graph follows into the callee's parameters ("" unknown).
ArgValue = Union[str, LocalInstance, ParamRef]
# What a registration hands to a framework or scheduler.
RegisteredRef = Union[ValueRef, ClassRef, TaskRef]
# What a module exports under a name: a value path, or an instance of one of its own classes
# (`service = Service()`, `def make(): return Claude()`).
ExportValue = Union[str, LocalInstance]
# Values exported for one factory, and paths one target resolves to through such factories:
# enough for a switch over every provider (a `match` of two dozen arms).
MAX_ALTERNATIVES = 32


# --------------------------------------------------------------------------------------------
# Per-file facts: a pure function of one file's content.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFacts:
    """The literal shape of one Messages-style request (keyword arguments or a params dict).

    `None` means "not visible statically", never "absent": rules only act on what is proven.
    """

    model: Optional[str] = None
    stream: Optional[bool] = None
    tools: bool = False
    tool_choice: Optional[str] = None
    max_tokens: Optional[int] = None
    speed: Optional[str] = None  # literal `speed` ("fast", "standard")
    betas: Tuple[str, ...] = ()
    purpose: Optional[str] = None  # OpenAI files.create(purpose=...)
    base_url: Optional[str] = None  # the server named by the call (`api_base=`) or its module (`openai.base_url = ...`)
    span_of: Tuple[Tuple[str, Span], ...] = ()  # where each key of SPANNED_KEYS present was written
    model_ref: Optional[str] = None  # value path of a model named in another module (`.config.MODEL`)
    model_env: Optional[str] = None  # the model is this environment variable's default (`os.getenv("M", "...")`)
    prompt_chars: Optional[int] = None  # characters of literal prompt text; None: no prompt visible
    prompt_unknown: Tuple[str, ...] = ()  # source of prompt parts whose size is not literal

    # The keys a finding can point at (WW104's sync-only options); only these get a span, since
    # positions are the costliest part of reading a request.
    SPANNED_KEYS: ClassVar[FrozenSet[str]] = frozenset({"stream", "speed", "max_tokens"})

    def key_span(self, key: str) -> Optional[Span]:
        assert key in self.SPANNED_KEYS, f"{key!r} has no span: add it to RequestFacts.SPANNED_KEYS"
        for name, span in self.span_of:
            if name == key:
                return span
        return None


@dataclass(frozen=True)
class CustomIdFact:
    """A request's `custom_id` expression, reduced to what the id rules can prove."""

    kind: str  # "literal" | "fstring" | "expr"
    source: str
    span: Span
    literal: Optional[str]  # the whole value when kind == "literal"
    literal_parts: Tuple[str, ...]  # the constant pieces of an f-string or concatenation
    varies: Optional[bool]  # True: changes per item; False: provably constant per item; None: unknown


@dataclass(frozen=True)
class BatchRequestFacts:
    """One request template of a batch submit: a dict literal, possibly built once per item."""

    span: Span
    custom_id: Optional[CustomIdFact]
    has_custom_id: Optional[bool]  # None when the dict is not fully visible (`**extra`)
    params: Optional[RequestFacts]
    repeated: bool  # built per item of a loop or comprehension
    count: Optional[int]  # how many requests this template yields, when literal


@dataclass(frozen=True)
class BatchInput:
    """Where a batch submit's `requests=` came from."""

    source: str  # "literal" | "comprehension" | "loop" | "helper" | "unknown"
    requests: Tuple[BatchRequestFacts, ...]
    count: Optional[int]  # total requests when every template's count is literal
    unbounded: Optional[str]  # source text of an unbounded iterable feeding the requests
    chunked: bool  # the requests are sliced, or the submit runs once per chunk
    collection: Optional[CollectionRef]  # the local collection submitted (for resubmits)


@dataclass(frozen=True)
class LoopFact:
    """A loop, comprehension or fan-out that encloses a call inside its function."""

    kind: str  # "for" | "while" | "comprehension" | "map" | "gather" | "executor"
    span: Span
    loop_id: int
    fanout: bool
    bounded: bool = False  # iterates a small literal range or list, or retries one call: not a collection


@dataclass(frozen=True)
class RawCall:
    """A call whose target resolved to an SDK path, or to a project name that might be one.

    `target` is a dotted value path where `()` marks a call, e.g.
    `anthropic.Anthropic().messages.batches.create`; a prefix naming another project module
    (`myapp.llm.client.messages.create`, or relative `.llm.client...`) is resolved later by
    the project index. A call on a plain function's parameter is a `ParamRef`, filled in by
    the call graph from what the function's callers pass.
    """

    call_id: int
    target: Union[str, ParamRef]
    span: Span
    function: str
    is_async: bool
    via: str  # how the receiver was resolved, for people reading the audit
    request: RequestFacts
    batch: Optional[BatchInput]
    loops: Tuple[LoopFact, ...]
    first_arg: str  # source text of the first positional argument ("" when none)
    status_guarded: bool = False  # runs only after a batch status check passed
    ui_region: int = 0  # line of the enclosing UI-event branch (`if st.button(...)`), 0 if none
    size_gated: bool = False  # on the small side of a size-gated router (`if len(xs) < N:`)
    prompted: bool = False  # an argument carries what a person typed at `input()` in this function
    guards: Tuple[ParamGuard, ...] = ()  # branches on the function's parameters the call sits in


@dataclass(frozen=True)
class PollLoopFact:
    """A loop that calls something and sleeps: a poll loop when a call is a batch poll."""

    span: Span
    call_ids: Tuple[int, ...]
    sleeps: Tuple[Tuple[Span, Optional[float], str], ...]  # (where, seconds if literal, source)
    deadline_seconds: Optional[float] = None  # when the loop gives up (attempts x sleep, or a timeout)


@dataclass(frozen=True)
class ResultReadFact:
    """Iteration over a call's results (for loop or comprehension) and what it does with them."""

    call_id: int
    span: Span
    message_uses: Tuple[Span, ...]  # `.result.message` reads
    type_checked: bool  # `.result.type` compared, matched or isinstance-checked
    bad_literals: Tuple[Tuple[Span, str], ...]  # type compared with a value the API never returns


@dataclass(frozen=True)
class BatchReadFact:
    """A read of a batch's results where the batch's status is known on the way there.

    Only written when every path to the read was followed from a create or retrieve of the batch
    in the same function (or a helper of the module whose effect is known).
    """

    span: Span
    call_id: int  # the results call; -1 for a read of a results attribute (a Gemini job's `dest`)
    statuses: Tuple[str, ...]  # the statuses the batch may be in here, over every provider's values
    origins: Tuple[int, ...]  # call ids of the creates / retrieves the paths start from
    checks: Tuple[int, ...]  # lines of the status checks passed on the way


@dataclass(frozen=True)
class PositionJoinFact:
    """Batch results matched with other values by position: `zip(items, results)`, `items[i]`."""

    call_id: int  # the results call whose output is joined
    span: Span
    how: str  # the joining code, for the message


@dataclass(frozen=True)
class RetryFact:
    """A retry mechanism wrapped around calls: a decorator, `Retrying()` or a hand-written loop."""

    kind: str  # "decorator" | "loop"
    span: Span
    describe: str
    call_ids: Tuple[int, ...]


@dataclass(frozen=True)
class SubmitUse:
    """A submit whose `requests` is a named local collection, for resubmission checks."""

    call_id: int
    collection: CollectionRef
    reassigned_in_loops: Tuple[int, ...]  # loop ids inside which the collection is (re)built


@dataclass(frozen=True)
class DecoratorFact:
    """A decorator: its resolved value path (`fastapi.FastAPI().post`) or a decorator of the
    same module ("" when unknown), and its keyword names."""

    path: ValueRef
    keywords: Tuple[str, ...]
    line: int
    period_hours: Optional[float] = None  # a schedule the decorator declares (`schedule=Cron(...)`)


@dataclass(frozen=True)
class FunctionFact:
    """A function or method, with what can make it an entry point."""

    qualname: str
    line: int
    is_async: bool
    decorators: Tuple[DecoratorFact, ...]
    class_name: str  # qualified name of the enclosing class, "" for plain functions
    params: Tuple[str, ...]
    pragma: Optional[Tuple[str, str]] = None  # ("blocking" | "tolerant", reason) from a comment


@dataclass(frozen=True)
class ClassFact:
    qualname: str
    line: int
    bases: Tuple[ValueRef, ...]


@dataclass(frozen=True)
class KeywordArg:
    """A keyword argument of a call edge (`Service(client=Anthropic())`), for the callee's
    parameter of that name."""

    name: str
    value: ArgValue


@dataclass(frozen=True)
class CallEdge:
    """A call from a function to something that may be a project function.

    `target` is a `LocalRef` for a function or method of the same module, otherwise mostly a
    value path the project index resolves (see `EdgeTarget`). `fanout` names the helper when
    the function is passed as a value to run once per item in parallel (`executor.map(fn, items)`).
    """

    caller: str  # qualified name, `<module>` or `<main>`
    target: EdgeTarget
    line: int
    loops: Tuple[LoopFact, ...]
    fanout: str = ""
    ui_region: int = 0  # line of the enclosing UI-event branch, 0 if none
    through: CallRef = ""  # for a function passed as an argument: the function it is passed to
    args: Tuple[ArgValue, ...] = ()  # positional arguments, for the callee's parameters
    keywords: Tuple[KeywordArg, ...] = ()  # keyword arguments whose value is known
    through_arg: int = -1  # position of the function among the arguments of `through`
    certain: bool = True  # False for dynamic dispatch (a registry, getattr): the call may run it
    size_gated: bool = False  # on the small side of a size-gated router (`if len(xs) < N:`)
    detached: bool = False  # the callee is started on its own thread: only a person waiting past it follows
    prompted: bool = False  # an argument carries what a person typed at `input()` in the caller
    guards: Tuple[ParamGuard, ...] = ()  # branches on the caller's parameters the call sits in
    passed: Optional[Passed] = None  # what a direct call passes (None: not known)
    subcommand: str = ""  # a handler set on a subcommand's parser runs only for that subcommand


@dataclass(frozen=True)
class RegistrationFact:
    """A function handed to a framework or scheduler: `path("x/", view)`, `add_task(fn)`."""

    kind: str  # a ContextKind's text (cached facts hold plain text)
    name: str  # what registered it, for people
    target: RegisteredRef
    line: int
    caller: str
    period_hours: Optional[float] = None  # for schedulers: how often it runs, when literal


@dataclass(frozen=True)
class LoopFlags:
    """Loops that change who waits: around `input()` (a person) or over `tool_use` turns."""

    loop_id: int
    function: str
    line: int
    interactive: bool
    tool_use: bool


@dataclass(frozen=True)
class SuppressionFact:
    """A suppression comment: `noqa`, `ignore` or `ignore-file`, with its codes (none = all)."""

    line: int
    col: int
    kind: str
    codes: Tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class ManifestEntry:
    """Something outside the Python code that runs code: a CI job, a cron line, a hook, a
    serverless function's event.

    `kind` is a context kind; `command` is the shell text to resolve to project code, run in
    `cwd` (relative to the project root). `period_hours` is the schedule's period when known,
    `deadline_hours` the time the runner gives the job before killing it, when declared.
    """

    path: str
    line: int
    kind: str
    trigger: str  # "on: pull_request", "schedule: 0 2 * * *", "crontab", ...
    command: str
    command_line: int
    cwd: str = ""
    period_hours: Optional[float] = None
    deadline_hours: Optional[float] = None
    function: str = ""  # `path.py:function` a deploy manifest names as the handler (no command)
    command_path: str = ""  # the file `command_line` is in, when not `path` (a local action's action.yml or Dockerfile)


@dataclass(frozen=True)
class FileFacts:
    """Everything the later stages need from one file; `error` is set when it was not analysed."""

    calls: Tuple[RawCall, ...] = ()
    # Module-level key -> what it is, for other modules (`facts.exports`); a factory that
    # returns different things on different paths has its key once per value, in source order.
    exports: Tuple[Tuple[str, ExportValue], ...] = ()
    constants: Tuple[Tuple[str, str], ...] = ()  # module-level key -> literal string (`MODEL`, `Settings.model`)
    env_constants: Tuple[Tuple[str, str], ...] = ()  # key -> environment variable whose default the constant is
    polls: Tuple[PollLoopFact, ...] = ()
    result_reads: Tuple[ResultReadFact, ...] = ()
    batch_reads: Tuple[BatchReadFact, ...] = ()
    position_joins: Tuple[PositionJoinFact, ...] = ()
    retries: Tuple[RetryFact, ...] = ()
    submits: Tuple[SubmitUse, ...] = ()
    functions: Tuple[FunctionFact, ...] = ()
    classes: Tuple[ClassFact, ...] = ()
    edges: Tuple[CallEdge, ...] = ()
    registrations: Tuple[RegistrationFact, ...] = ()
    loop_flags: Tuple[LoopFlags, ...] = ()
    ui_script: bool = False  # imports a UI-script framework (Streamlit): the top level is a page
    main_line: int = 0  # line of `if __name__ == "__main__":`, 0 when absent
    imports: Tuple[str, ...] = ()  # modules (or members) named by import statements, maybe relative
    suppressions: Tuple[SuppressionFact, ...] = ()
    mocks: bool = False  # uses mocking tools (unittest.mock, pytest-mock, respx...): tests fake the API
    error: Optional[str] = None
    # Where the file stops parsing, as CPython reports it (1-based line and column); 0 when
    # the file was not analysed for another reason (encoding, size, nesting).
    error_line: int = 0
    error_col: int = 0


# --------------------------------------------------------------------------------------------
# Project level: call sites resolved across modules.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceFile:
    """A discovered file: its absolute location and its `/`-separated path from the root."""

    abspath: str
    relpath: str


@dataclass(frozen=True)
class Operation:
    """What an SDK method does, from the knowledge tables."""

    provider: str
    client: str
    kind: str  # an OperationKind (the facts stage may still hand its text, which compares equal)
    method: str
    batch_supported: bool


@dataclass(frozen=True)
class ContextFact:
    """One reason a site runs: a context kind reached from an entry point, with evidence."""

    kind: ContextKind
    blocking: bool
    entry: str
    evidence: Tuple["EvidenceStep", ...] = ()
    per_item: str = ""  # where the call runs once per item of a collection, if it does
    fanout: bool = False  # the per-item runs are spread over threads or tasks
    looped: bool = False  # some hop on the way is inside a loop (while loops included)
    period_hours: Optional[float] = None  # how often the entry runs, for scheduled contexts
    deadline_hours: Optional[float] = None  # how long the runner lets it run, when declared
    from_test: bool = False  # the entry is a test function: tests fake the API more often than not
    certain: bool = True  # every hop is a certain call; errors (WW1xx) need certain paths
    thread: str = ""  # the function a thread started on the way runs ("" = the entry's own thread)


@dataclass(frozen=True)
class ModelPrice:
    """One model's list prices in USD per million tokens, from a dated price table."""

    provider: str
    name: str
    patterns: Tuple[str, ...]  # model ids (globs) the price applies to
    input: float
    output: float
    batch_input: float
    batch_output: float
    cache_read: Optional[float]
    source: str


@dataclass(frozen=True)
class PriceTable:
    """The price table in force: built-in, or a user file (`prices` in the configuration)."""

    date: str
    source: str
    models: Tuple[ModelPrice, ...]


@dataclass(frozen=True)
class CostEstimate:
    """What 1,000 calls of a site cost, from what the code shows; `unknown` says what it does not.

    Input tokens count literal prompt text (characters / 4); output tokens are the literal
    `max_tokens` (the most a call can be billed for). Dollars are None unless the model is
    priced and `max_tokens` is literal.
    """

    model: Optional[str]
    input_tokens: Optional[int]
    output_tokens: Optional[int]
    usd_per_1k_calls: Optional[float]
    batch_usd_per_1k_calls: Optional[float]
    unknown: Tuple[str, ...]
    price_date: str = ""

    @property
    def saving_per_1k_calls(self) -> Optional[float]:
        if self.usd_per_1k_calls is None or self.batch_usd_per_1k_calls is None:
            return None
        return self.usd_per_1k_calls - self.batch_usd_per_1k_calls


@dataclass(frozen=True)
class CallSite:
    """A call that reaches an LLM API, with everything the rules and reports need."""

    path: str
    call: RawCall
    op: Operation
    contexts: Tuple[ContextFact, ...] = ()
    cost: Optional[CostEstimate] = None

    @property
    def deciding_contexts(self) -> Tuple["ContextFact", ...]:
        """Who waits in production decides: tests only count when nothing else reaches the site."""
        return tuple(c for c in self.contexts if not c.from_test) or self.contexts

    @property
    def verdict(self) -> str:
        if not self.contexts:
            return "unknown"
        return "blocking" if any(c.blocking for c in self.deciding_contexts) else "tolerant"

    @property
    def line(self) -> int:
        return self.call.span.line

    @property
    def col(self) -> int:
        return self.call.span.col


@dataclass(frozen=True)
class EvidenceStep:
    """One hop of an evidence chain: where, and what happens there."""

    path: str
    line: int
    note: str


@dataclass(frozen=True)
class PolicyAlternative:
    """One `[when]` table of a policy rule: conditions over site facts, and its message."""

    conditions: Tuple[Tuple[str, object], ...]
    message: str


@dataclass(frozen=True)
class RuleMeta:
    """A rule's catalog entry, loaded from its TOML file under `rules/`."""

    code: str
    name: str
    severity: str
    summary: str
    rationale: str
    fix: str
    seed: str
    bad: str = ""
    good: str = ""
    source: str = ""  # the TOML file it came from
    policy: Tuple[PolicyAlternative, ...] = ()  # a data rule's `[when]` alternatives
    builtin: bool = True
    autofix: Optional["AutofixMeta"] = None  # the rule's `[autofix]` table: what its fix does and how safe


@dataclass(frozen=True)
class AutofixMeta:
    """A rule's `[autofix]` table. `safety` is "safe", "unsafe" or "none" (no fix, `why` explains);
    a policy rule's template sets (`set`) or drops (`drop`) keyword arguments of its call."""

    safety: str
    why: str
    set: Tuple[Tuple[str, object], ...] = ()
    drop: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Edit:
    """Replace the text from (line, col) to (end_line, end_col) (1-based, end exclusive) with `content`."""

    line: int
    col: int
    end_line: int
    end_col: int
    content: str


@dataclass(frozen=True)
class FixInfo:
    """A fix offered for a finding: `safe` keeps behaviour, `unsafe` changes it (ruff's contract)."""

    applicability: str  # "safe" | "unsafe"
    message: str
    edits: Tuple[Edit, ...]


@dataclass(frozen=True)
class Finding:
    """A reported problem at a place in the project."""

    code: str
    name: str
    severity: str
    path: str
    line: int
    col: int
    message: str
    evidence: Tuple[EvidenceStep, ...] = ()
    fingerprint: str = ""
    end_line: int = 0  # where the reported expression ends (0: not known)
    end_col: int = 0
    # Why a finding outside the files checked or the changed lines is reported: the step of its
    # evidence chain that is in scope, noting why (`changed since HEAD`); None when it is its own.
    brought_in_by: Optional[EvidenceStep] = None
    justification: str = ""  # for a suppressed finding: the reason its suppression comment gives
    fix: Optional[FixInfo] = None  # set by the fix engine when a fix exists

    def in_scope(self, contains: Callable[[str, int], bool], why: str) -> Optional[Finding]:
        """This finding when its place or a step of its evidence chain is in scope.

        `contains(path, line)` says what is in scope (the files checked, the changed lines). A
        change in another file (a new route that calls a batch job) can cause a finding far from
        it, so the finding counts when any step of its chain is in scope; it is still reported
        at its own place, with the step that brought it in and `why` that step counts.
        """
        if contains(self.path, self.line):
            return self
        for step in self.evidence:
            if contains(step.path, step.line):
                return replace(self, brought_in_by=EvidenceStep(step.path, step.line, why))
        return None


@dataclass(frozen=True)
class RunRecord:
    """A whole run's outcome as the run cache keeps it: what `check` reports when nothing it
    read has changed (see `pipeline.analyze`). `inputs` fingerprints the state of every path in
    `watched`: what the run listed and read."""

    inputs: str
    sites: Tuple[CallSite, ...]
    findings: Tuple[Finding, ...]
    suppressed: Tuple[Finding, ...]
    files_scanned: int
    files_parsed: int
    report_paths: Optional[Tuple[str, ...]] = None
    # Folders listed, ignore files and Python and manifest files found, files a manifest reader
    # opened (a composite action), relative to the root.
    watched: Tuple[str, ...] = ()


@dataclass(frozen=True)
class RenderedRun:
    """What `check` printed from one run record in one view (the output format and the options
    that shape its bytes): a re-run in the same view over an unchanged tree prints it again
    without decoding the record's sites and findings or loading the output formats.
    `inputs` and `watched` are the record's (see `RunRecord`)."""

    inputs: str
    watched: Tuple[str, ...]
    view: str
    stdout: str
    stderr: str
    exit_code: int


@dataclass
class Project:
    """The project index handed to the checks: every site and every file's facts."""

    root: str
    sites: Tuple[CallSite, ...]
    facts: Dict[str, FileFacts]  # relpath -> facts
    poll_interval_min: float = 30.0

    def __post_init__(self) -> None:
        self._by_call = {(s.path, s.call.call_id): s for s in self.sites}

    def site_for(self, path: str, call_id: int) -> Optional[CallSite]:
        """The site a file's raw call became, if it resolved to an LLM operation."""
        return self._by_call.get((path, call_id))
