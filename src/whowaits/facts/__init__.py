"""Per-file facts: bytes in, `FileFacts` out, a pure function of the file's content.

Nothing here knows the file's path or the rest of the project, so results can be cached by
content hash and computed in worker processes. Cross-module questions (what does
`from .llm import client` hold?) are left as value paths for the project index to finish.
"""

from __future__ import annotations

import ast
import gc
import os
import queue
import re
import sys
import threading
import traceback
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple, Union

from whowaits.core import FileFacts, LoopFact, ParamGuard, ParamRef, RawCall

if TYPE_CHECKING:
    from whowaits.facts.positions import CodeFor
    from whowaits.facts.scopes import CallInfo, ModuleIndex, Scope
    from whowaits.facts.values import Evaluator, Ext as ExtValue

MAX_FILE_BYTES = 5 * 1024 * 1024
# Work per file is bounded by what the file holds, not by bytes alone: 80,000 tokens (the
# largest hand-written modules, e.g. a type checker's 450 KB checker) keep one worker's syntax
# tree and indexes bounded. Counted before any parse (`_token_count`).
MAX_TOKENS = 80_000
# A token is a run of ASCII word bytes or one other byte that is not white space (the regex
# `[A-Za-z_0-9]+|[^\s\w]`). Each byte maps to its class: `w` word, space, `.` other.
_TOKEN_CLASSES = bytes(
    ord("w") if chr(b).isascii() and (chr(b).isalnum() or chr(b) == "_")
    else ord(" ") if chr(b) in " \t\n\r\x0b\x0c" else ord(".")
    for b in range(256)
)
SMALL_LOOP = 10  # a loop over at most this many literal items is a retry or a fixed set, not bulk
SMALL_GATE = 50  # `if len(xs) < N:` with N up to this (or not literal) routes small groups on purpose
# Syntax-tree depth. CPython's own parser refuses deeper input before this; long elif chains
# and string concatenations are deep but ordinary, so the walk below runs on a thread whose
# stack and recursion limit are sized for this bound instead of the interpreter's defaults.
MAX_NESTING = 4000
_STACK_BYTES = 512 * 1024 * 1024
_RECURSION_LIMIT = 50 * MAX_NESTING
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def decode_problem(source: bytes) -> Optional[str]:
    """Why a file's bytes cannot be analysed, or None. Honours PEP 263 coding cookies."""
    if len(source) > MAX_FILE_BYTES:
        return f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"
    if b"\x00" in source:
        return "file contains NUL bytes"
    encoding = _encoding(source)
    try:
        source.decode(encoding)
    except LookupError:
        return f"unknown source encoding {encoding!r}"
    except UnicodeDecodeError as exc:
        line = source[: exc.start].count(b"\n") + 1
        return f"not valid {encoding} (line {line})"
    return None


def quiet_parse(source: bytes) -> ast.Module:
    """`ast.parse` without the SyntaxWarnings CPython 3.12+ prints for the scanned code's own
    oddities (`"\\{"`, an invalid escape): they are about that code, not whowaits' output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


def _checked_tree(source: bytes, tokens: int) -> Tuple[Optional[str], Optional[ast.Module], Optional[FileFacts]]:
    """(problem, tree, syntax error): CPython's parse of the file, or why it is too deep to
    analyse, and CPython's syntax error (message, line and column) when it has one.

    Each level of a syntax tree costs at least one token, bar the expression context leaf and
    the module and statement wrappers, so a file with few tokens cannot be too deep and skips
    the walk that measures depth. Likewise each level of an expression takes at least one byte
    of it, so the walk measures only expressions longer than the depth left (see `_too_deep`).
    """
    try:
        tree = quiet_parse(source)
    except (RecursionError, MemoryError):
        return "too deeply nested to parse", None, None
    except SyntaxError as exc:
        if "too many" in str(exc.msg):  # nested parentheses, indentation levels
            return f"syntax error at line {exc.lineno}: {exc.msg}", None, None
        return None, None, _syntax_error(exc.msg, exc.lineno or 1, exc.offset or 1)
    except ValueError as exc:  # source with characters the tokenizer refuses
        return f"cannot parse: ValueError: {exc}".splitlines()[0], None, None
    if 2 * tokens + 16 < MAX_NESTING or not _too_deep(tree, source):
        return None, tree, None
    return f"too deeply nested to analyse (more than {MAX_NESTING} levels)", None, None


_LONE_CR = re.compile(rb"\r(?!\n)")


def _too_deep(tree: ast.Module, source: bytes) -> bool:
    """Whether the tree has more than MAX_NESTING levels.

    An expression's subtree is at most as deep as the expression is long in bytes, plus two
    (its context leaf, the starred or keyword wrapper of an argument): every other level takes
    at least a byte of its own (an operator, a dot, a bracket, a keyword). So an expression
    shorter than the levels left is not walked: only statements, which nest by indentation and
    `elif`, and the rare expressions longer than about 4,000 bytes are. The byte offsets come
    from `ast`'s lines; a lone carriage return, which CPython may count as a line break, makes
    the walk measure every node instead.
    """
    starts = [0]
    for line in source.split(b"\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    measured = _LONE_CR.search(source) is None
    stack: List[Tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            return True
        for name in node._fields:  # ast.iter_child_nodes, without its generator per node
            value = getattr(node, name, None)
            for item in value if type(value) is list else (value,):
                if not isinstance(item, ast.AST):
                    continue
                if measured and isinstance(item, ast.expr) and item.end_lineno is not None and item.end_lineno <= len(starts):
                    length = starts[item.end_lineno - 1] + (item.end_col_offset or 0) - starts[item.lineno - 1] - item.col_offset
                    if depth + 1 + length + 2 < MAX_NESTING:
                        continue
                stack.append((item, depth + 1))
    return False


def _syntax_error(message: str, line: int, col: int) -> FileFacts:
    return FileFacts(error=f"syntax error at line {line}, column {col}: {message}", error_line=line, error_col=col)


def preload() -> None:
    """Load what `extract` uses: each facts worker does it as it starts, while the parent
    still screens the files (`pipeline.facts_pool`), so no first file waits for the imports."""
    from whowaits import suppress  # noqa: F401
    from whowaits.facts import batchflow, entrypoints, exports, lifecycle, positions, requests  # noqa: F401


def extract(source: bytes) -> FileFacts:
    """Parse one file and return its facts; a file that cannot be analysed says why in `error`.

    Runs on a thread kept for it, with a large stack, under a high recursion limit (restored
    after), so deep but valid code is analysed rather than reported.

    Python's cyclic collector is paused while one file is analysed and run once, on the young
    generation, after it. A file's analysis leaves no cycles (`ModuleIndex.release`), so its
    syntax tree (about 4,000 objects per 100 lines) is freed by reference counting as soon as
    its facts are out, and that collection only meets the odd small cycle. Left running, the
    collector would traverse the live tree again and again while the file is analysed; with a
    cycle left, the one collection traverses the whole tree (a tenth of the facts stage). A
    caller that paused the collector itself gets the garbage back to collect when it chooses.
    """
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, _RECURSION_LIMIT))
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _FactsThread.of_this_process().run(source)
    finally:
        sys.setrecursionlimit(old_limit)
        if collecting:
            gc.enable()
            gc.collect(0)


class _FactsThread:
    """The thread with a large stack that analyses files, one per process and kept: a thread
    started per file, with its 512 MB of reserved stack, cost about a tenth of a millisecond a
    file. A forked child does not have its parent's thread, so each process starts its own."""

    _current: Optional["_FactsThread"] = None

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._sources: "queue.SimpleQueue[bytes]" = queue.SimpleQueue()
        self._facts: "queue.SimpleQueue[FileFacts]" = queue.SimpleQueue()
        self._turn = threading.Lock()  # one question at a time: answers come back in order
        old_stack = threading.stack_size(_STACK_BYTES)
        try:
            threading.Thread(target=self._serve, name="whowaits-facts", daemon=True).start()
        finally:
            threading.stack_size(old_stack)

    @classmethod
    def of_this_process(cls) -> "_FactsThread":
        current = cls._current
        if current is None or current.pid != os.getpid():
            current = cls._current = cls()
        return current

    def run(self, source: bytes) -> FileFacts:
        with self._turn:
            self._sources.put(source)
            return self._facts.get()

    def _serve(self) -> None:
        while True:
            source = self._sources.get()
            try:
                facts = _extract_all(source)
            except BaseException:  # the caller waits for an answer, whatever happened
                facts = FileFacts(error="internal error (facts thread failed); please report it")
            self._facts.put(facts)


def _extract_all(source: bytes) -> FileFacts:
    facts = _extract(source)
    if facts.error is None or b"\x00" in source:
        return facts
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError:
        return facts
    from whowaits.suppress import parse_suppressions

    return replace(facts, suppressions=parse_suppressions(text))


def _extract(source: bytes) -> FileFacts:
    problem = decode_problem(source)
    if problem is not None:
        return FileFacts(error=problem)
    tokens = _token_count(source)
    if tokens > MAX_TOKENS:
        return FileFacts(error=f"too much code to analyse in one file ({tokens:,} tokens; the limit is {MAX_TOKENS:,})")
    nesting, tree, cpython_error = _checked_tree(source, tokens)
    if nesting is not None:
        return FileFacts(error=nesting)
    if tree is None:
        if cpython_error is not None and _newer_syntax(source):
            running = f"{sys.version_info[0]}.{sys.version_info[1]}"
            return FileFacts(error=f"written for a newer Python than the {running} whowaits runs on ({cpython_error.error}); "
                                   "run whowaits under the project's Python to analyse it")
        return cpython_error or FileFacts(error="cannot parse")
    return _analysed(tree, _decoded(source))


def _token_count(source: bytes) -> int:
    """The tokens of `_TOKEN_CLASSES`: the other bytes, plus one per run of word bytes (each
    starts the text or follows another class). A translation and four counts in C, where
    listing the regex's matches cost 4% of the facts stage."""
    classes = source.translate(_TOKEN_CLASSES)
    return classes.count(b".") + classes.count(b" w") + classes.count(b".w") + classes.startswith(b"w")


def _newer_syntax(source: bytes) -> bool:
    """Whether a file CPython refuses is valid Python of a later version (`type X = ...`,
    `def f[T]`, quotes nested in an f-string under 3.11; `match` under 3.9): libcst's parser
    reads every version's grammar. Such a file is not broken, only out of this interpreter's
    reach: a warning that says so, not a syntax error. Only refused files get here, after
    CPython's parser has turned away input nested too deep for libcst's."""
    import libcst

    try:
        libcst.parse_module(source)
    except Exception:  # a real syntax error, or input libcst's parser refuses otherwise
        return False
    return True


def _encoding(source: bytes) -> str:
    """The encoding a PEP 263 coding cookie on the first two lines names, else UTF-8."""
    for first_line in source.splitlines()[:2]:
        match = _CODING.match(first_line)
        if match:
            return match.group(1).decode("ascii", "replace")
    return "utf-8"


def _decoded(source: bytes) -> str:
    """The file's text, decoded as CPython decodes it (a coding cookie, a byte order mark)."""
    encoding = _encoding(source)
    if source.startswith(b"\xef\xbb\xbf"):
        source = source[3:]
    return source.decode(encoding, errors="replace")


def _analysed(tree: ast.Module, text: str) -> FileFacts:
    """The facts of one parsed module; a bug in whowaits costs one file, not the run."""
    try:
        return _facts_of(tree, text)
    except RecursionError:
        return FileFacts(error="too deeply nested to analyse")
    except Exception as exc:  # a bug in whowaits must cost one file, not the whole run
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return FileFacts(
            error=f"internal error ({type(exc).__name__} at {os.path.basename(where.filename)}:"
            f"{where.lineno}); please report it"
        )


def _called_through(info: "CallInfo", wrapper: "ExtValue", evaluator: "Evaluator") -> "Optional[Tuple[ExtValue, bool]]":
    """`asyncio.to_thread(client.messages.create, ...)`: the SDK method passed to a runner."""
    from whowaits.facts.calls import call_through
    from whowaits.facts.syntax import positional
    from whowaits.facts.values import Ext

    found = call_through(wrapper.path)
    if found is None:
        return None
    position, parallel = found
    given = positional(info.node)
    if position < len(given):
        target = evaluator.eval(given[position], info.scope)
        if isinstance(target, Ext):
            return target, parallel
    return None


def _first_argument(info: "CallInfo", evaluator: "Evaluator", code_for: "CodeFor") -> str:
    """Source of a call's first positional argument (or its `file=` / `file_id=` keyword), or of
    the value a local name passed there was assigned: `files.content(fid)` after
    `fid = batch.output_file_id` reads a batch's output."""
    from whowaits.facts.syntax import positional

    chosen = next(iter(positional(info.node)), None)
    if chosen is None:
        chosen = next((k.value for k in info.node.keywords if k.arg in ("file", "file_id")), None)
    if chosen is None:
        return ""
    if isinstance(chosen, ast.Name):
        bindings = evaluator.lookup(chosen.id, info.scope) or []
        if len(bindings) == 1 and bindings[0].kind == "assign" and isinstance(bindings[0].node, ast.Attribute):
            return code_for(bindings[0].node)
    return code_for(chosen)


def _module_client(target: str) -> bool:
    """A call through an SDK module used as its own client (`openai.ChatCompletion.create`)."""
    from whowaits.facts.calls import sdk_root
    from whowaits.knowledge.sdk import MODULE_CLIENTS

    return sdk_root(target) in MODULE_CLIENTS and "()" not in target


def _module_base_url(index: "ModuleIndex", evaluator: "Evaluator") -> Optional[str]:
    """`openai.base_url = "http://localhost:8000/v1"` (or `api_base`): the server every call
    through a module-level client of this file goes to, when its scheme and host are literal."""
    from whowaits.facts.calls import literal_url
    from whowaits.facts.values import Ext
    from whowaits.knowledge.sdk import ENDPOINT_KEYWORDS, MODULE_CLIENTS

    for owner, attr, value, scope in index.attribute_sets:
        if attr not in ENDPOINT_KEYWORDS:
            continue
        module = evaluator.name_value(owner, scope)
        if isinstance(module, Ext) and module.path in MODULE_CLIENTS:
            url = literal_url(value, evaluator, scope)
            if url:
                return url
    return None


def _facts_of(tree: ast.Module, text: str) -> FileFacts:
    from whowaits.facts.scopes import ModuleIndex

    index = ModuleIndex(text.encode("utf-8", "surrogatepass"))
    index.walk(tree)
    try:
        return _indexed_facts(tree, text, index)
    finally:
        index.release()


def _indexed_facts(tree: ast.Module, text: str, index: "ModuleIndex") -> FileFacts:
    from whowaits.facts.calls import classify, http_target, may_be_site, sdk_root
    from whowaits.facts.entrypoints import ProgramReader, Sequences, param_call, param_guards, prompted_calls
    from whowaits.suppress import parse_suppressions
    from whowaits.facts.exports import module_constants, module_exports
    from whowaits.facts.batchflow import BatchFlow
    from whowaits.facts.lifecycle import LifecycleReader, retries_one_call
    from whowaits.facts.positions import CodeFor
    from whowaits.facts.requests import RequestReader
    from whowaits.facts.syntax import positional
    from whowaits.knowledge.frameworks import UI_SCRIPT_MODULES
    from whowaits.facts.values import Evaluator, Ext, Lit
    from whowaits.knowledge.libraries import FANOUT_FUNCTIONS, FANOUT_METHODS
    from whowaits.knowledge.sdk import FANOUT_OPERATIONS

    evaluator = Evaluator(index.module_scope, index.calls, index.fstring_parts)
    code_for = CodeFor(index, text)
    reader = RequestReader(index, evaluator, code_for)

    loop_cache: Dict[int, Optional[LoopFact]] = {}

    def loop_fact(loop_id: int) -> Optional[LoopFact]:
        """What a loop means for the calls inside it; None for a lambda that is not run per item."""
        if loop_id in loop_cache:
            return loop_cache[loop_id]
        info = index.loops[loop_id]
        kind, fanout = info.kind, False
        if info.parent_call is not None:
            parent = evaluator.eval(info.parent_call.func, info.scope)
            path = parent.path.rstrip("()") if isinstance(parent, Ext) else ""
            for prefix, fan_kind in FANOUT_FUNCTIONS:
                if path == prefix:
                    kind, fanout = fan_kind, True
            last = path.rsplit(".", 1)[-1]
            if last in FANOUT_METHODS and ("Executor" in path or "Pool" in path):
                kind, fanout = "executor", True
            func = info.parent_call.func
            if not fanout and isinstance(func, ast.Name) and func.id in ("map", "filter") and evaluator.lookup(func.id, info.scope) is None:
                kind = "map"
        bounded = False
        node = info.node
        iterable = node.iter if isinstance(node, (ast.For, ast.AsyncFor)) else None
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            iterable = node.generators[0].iter
        if iterable is not None:
            count = reader.iteration_count(iterable, info.scope)
            bounded = (count is not None and count <= SMALL_LOOP) or retries_one_call(info.node, evaluator, info.scope)
        result = None if kind == "lambda-map" else LoopFact(kind, code_for.span(info.node), loop_id, fanout, bounded)
        loop_cache[loop_id] = result
        return result

    sequences = Sequences(index)
    guard_cache: Dict[int, Tuple[ParamGuard, ...]] = {}

    def guards_of(info: "CallInfo") -> Tuple[ParamGuard, ...]:
        """The branches on its function's parameters a call sits in (`param_guards`), worked
        out once, and only for a call that becomes a site or an edge."""
        if not info.conditions:
            return ()
        found = guard_cache.get(id(info.node))
        if found is None:
            found = guard_cache[id(info.node)] = param_guards(info, evaluator)
        return found

    def loops_of(info: "CallInfo") -> Tuple[LoopFact, ...]:
        """The loops around a call; one whose passes feed each other through it (each needs an
        answer of the one before) is not per item for it."""
        facts = tuple(fact for fact in map(loop_fact, info.loops) if fact is not None)
        carried = sequences.loops(info) if facts else set()
        return tuple(replace(f, bounded=True) if f.loop_id in carried else f for f in facts) if carried else facts

    def ui_region(info: "CallInfo") -> int:
        """The line of the innermost `if` whose test is a UI event (`st.button(...)`), or 0."""
        for branch in reversed(info.branches):
            test = branch.test
            calls = [test] if isinstance(test, ast.Call) else []
            calls += [n for n in _operands(test) if isinstance(n, ast.Call)]
            for call in calls:
                value = evaluator.eval(call.func, info.scope)
                if isinstance(value, Ext) and value.path.split(".")[0] in UI_SCRIPT_MODULES:
                    return code_for.span(branch).line
        return 0

    def size_gated(info: "CallInfo") -> bool:
        """On the small side of a size-gated router: sync for a few items is the right choice
        there (the other side batches); a literal threshold must be small."""
        for threshold in info.size_gates:
            value = evaluator.eval(threshold, info.scope)
            if not (isinstance(value, Lit) and isinstance(value.value, (int, float)) and value.value > SMALL_GATE):
                return True
        return False

    module_url = _module_base_url(index, evaluator)
    prompted = prompted_calls(index, evaluator)
    calls: List[Tuple["CallInfo", RawCall]] = []
    for info in index.calls:
        value = evaluator.eval(info.node.func, info.scope)
        through = _called_through(info, value, evaluator) if isinstance(value, Ext) else None
        extra_loops: Tuple[LoopFact, ...] = ()
        targets: List[Union[str, ParamRef]] = []
        if through is not None:
            value, parallel = through
            if parallel:
                extra_loops = (LoopFact("executor", code_for.span(info.node), -1, True),)
            if isinstance(value, Ext):
                targets = [value.path]
        elif isinstance(value, Ext) and (http := http_target(value.path, info.node, evaluator, info.scope)):
            targets = [http]
        elif isinstance(value, Ext):
            # A receiver bound to different clients in different branches is each of them.
            targets = [v.path for v in evaluator.alternatives(info.node.func, info.scope) if isinstance(v, Ext)]
            targets = targets if value.path in targets else [value.path, *targets]
        if value is None and through is None:
            # `def call(client, ...): client.messages.create(...)` with callers in other modules:
            # the project index fills the parameter in from each caller's argument.
            param = param_call(info.node.func, evaluator, info.scope, plain=True)
            targets = [param] if param else []
        targets = [t for t in targets if may_be_site("param." + t.rest if isinstance(t, ParamRef) else t)]
        if not targets:
            continue
        items = reader.call_items(info.node, info.scope)
        request = reader.request_facts(items)
        if module_url and request.base_url is None and any(isinstance(t, str) and _module_client(t) for t in targets):
            request = replace(request, base_url=module_url)
        method = info.node.func.attr if isinstance(info.node.func, ast.Attribute) else ""
        if method in FANOUT_OPERATIONS and not extra_loops:
            # LangChain's `.batch(inputs)`: one synchronous call per input, on a thread pool.
            inputs = next(iter(positional(info.node)), None)
            count = reader.iteration_count(inputs, info.scope) if inputs is not None else None
            if count is None or count > SMALL_LOOP:
                kind = "gather" if method.startswith("a") else "executor"
                extra_loops = (LoopFact(kind, code_for.span(info.node), -1, True),)
        first_arg = _first_argument(info, evaluator, code_for)
        targets = [t for t in targets if isinstance(t, ParamRef) or sdk_root(t) is None or classify(t, request, first_arg) is not None]
        if not targets:
            continue
        func = info.scope
        while func.kind == "class" and func.parent is not None:
            func = func.parent
        receiver = info.node.func.value if isinstance(info.node.func, ast.Attribute) else info.node.func
        batch = reader.batch_input(info.node, info.scope, info.loops)
        for target in targets:
            raw = RawCall(
                call_id=len(calls),
                target=target,
                span=code_for.span(info.node),
                function=info.caller,
                is_async=bool(func.func is not None and func.func.is_async),
                via=code_for(receiver),
                request=request,
                batch=batch,
                loops=loops_of(info) + extra_loops,
                first_arg=first_arg,
                status_guarded=info.guarded,
                ui_region=ui_region(info),
                size_gated=size_gated(info),
                prompted=id(info.node) in prompted,
                guards=guards_of(info),
            )
            calls.append((info, raw))

    constants, env_constants = module_constants(index, evaluator)
    lifecycle = LifecycleReader(index, evaluator, code_for, calls)
    flow = BatchFlow(index, evaluator, code_for, calls)
    def few_items(expr: ast.expr, scope: "Scope") -> bool:
        """A collection of at most SMALL_LOOP literal items: mapping over it is a fixed set."""
        count = reader.iteration_count(expr, scope)
        return count is not None and count <= SMALL_LOOP

    program = ProgramReader(index, evaluator, code_for, text, loops_of, ui_region, size_gated, few_items, guards_of, prompted)
    edges, registrations = program.edges_and_registrations()
    return FileFacts(
        functions=program.functions(),
        classes=program.classes(),
        edges=edges,
        registrations=registrations,
        loop_flags=program.loop_flags(),
        ui_script=program.ui_script(),
        main_line=program.main_line(),
        suppressions=parse_suppressions(text),
        imports=tuple(sorted(set(index.imported))),
        mocks=program.mocks(),
        calls=tuple(raw for _, raw in calls),
        exports=module_exports(index, evaluator),
        constants=constants,
        env_constants=env_constants,
        polls=lifecycle.polls(),
        result_reads=lifecycle.result_reads(),
        batch_reads=flow.facts(),
        position_joins=lifecycle.position_joins(),
        retries=lifecycle.retries(),
        submits=lifecycle.submits(),
    )


def _operands(test: ast.expr) -> List[ast.AST]:
    """The nodes right under a condition, as the passes were written to read them: an `and` or
    `or` of more than two operands nests to the left (`(a and b) and c`), so only its last
    operand is right under it."""
    from whowaits.facts.syntax import child_nodes

    if isinstance(test, ast.BoolOp) and len(test.values) > 2:
        return [test.values[-1]]
    return child_nodes(test)
