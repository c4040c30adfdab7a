"""Per-file facts: bytes in, `FileFacts` out, a pure function of the file's content.

Nothing here knows the file's path or the rest of the project, so results can be cached by
content hash and computed in worker processes. Cross-module questions (what does
`from .llm import client` hold?) are left as value paths for the project index to finish.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import traceback
from dataclasses import replace
from typing import Dict, List, Optional, Sequence, Tuple

from whowaits.core import FileFacts, LoopFact, RawCall

MAX_FILE_BYTES = 5 * 1024 * 1024
SMALL_LOOP = 10  # a loop over at most this many literal items is a retry or a fixed set, not bulk
SMALL_GATE = 50  # `if len(xs) < N:` with N up to this (or not literal) routes small groups on purpose
MAX_NESTING = 300  # syntax-tree depth; real code stays far below, libcst's parser overflows far above
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def decode_problem(source: bytes) -> Optional[str]:
    """Why a file's bytes cannot be analysed, or None. Honours PEP 263 coding cookies."""
    if len(source) > MAX_FILE_BYTES:
        return f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"
    if b"\x00" in source:
        return "file contains NUL bytes"
    encoding = "utf-8"
    for line in source.splitlines()[:2]:
        match = _CODING.match(line)
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
    _BODIES[ast.TryStar] = ("body", "handlers", "orelse", "finalbody")  # type: ignore[attr-defined]
if sys.version_info >= (3, 10):
    _BODIES[ast.Match] = ("cases",)  # type: ignore[attr-defined]


def statement_lines(tree: ast.Module) -> Tuple[List[int], Dict[int, List[int]], List[int]]:
    """Line of every statement in source order (the order whowaits' libcst walk numbers them),
    the decorator lines of each decorated statement by ordinal, and each statement's column."""
    lines: List[int] = []
    decorators: Dict[int, List[int]] = {}
    columns: List[int] = []

    def visit(body: Sequence[ast.AST]) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.ExceptHandler,)) or type(stmt).__name__ == "match_case":
                visit(stmt.body)  # type: ignore[attr-defined]
                continue
            if getattr(stmt, "decorator_list", None):
                decorators[len(lines)] = [d.lineno for d in stmt.decorator_list]  # type: ignore[attr-defined]
            lines.append(stmt.lineno)  # type: ignore[attr-defined]
            columns.append(stmt.col_offset)  # type: ignore[attr-defined]
            for name in _BODIES.get(type(stmt), ()):
                visit(getattr(stmt, name))

    visit(tree.body)
    return lines, decorators, columns


def _checked_tree(source: bytes) -> Tuple[Optional[str], Optional[ast.Module], Optional[str]]:
    """(problem, tree, syntax error): CPython's parse of the file, or why it is too deep to
    analyse, and CPython's syntax error message when it has one.

    Input deep enough to overflow libcst's native parser crashes the process rather than
    raising, so CPython's parser, which turns it into a clean RecursionError or SyntaxError at a
    fraction of libcst's cost, is the gate. Other syntax errors are left to libcst, which also
    reads syntax newer than the running interpreter. The tree also gives statement lines.
    """
    try:
        tree = ast.parse(source)
    except (RecursionError, MemoryError):
        return "too deeply nested to parse", None, None
    except SyntaxError as exc:
        message = f"syntax error at line {exc.lineno}: {exc.msg}"
        if "too many" in str(exc.msg):  # nested parentheses, indentation levels
            return message, None, None
        return None, None, message
    except ValueError:  # source with characters the tokenizer refuses
        return None, None, None
    stack: List[Tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            return f"too deeply nested to analyse (more than {MAX_NESTING} levels)", None, None
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return None, tree, None


def extract(source: bytes) -> FileFacts:
    """Parse one file and return its facts; a file that cannot be analysed says why in `error`."""
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
    nesting, tree, cpython_error = _checked_tree(source)
    if nesting is not None:
        return FileFacts(error=nesting)
    import libcst as cst  # imported here so warm, fully cached runs never load libcst

    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        # CPython's message and line are the ones people know; libcst's is the fallback for
        # syntax newer than the running interpreter.
        return FileFacts(error=cpython_error or f"syntax error at line {exc.raw_line}: {exc.message}")
    except RecursionError:
        return FileFacts(error="too deeply nested to parse")
    except Exception as exc:  # libcst's native parser has other failure modes on odd input
        return FileFacts(error=f"cannot parse: {type(exc).__name__}: {exc}".splitlines()[0])
    # The walk recurses once or twice per syntax level; `_checked_tree` bounds the depth, so a
    # higher limit only lets long (but legitimate) expression chains through.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4000))
    try:
        # The decoded source, not `module.code`: that would be a whole code generation pass.
        return _facts_of(module, source.decode(module.encoding, errors="replace"), tree)
    except RecursionError:
        return FileFacts(error="too deeply nested to analyse")
    except Exception as exc:  # a bug in whowaits must cost one file, not the whole run
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return FileFacts(
            error=f"internal error ({type(exc).__name__} at {os.path.basename(where.filename)}:"
            f"{where.lineno}); please report it"
        )
    finally:
        sys.setrecursionlimit(limit)


def _called_through(info: "object", wrapper: "object", evaluator: "object") -> "Optional[Tuple[object, bool]]":
    """`asyncio.to_thread(client.messages.create, ...)`: the SDK method passed to a runner."""
    from whowaits.facts.calls import call_through
    from whowaits.facts.values import Ext

    found = call_through(wrapper.path)  # type: ignore[attr-defined]
    if found is None:
        return None
    position, parallel = found
    positional = [a for a in info.node.args if a.keyword is None and not a.star]  # type: ignore[attr-defined]
    if position < len(positional):
        target = evaluator.eval(positional[position].value, info.scope)  # type: ignore[attr-defined]
        if isinstance(target, Ext):
            return target, parallel
    return None


def _param_target(info: "object", evaluator: "object") -> Optional[str]:
    """`@param:function:index:rest` for a call on an attribute chain rooted at a plain
    function's unannotated parameter (`cog.client.messages.create` -> rest `client.messages.create`)."""
    import libcst as cst

    chain: List[str] = []
    node = info.node.func  # type: ignore[attr-defined]
    while isinstance(node, cst.Attribute):
        chain.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name) or not chain:
        return None
    bindings = evaluator.lookup(node.value, info.scope) or []  # type: ignore[attr-defined]
    if len(bindings) != 1 or bindings[0].kind != "param" or bindings[0].index < 0:
        return None
    func = bindings[0].scope.func
    if func is None or func.cls is not None or bindings[0].scope.kind != "function":
        return None
    return f"@param:{func.qualname}:{bindings[0].index}:{'.'.join(reversed(chain))}"


def _facts_of(module: "object", text: str, tree: Optional[ast.Module]) -> FileFacts:
    import libcst as cst

    from whowaits.facts.calls import classify, http_target, may_be_site, sdk_root
    from whowaits.facts.entrypoints import ProgramReader
    from whowaits.suppress import parse_suppressions
    from whowaits.facts.exports import module_exports
    from whowaits.facts.lifecycle import LifecycleReader, retries_one_call
    from whowaits.facts.requests import CodeFor, RequestReader
    from whowaits.facts.scopes import ModuleIndex, child_nodes
    from whowaits.knowledge.frameworks import UI_SCRIPT_MODULES
    from whowaits.facts.values import Evaluator, Ext, Lit
    from whowaits.knowledge.libraries import FANOUT_FUNCTIONS, FANOUT_METHODS

    index = ModuleIndex()
    index.walk(module)  # type: ignore[arg-type]
    evaluator = Evaluator(index.module_scope, index.calls)
    lines, decorator_lines, columns = statement_lines(tree) if tree is not None else ([], {}, [])
    matched = tree is not None and len(lines) == index.statement_count
    code_for = CodeFor(module, lines if matched else None, columns if matched else None, index,  # type: ignore[arg-type]
                       text.splitlines())
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

    def loops_of(ids: Sequence[int]) -> Tuple[LoopFact, ...]:
        return tuple(fact for fact in map(loop_fact, ids) if fact is not None)

    def ui_region(info: "object") -> int:
        """The line of the innermost `if` whose test is a UI event (`st.button(...)`), or 0."""
        for branch in reversed(info.branches):  # type: ignore[attr-defined]
            test = branch.test
            calls = [test] if isinstance(test, cst.Call) else []
            calls += [n for n in child_nodes(test) if isinstance(n, cst.Call)]
            for call in calls:
                value = evaluator.eval(call.func, info.scope)  # type: ignore[attr-defined]
                if isinstance(value, Ext) and value.path.split(".")[0] in UI_SCRIPT_MODULES:
                    return code_for.span(branch).line
        return 0

    def size_gated(info: "object") -> bool:
        """On the small side of a size-gated router: sync for a few items is the right choice
        there (the other side batches); a literal threshold must be small."""
        for threshold in info.size_gates:  # type: ignore[attr-defined]
            value = evaluator.eval(threshold, info.scope)  # type: ignore[attr-defined]
            if not (isinstance(value, Lit) and isinstance(value.value, (int, float)) and value.value > SMALL_GATE):
                return True
        return False

    calls: List[Tuple[object, RawCall]] = []
    for info in index.calls:
        value = evaluator.eval(info.node.func, info.scope)
        through = _called_through(info, value, evaluator) if isinstance(value, Ext) else None
        extra_loops: Tuple[LoopFact, ...] = ()
        targets: List[str] = []
        if through is not None:
            value, parallel = through
            if parallel:
                extra_loops = (LoopFact("executor", code_for.span(info.node), -1, True),)
            if isinstance(value, Ext):
                targets = [value.path]
        elif isinstance(value, Ext) and http_target(value.path, info.node, evaluator, info.scope):
            targets = [http_target(value.path, info.node, evaluator, info.scope)]  # type: ignore[list-item]
        elif isinstance(value, Ext):
            # A receiver bound to different clients in different branches is each of them.
            targets = [v.path for v in evaluator.alternatives(info.node.func, info.scope) if isinstance(v, Ext)]
            targets = targets if value.path in targets else [value.path] + targets
        if value is None and through is None:
            # `def call(client, ...): client.messages.create(...)` with callers in other modules:
            # the project index fills the parameter in from each caller's argument.
            param = _param_target(info, evaluator)
            targets = [param] if param else []
        targets = [t for t in targets if may_be_site("param." + t.rsplit(":", 1)[-1] if t.startswith("@param:") else t)]
        if not targets:
            continue
        items = reader.call_items(info.node, info.scope)
        request = reader.request_facts(items)
        first_arg = next((code_for(a.value) for a in info.node.args if a.keyword is None and not a.star), "")
        targets = [t for t in targets if t.startswith("@param:") or sdk_root(t) is None or classify(t, request, first_arg) is not None]
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
                via=code_for(receiver),  # type: ignore[arg-type]
                request=request,
                batch=batch,
                loops=loops_of(info.loops) + extra_loops,
                first_arg=first_arg,
                status_guarded=info.guarded,
                ui_region=ui_region(info),
                size_gated=size_gated(info),
            )
            calls.append((info, raw))

    lifecycle = LifecycleReader(index, evaluator, code_for, calls)  # type: ignore[arg-type]
    program = ProgramReader(index, evaluator, code_for, text, loops_of, ui_region, size_gated,
                            decorator_lines if matched else None)
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
        polls=lifecycle.polls(),
        result_reads=lifecycle.result_reads(),
        retries=lifecycle.retries(),
        submits=lifecycle.submits(),
    )
