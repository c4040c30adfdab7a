"""Per-file facts: bytes in, `FileFacts` out, a pure function of the file's content.

Nothing here knows the file's path or the rest of the project, so results can be cached by
content hash and computed in worker processes. Cross-module questions (what does
`from .llm import client` hold?) are left as value paths for the project index to finish.
"""

from __future__ import annotations

import ast
import gc
import os
import re
import sys
import threading
import traceback
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, Optional, Tuple, Union

from whowaits.core import FileFacts, LoopFact, ParamRef, RawCall

if TYPE_CHECKING:
    import libcst

    from whowaits.facts.from_ast import Built
    from whowaits.facts.scopes import CallInfo, ModuleIndex, Scope
    from whowaits.facts.values import Evaluator, Ext as ExtValue

MAX_FILE_BYTES = 5 * 1024 * 1024
# Work per file is bounded by what the file holds, not by bytes alone: libcst's tree costs about
# 3 KB per token, so 80,000 tokens (the largest hand-written modules, e.g. a type checker's
# 450 KB checker) stay near 250 MB in one worker. Counting is one regex pass, before any parse.
MAX_TOKENS = 80_000
_TOKEN = re.compile(rb"[A-Za-z_0-9]+|[^\s\w]")
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
    encoding = "utf-8"
    for first_line in source.splitlines()[:2]:
        match = _CODING.match(first_line)
        if match:
            encoding = match.group(1).decode("ascii", "replace")
            break
    try:
        source.decode(encoding)
    except LookupError:
        return f"unknown source encoding {encoding!r}"
    except UnicodeDecodeError as exc:
        line = source[: exc.start].count(b"\n") + 1
        return f"not valid {encoding} (line {line})"
    return None


_BODIES = {
    ast.FunctionDef: ("body",), ast.AsyncFunctionDef: ("body",), ast.ClassDef: ("body",),
    ast.If: ("body", "orelse"), ast.For: ("body", "orelse"), ast.AsyncFor: ("body", "orelse"),
    ast.While: ("body", "orelse"), ast.With: ("body",), ast.AsyncWith: ("body",),
    ast.Try: ("body", "handlers", "orelse", "finalbody"),
}
if sys.version_info >= (3, 11):
    _BODIES[ast.TryStar] = ("body", "handlers", "orelse", "finalbody")
if sys.version_info >= (3, 10):
    _BODIES[ast.Match] = ("cases",)


def statement_lines(tree: ast.Module) -> Tuple[List[int], Dict[int, List[int]], List[int], List[ast.AST]]:
    """Line of every statement in source order (the order whowaits' libcst walk numbers them),
    the decorator lines of each decorated statement by ordinal, each statement's column, and
    the statements themselves."""
    lines: List[int] = []
    decorators: Dict[int, List[int]] = {}
    columns: List[int] = []
    nodes: List[ast.AST] = []

    # Bodies being numbered, innermost last (a loop rather than recursion: a nested function
    # that calls itself is a cycle only the garbage collector frees).
    pending: List[Iterator[ast.AST]] = [iter(tree.body)]
    while pending:
        stmt = next(pending[-1], None)
        if stmt is None:
            pending.pop()
            continue
        if isinstance(stmt, ast.ExceptHandler):
            pending.append(iter(stmt.body))
            continue
        if not isinstance(stmt, ast.stmt):  # a `match` statement's case (`ast.match_case`, 3.10+)
            pending.append(iter(getattr(stmt, "body")))
            continue
        decorator_list = getattr(stmt, "decorator_list", None)
        if decorator_list:
            decorators[len(lines)] = [d.lineno for d in decorator_list]
        lines.append(stmt.lineno)
        columns.append(stmt.col_offset)
        nodes.append(stmt)
        pending.extend(iter(getattr(stmt, name)) for name in reversed(_BODIES.get(type(stmt), ())))
    return lines, decorators, columns, nodes


def quiet_parse(source: bytes) -> ast.Module:
    """`ast.parse` without the SyntaxWarnings CPython 3.12+ prints for the scanned code's own
    oddities (`"\\{"`, an invalid escape): they are about that code, not whowaits' output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


def _checked_tree(source: bytes, tokens: int) -> Tuple[Optional[str], Optional[ast.Module], Optional[FileFacts]]:
    """(problem, tree, syntax error): CPython's parse of the file, or why it is too deep to
    analyse, and CPython's syntax error (message, line and column) when it has one.

    Input deep enough to overflow libcst's native parser crashes the process rather than
    raising, so CPython's parser, which turns it into a clean RecursionError or SyntaxError at a
    fraction of libcst's cost, is the gate. Other syntax errors are left to libcst, which also
    reads syntax newer than the running interpreter. The tree also gives statement lines.

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
    except ValueError:  # source with characters the tokenizer refuses
        return None, None, None
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
    """Load what `extract` uses, in a parent about to fork its workers.

    Forked workers share the parent's loaded modules; without this each of them imports libcst,
    its native parser and the fact passes on its first file (about a quarter of a second, while
    the other worker waits for nothing), and the parent imports libcst again to offer fixes."""
    import importlib

    importlib.import_module("libcst.native")  # the parser, which libcst loads on first use
    from whowaits import suppress  # noqa: F401
    from whowaits.facts import batchflow, entrypoints, exports, from_ast, lifecycle, positions, requests  # noqa: F401


def extract(source: bytes) -> FileFacts:
    """Parse one file and return its facts; a file that cannot be analysed says why in `error`.

    Runs on a thread with a large stack and a high recursion limit (both restored after), so
    deep but valid code is analysed rather than reported.

    Python's cyclic collector is paused while one file is analysed and run once, on the young
    generation, after it. A file's analysis leaves no cycles (`ModuleIndex.release`), so its
    syntax tree (about 4,000 objects per 100 lines) is freed by reference counting as soon as
    its facts are out, and that collection only meets the odd small cycle. Left running, the
    collector would traverse the live tree again and again while the file is analysed; with a
    cycle left, the one collection traverses the whole tree (a tenth of the facts stage). A
    caller that paused the collector itself gets the garbage back to collect when it chooses.
    """
    out: List[FileFacts] = []
    old_stack = threading.stack_size(_STACK_BYTES)
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, _RECURSION_LIMIT))
    collecting = gc.isenabled()
    gc.disable()
    try:
        worker = threading.Thread(target=lambda: out.append(_extract_all(source)), name="whowaits-facts")
        worker.start()
        worker.join()
    finally:
        threading.stack_size(old_stack)
        sys.setrecursionlimit(old_limit)
        if collecting:
            gc.enable()
            gc.collect(0)
    return out[0] if out else FileFacts(error="internal error (facts thread ended early); please report it")


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
    tokens = len(_TOKEN.findall(source))
    if tokens > MAX_TOKENS:
        return FileFacts(error=f"too much code to analyse in one file ({tokens:,} tokens; the limit is {MAX_TOKENS:,})")
    nesting, tree, cpython_error = _checked_tree(source, tokens)
    if nesting is not None:
        return FileFacts(error=nesting)
    import libcst as cst  # imported here so warm, fully cached runs never load libcst

    if tree is not None:  # the tree libcst would parse, built from CPython's (`facts.from_ast`)
        from whowaits.facts.from_ast import TwinMismatch, Unsupported, build

        try:
            built = build(source, tree)
        except Unsupported:
            pass
        else:
            try:
                return _analysed(built.module, source.decode("utf-8", errors="replace"), tree, built)
            except TwinMismatch:  # libcst's parse, asked for text, differs: analyse it instead
                pass
    try:
        module = _parse(source, tree is not None)
    except cst.ParserSyntaxError as exc:
        # CPython's message and line are the ones people know; libcst's is the fallback for
        # syntax newer than the running interpreter.
        return cpython_error or _syntax_error(exc.message, exc.raw_line, exc.raw_column + 1)
    except RecursionError:
        return FileFacts(error="too deeply nested to parse")
    except Exception as exc:  # libcst's native parser has other failure modes on odd input
        return FileFacts(error=f"cannot parse: {type(exc).__name__}: {exc}".splitlines()[0])
    # The decoded source, not `module.code`: that would be a whole code generation pass.
    return _analysed(module, source.decode(module.encoding, errors="replace"), tree, None)


def _analysed(module: "libcst.Module", text: str, tree: Optional[ast.Module], built: "Optional[Built]") -> FileFacts:
    """The facts of one parsed (or built) module; a bug in whowaits costs one file, not the run."""
    from whowaits.facts.from_ast import TwinMismatch

    try:
        return _facts_of(module, text, tree, built)
    except TwinMismatch:
        raise
    except RecursionError:
        return FileFacts(error="too deeply nested to analyse")
    except Exception as exc:  # a bug in whowaits must cost one file, not the whole run
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return FileFacts(
            error=f"internal error ({type(exc).__name__} at {os.path.basename(where.filename)}:"
            f"{where.lineno}); please report it"
        )


_CONTINUATION_AT_EOF = re.compile(rb"\\(?=\r?\n?[ \t\f\r\n]*\Z)")


def _parse(source: bytes, cpython_accepts: bool) -> "libcst.Module":
    """libcst's parse; where CPython accepts the file and libcst does not, retry once with a
    line continuation before the end of the file (a no-op CPython allows) turned into a space."""
    import libcst as cst

    try:
        return _parse_unvalidated(source)
    except cst.ParserSyntaxError:
        if not cpython_accepts:
            raise
        fixed = _CONTINUATION_AT_EOF.sub(b" ", source)
        if fixed == source:
            raise
        return _parse_unvalidated(fixed)


def _skip_validation(node: object) -> None:
    """Stands in for `CSTNode.__post_init__` while libcst's own parser builds a tree."""


def _parse_unvalidated(source: bytes) -> "libcst.Module":
    """`libcst.parse_module` without libcst re-checking every node it builds.

    Each node's constructor runs `CSTNode.__post_init__` -> `_validate()` (are the parentheses
    balanced, is this name an identifier...), which is for trees assembled by hand: a tree from
    libcst's own parser is valid by construction, and the checks are a quarter to a third of the
    parse (about 1.2 million of them for 3 MB of source). The hook is switched off only for the parse; the
    facts stage runs it on its own thread while the calling thread waits, and the trees whowaits
    builds for fixes are validated as usual. Should libcst move the hook, this costs the saving,
    not correctness.
    """
    import libcst as cst
    from libcst._nodes.base import CSTNode

    validate = CSTNode.__dict__.get("__post_init__")
    if validate is None:
        return cst.parse_module(source)
    setattr(CSTNode, "__post_init__", _skip_validation)
    try:
        return cst.parse_module(source)
    finally:
        setattr(CSTNode, "__post_init__", validate)


def _called_through(info: "CallInfo", wrapper: "ExtValue", evaluator: "Evaluator") -> "Optional[Tuple[ExtValue, bool]]":
    """`asyncio.to_thread(client.messages.create, ...)`: the SDK method passed to a runner."""
    from whowaits.facts.calls import call_through
    from whowaits.facts.values import Ext

    found = call_through(wrapper.path)
    if found is None:
        return None
    position, parallel = found
    positional = [a for a in info.node.args if a.keyword is None and not a.star]
    if position < len(positional):
        target = evaluator.eval(positional[position].value, info.scope)
        if isinstance(target, Ext):
            return target, parallel
    return None


def _first_argument(info: "CallInfo", evaluator: "Evaluator", code_for: "Callable[[libcst.CSTNode], str]") -> str:
    """Source of a call's first positional argument (or its `file=` / `file_id=` keyword), or of
    the value a local name passed there was assigned: `files.content(fid)` after
    `fid = batch.output_file_id` reads a batch's output."""
    import libcst as cst

    args = info.node.args
    chosen = next((a.value for a in args if a.keyword is None and not a.star), None)
    if chosen is None:
        chosen = next((a.value for a in args if a.keyword is not None and a.keyword.value in ("file", "file_id")), None)
    if chosen is None:
        return ""
    if isinstance(chosen, cst.Name):
        bindings = evaluator.lookup(chosen.value, info.scope) or []
        if len(bindings) == 1 and bindings[0].kind == "assign" and isinstance(bindings[0].node, cst.Attribute):
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


def _facts_of(module: "libcst.Module", text: str, tree: Optional[ast.Module], built: "Optional[Built]") -> FileFacts:
    from whowaits.facts.scopes import ModuleIndex

    index = ModuleIndex()
    index.walk(module)
    try:
        return _indexed_facts(module, text, tree, built, index)
    finally:
        index.release()


def _indexed_facts(module: "libcst.Module", text: str, tree: Optional[ast.Module], built: "Optional[Built]",
                   index: "ModuleIndex") -> FileFacts:
    import libcst as cst

    from whowaits.facts.calls import classify, http_target, may_be_site, sdk_root
    from whowaits.facts.entrypoints import ProgramReader, Sequences, param_call, param_guards, prompted_calls
    from whowaits.suppress import parse_suppressions
    from whowaits.facts.exports import module_constants, module_exports
    from whowaits.facts.batchflow import BatchFlow
    from whowaits.facts.lifecycle import LifecycleReader, retries_one_call
    from whowaits.facts.positions import CodeFor
    from whowaits.facts.requests import RequestReader
    from whowaits.facts.scopes import child_nodes
    from whowaits.knowledge.frameworks import UI_SCRIPT_MODULES
    from whowaits.facts.values import Evaluator, Ext, Lit
    from whowaits.knowledge.libraries import FANOUT_FUNCTIONS, FANOUT_METHODS
    from whowaits.knowledge.sdk import FANOUT_OPERATIONS

    evaluator = Evaluator(index.module_scope, index.calls)
    lines, decorator_lines, columns, statements = statement_lines(tree) if tree is not None else ([], {}, [], [])
    matched = tree is not None and len(lines) == index.statement_count
    code_for = CodeFor(module, lines if matched else None, columns if matched else None, index,
                       text.splitlines(), statements if matched else None, text, built)
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
            if not fanout and isinstance(func, cst.Name) and func.value in ("map", "filter") and evaluator.lookup(func.value, info.scope) is None:
                kind = "map"
        bounded = False
        iterable = info.node.iter if isinstance(info.node, cst.For) else None
        if isinstance(info.node, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            iterable = info.node.for_in.iter
        if iterable is not None:
            count = reader.iteration_count(iterable, info.scope)
            bounded = (count is not None and count <= SMALL_LOOP) or retries_one_call(info.node, evaluator, info.scope)
        result = None if kind == "lambda-map" else LoopFact(kind, code_for.span(info.node), loop_id, fanout, bounded)
        loop_cache[loop_id] = result
        return result

    sequences = Sequences(index)

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
            calls = [test] if isinstance(test, cst.Call) else []
            calls += [n for n in child_nodes(test) if isinstance(n, cst.Call)]
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
        method = info.node.func.attr.value if isinstance(info.node.func, cst.Attribute) else ""
        if method in FANOUT_OPERATIONS and not extra_loops:
            # LangChain's `.batch(inputs)`: one synchronous call per input, on a thread pool.
            inputs = next((a.value for a in info.node.args if a.keyword is None and not a.star), None)
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
        receiver = info.node.func.value if isinstance(info.node.func, cst.Attribute) else info.node.func
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
                guards=param_guards(info, evaluator) if info.conditions else (),
            )
            calls.append((info, raw))

    constants, env_constants = module_constants(index, evaluator)
    lifecycle = LifecycleReader(index, evaluator, code_for, calls)
    flow = BatchFlow(index, evaluator, code_for, calls)
    def few_items(expr: "libcst.BaseExpression", scope: "Scope") -> bool:
        """A collection of at most SMALL_LOOP literal items: mapping over it is a fixed set."""
        count = reader.iteration_count(expr, scope)
        return count is not None and count <= SMALL_LOOP

    program = ProgramReader(index, evaluator, code_for, text, loops_of, ui_region, size_gated, few_items,
                            decorator_lines if matched else None, prompted)
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
