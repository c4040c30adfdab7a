"""Batch lifecycle facts: poll loops and their sleeps, results iterations, retries, resubmits.

The facts refer to candidate calls by id; whether a call is a batch poll or a results read is
decided later, once the project index has classified it. So a poll loop over a client that
another module creates is still seen.
"""

from __future__ import annotations

import ast
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from whowaits.core import PollLoopFact, PositionJoinFact, RawCall, ResultReadFact, RetryFact, Span, SubmitUse
from whowaits.facts.batchflow import call_role
from whowaits.facts.positions import CodeFor
from whowaits.facts.scopes import _name_targets, CallInfo, ForInfo, last_name, ModuleIndex, Scope
from whowaits.facts.syntax import (
    arguments, child_items, child_nodes, descendants, inline, is_name, is_number, is_string, last_line, name_of, positional,
    subscript_elements,
)
from whowaits.facts.values import Evaluator, Ext, FuncV, Lit
from whowaits.knowledge.libraries import RETRY_DECORATORS, RETRY_ITERATORS, SLEEP_FUNCTIONS
from whowaits.knowledge.batches import BATCH_LIFECYCLES, OUTPUT_FIELDS, RESULT_FIELDS


class LifecycleReader:
    def __init__(
        self,
        index: ModuleIndex,
        evaluator: Evaluator,
        code_for: CodeFor,
        calls: List[Tuple[CallInfo, RawCall]],
    ) -> None:
        self.index = index
        self.ev = evaluator
        self.code_for = code_for
        self.calls = calls
        self.call_id_of: Dict[int, int] = {id(info.node): raw.call_id for info, raw in calls}

    def _path(self, info: CallInfo) -> str:
        value = self.ev.eval(info.node.func, info.scope)
        return value.path if isinstance(value, Ext) else ""

    # -- poll loops ------------------------------------------------------------------------

    def polls(self) -> Tuple[PollLoopFact, ...]:
        sleeps_by_loop: Dict[int, List[Tuple[Span, Optional[float], str]]] = {}
        for info in self.index.calls:
            if not info.loops or self._path(info) not in SLEEP_FUNCTIONS:
                continue
            seconds: Optional[float] = None
            args = arguments(info.node)
            if args and not self._changes_in_loop(args[0].value, info):
                seconds = self._fixed_seconds(args[0].value, info.scope)
            sleeps_by_loop.setdefault(info.loops[-1], []).append(
                (self.code_for.span(info.node), seconds, self.code_for(info.node))
            )
        out = []
        for loop_id, sleeps in sorted(sleeps_by_loop.items()):
            inside = tuple(sorted(self._calls_in_loop(loop_id)))
            if inside:
                loop = self.index.loops[loop_id]
                deadline = self._deadline(loop.node, [seconds for _, seconds, _ in sleeps], loop.scope)
                out.append(PollLoopFact(self.code_for.span(loop.node), inside, tuple(sleeps), deadline))
        return tuple(out)

    def _fixed_seconds(self, node: ast.expr, scope: Scope) -> Optional[float]:
        """A sleep's literal seconds (through constants), or None."""
        value = self.ev.eval(node, scope)
        if isinstance(value, Lit) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
            return float(value.value)
        return None

    def _changes_in_loop(self, arg: ast.expr, info: CallInfo) -> bool:
        """A sleep on a name the loop rebinds (`delay = min(delay * 2, cap)`) is a backoff, not
        a fixed interval: its first value says nothing about how often the loop polls."""
        if not isinstance(arg, ast.Name):
            return False
        loop = info.loops[-1]
        return any(loop in b.loops and not isinstance(self.ev.binding_value(b), Lit)
                   for b in self.ev.lookup(arg.id, info.scope) or [])

    def _deadline(self, node: ast.AST, sleeps: List[Optional[float]], scope: Scope) -> Optional[float]:
        """When a poll loop gives up: attempts x sleep for `for _ in range(N)`, or the literal a
        `while` test compares a clock with (`while time.time() - start < 3600`)."""
        if isinstance(node, (ast.For, ast.AsyncFor)):
            it = node.iter
            if (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
                    and len(arguments(it)) == 1 and None not in sleeps and sleeps):
                count = self.ev.eval(arguments(it)[0].value, scope)
                if isinstance(count, Lit) and isinstance(count.value, int):
                    return count.value * sum(s for s in sleeps if s is not None)
            return None
        if isinstance(node, ast.While):
            clock = False
            limit: Optional[float] = None
            stack: List[Union[ast.AST, str]] = [node.test]
            while stack:
                current = stack.pop()
                if isinstance(current, str):  # an attribute's or keyword's name, read as a name
                    value = self.ev.name_value(current, scope)
                    if isinstance(value, Lit) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
                        limit = float(value.value)
                    continue
                if isinstance(current, ast.Call):
                    value = self.ev.eval(current.func, scope)
                    if isinstance(value, Ext) and value.path in ("time.time", "time.monotonic", "time.perf_counter"):
                        clock = True
                if is_number(current) and isinstance(current.value, (int, float)):
                    limit = float(current.value)
                elif is_name(current):
                    value = self.ev.eval(current, scope)
                    if isinstance(value, Lit) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
                        limit = float(value.value)
                stack.extend(child_items(current))
            return limit if clock else None
        return None

    def _calls_in_loop(self, loop_id: int) -> Set[int]:
        """Candidate calls in a loop, and in local helpers the loop calls (two levels deep)."""
        found = {raw.call_id for info, raw in self.calls if loop_id in info.loops}
        frontier = [info for info in self.index.calls if loop_id in info.loops]
        for _ in range(2):
            helpers = set()
            for info in frontier:
                target = self.ev.eval(info.node.func, info.scope)
                if isinstance(target, FuncV):
                    helpers.add(id(target.func.scope))
            found |= {raw.call_id for info, raw in self.calls if id(info.scope) in helpers}
            frontier = [info for info in self.index.calls if id(info.scope) in helpers]
        return found

    # -- results iterations ----------------------------------------------------------------

    def result_reads(self) -> Tuple[ResultReadFact, ...]:
        out = []
        for loop in self.index.fors:
            targets = {name for name, _ in _name_targets(loop.target)}
            call_id = self._iterated_call(loop.iter, loop.scope)
            scan: "_ResultScan | _InlineScan"
            if call_id is not None:
                scan = _ResultScan(targets)
            else:
                call_id = self._job_of_inline_results(loop.iter, loop.scope)
                if call_id is None:
                    continue
                scan = _InlineScan(targets)
            if not targets:
                continue
            scan.scan(loop.body)
            out.append(
                ResultReadFact(
                    call_id,
                    self.code_for.span(loop.node),
                    tuple(self.code_for.span(n) for n in scan.message_uses),
                    scan.checked,
                    tuple((self.code_for.span(n), lit) for n, lit in scan.bad_literals),
                )
            )
        return tuple(out)

    def _job_of_inline_results(self, expr: ast.expr, scope: Scope) -> Optional[int]:
        """`job.dest.inlined_responses` with `job` bound to a batch create or get: that call."""
        node = expr
        while isinstance(node, ast.Attribute):
            if node.attr in OUTPUT_FIELDS:
                return self._iterated_call(node.value, scope)
            node = node.value
        return None

    def _iterated_call(self, expr: ast.expr, scope: Scope) -> Optional[int]:
        for _ in range(4):
            while isinstance(expr, ast.Await):
                expr = expr.value
            if isinstance(expr, ast.Call):
                return self.call_id_of.get(id(expr))
            if not isinstance(expr, ast.Name):
                return None
            bindings = self.ev.lookup(expr.id, scope) or []
            if len(bindings) != 1 or bindings[0].node is None or bindings[0].kind not in ("assign", "with"):
                return None
            expr, scope = bindings[0].node, bindings[0].scope
        return None

    # -- results joined by position -------------------------------------------------------

    def position_joins(self) -> Tuple[PositionJoinFact, ...]:
        """`zip(items, results)`, `items[i]` in `for i, r in enumerate(results)` (or the other
        way round, or over `range(len(...))`): results matched with inputs by position."""
        results = {id(info.node): raw.call_id for info, raw in self.calls if call_role(raw.target) == "results"}
        if not results:
            return ()
        derived = _Derived(self, results)
        out: List[PositionJoinFact] = []
        for info in self.index.calls:
            func = info.node.func
            if not (isinstance(func, ast.Name) and func.id == "zip" and self.ev.lookup("zip", info.scope) is None):
                continue
            args = positional(info.node)
            origins = [derived.origin(a, info.scope) for a in args]
            found = [o for o in origins if o is not None]
            others = [a for a, o in zip(args, origins) if o is None]
            if any(derived.mentions(a, info.scope) for a in others):
                continue  # `zip(results, parse_all(results))`: both sides come from the results
            if found and others and not any(_counter(a) for a in others) and not self._ids_compared(info.node, info.scope):
                out.append(PositionJoinFact(found[0], self.code_for.span(info.node), self.code_for(info.node)))
        for loop in self.index.fors:
            joined = self._indexed_join(loop, derived)
            if joined is not None:
                call_id, node = joined
                out.append(PositionJoinFact(call_id, self.code_for.span(node), self.code_for(node)))
        return tuple(out)

    def _indexed_join(self, loop: ForInfo, derived: "_Derived") -> Optional[Tuple[int, ast.AST]]:
        it = loop.iter
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and arguments(it)):
            return None
        args = arguments(it)
        iterated: Optional[ast.expr] = None
        index: Optional[str] = None
        element: Optional[str] = None
        target = loop.target
        if it.func.id == "enumerate" and isinstance(target, ast.Tuple) and len(target.elts) == 2:
            first, second = (e.value if isinstance(e, ast.Starred) else e for e in target.elts)
            if isinstance(first, ast.Name):
                iterated, index = args[0].value, first.id
                element = second.id if isinstance(second, ast.Name) else None
        elif it.func.id == "range" and len(args) == 1 and isinstance(target, ast.Name):
            inner = args[0].value
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "len" and arguments(inner):
                iterated, index = arguments(inner)[0].value, target.id
        if iterated is None or index is None or self.ev.lookup(it.func.id, loop.scope) is not None:
            return None
        iterated_origin = derived.origin(iterated, loop.scope)
        if self._ids_compared(loop.body, loop.scope):
            return None
        written = _assigned_subscripts(loop.body)
        for sub in _subscripts_by(loop.body, index):
            root = _root_name(sub.value)
            if root is not None and root == element:
                continue
            if id(sub) in written and self._fresh_container(sub.value, loop.scope):
                continue  # `answers[i] = ...` fills a list of its own in result order: not a join yet
            origin = derived.origin(sub.value, loop.scope)
            if iterated_origin is not None and origin is None and not derived.mentions(sub.value, loop.scope):
                return iterated_origin, sub
            if iterated_origin is None and origin is not None:
                return origin, sub
        return None

    def _fresh_container(self, node: ast.expr, scope: Scope) -> bool:
        """A name bound only to an empty or placeholder list or dict made here (`[None] * n`)."""
        if not isinstance(node, ast.Name):
            return False
        bindings = self.ev.lookup(node.id, scope) or []
        return bool(bindings) and all(b.kind == "assign" and _placeholder(b.node) for b in bindings)

    def _ids_compared(self, node: Union[ast.AST, Sequence[ast.AST]], scope: Scope) -> bool:
        """A comparison of custom_ids near the join: the code checks the pairing."""
        loop_body: Union[ast.AST, Sequence[ast.AST]] = node
        for loop in self.index.fors:
            if isinstance(loop.node, (ast.For, ast.AsyncFor)) and loop.iter is node:
                loop_body = loop.body
        return any(isinstance(current, ast.Compare) and any(_names_custom_id(n) for n in child_nodes(current))
                   for current in _all_nodes(loop_body))

    # -- retries ---------------------------------------------------------------------------

    def retries(self) -> Tuple[RetryFact, ...]:
        out: List[RetryFact] = []
        for func in self.index.functions:
            for decorator in func.decorators:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                value = self.ev.eval(target, func.scope.parent or self.index.module_scope)
                if isinstance(value, Ext) and value.path in RETRY_DECORATORS:
                    ids = tuple(raw.call_id for info, raw in self.calls if info.scope is func.scope)
                    if ids:
                        out.append(RetryFact("decorator", self.code_for.span(decorator), f"@{value.path}", ids))
        seen_loops: Set[int] = set()
        for loop_id, loop in sorted(self.index.loops.items()):
            if isinstance(loop.node, (ast.For, ast.AsyncFor)):
                value = self.ev.eval(loop.node.iter, loop.scope)
                if isinstance(value, Ext) and value.path.rstrip("()") in RETRY_ITERATORS:
                    ids = tuple(raw.call_id for info, raw in self.calls if loop_id in info.loops)
                    if ids:
                        seen_loops.add(loop_id)
                        out.append(RetryFact("loop", self.code_for.span(loop.node), value.path, ids))
        by_loop: Dict[int, List[int]] = {}
        for info, raw in self.calls:
            for try_node, loops in reversed(info.tries):
                if loops and _is_retry_try(try_node) and self._is_retry_loop(loops[-1]):
                    if loops[-1] not in seen_loops:
                        by_loop.setdefault(loops[-1], []).append(raw.call_id)
                    break
        for loop_id, call_ids in sorted(by_loop.items()):
            node = self.index.loops[loop_id].node
            out.append(RetryFact("loop", self.code_for.span(node), "a hand-written retry loop", tuple(call_ids)))
        return tuple(out)

    def _is_retry_loop(self, loop_id: int) -> bool:
        loop = self.index.loops[loop_id]
        if isinstance(loop.node, ast.While):
            return True
        return isinstance(loop.node, (ast.For, ast.AsyncFor)) and _over_range(loop.node)

    # -- submits of named collections -----------------------------------------------------

    def submits(self) -> Tuple[SubmitUse, ...]:
        out = []
        for info, raw in self.calls:
            if raw.batch is None or raw.batch.collection is None:
                continue
            name = raw.batch.collection.name
            bindings = self.ev.lookup(name, info.scope) or []
            owner = bindings[0].scope if bindings else info.scope
            loops: Set[int] = set()
            for b in bindings:
                loops.update(b.loops)
            for _, append_loops, _ in owner.appends.get(name, []):
                loops.update(append_loops)
            out.append(SubmitUse(raw.call_id, raw.batch.collection, tuple(sorted(loops))))
        return tuple(out)


def retries_one_call(node: ast.AST, evaluator: Evaluator, scope: Scope) -> bool:
    """A for loop that makes attempts rather than going through items: over a retry iterator
    (`for attempt in Retrying(...)`), or with a try that leaves the loop on success and
    swallows the failure, retrying (`for _ in range(3)`) or falling back to the next model or
    key (`for model in models:`). It stops at the first call that succeeds."""
    if not isinstance(node, (ast.For, ast.AsyncFor)):
        return False
    value = evaluator.eval(node.iter, scope)
    if isinstance(value, Ext) and value.path.rstrip("()") in RETRY_ITERATORS:
        return True
    # Directly, or in a loop inside it whose try returns (`for model in models: for region in
    # regions: try: return ...`): a `break` there would only leave the inner loop. A count of
    # repeats left when the answer will do (`for _ in range(n): ...; if reply.ok: break`) too.
    repeats = _over_range(node)
    return any((isinstance(stmt, ast.Try) and _is_retry_try(stmt))
               or (isinstance(stmt, (ast.For, ast.AsyncFor)) and any(isinstance(inner, ast.Try) and _is_retry_try(inner, (ast.Return,))
                                                                     for inner in stmt.body))
               or (repeats and isinstance(stmt, ast.If) and _has_exit([stmt]))
               for stmt in node.body)


def _over_range(node: Union[ast.For, ast.AsyncFor]) -> bool:
    """`for _ in range(...)`: a count of repeats."""
    it = node.iter
    return isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"


def _is_retry_try(node: ast.Try, exits: Tuple[type, ...] = (ast.Break, ast.Return)) -> bool:
    """A try that leaves the loop on success (by one of `exits`) and swallows the failure, at
    least on some path of a handler (`if retryable: continue` before a `raise`): a retry."""
    leaves = _has_exit(node.body, exits) or (bool(node.orelse) and _has_exit(node.orelse, exits))
    if not leaves:
        return False
    for handler in node.handlers:
        body = handler.body
        if any(isinstance(s, ast.Raise) for s in last_line(body)):
            if _has_exit(body, (ast.Continue,)):
                return True
            continue
        return True
    return False


def _has_exit(statements: Sequence[ast.stmt], exits: Tuple[type, ...] = (ast.Break, ast.Return)) -> bool:
    """Whether the statements of an indented block (through `if`, `else` and `with`) hold one
    of `exits`; a block written after its header's colon (`if ok: break`) is not read."""
    if inline(statements):
        return False
    for stmt in statements:
        if type(stmt) in exits:
            return True
        if isinstance(stmt, ast.If):
            if _has_exit(stmt.body, exits) or _has_exit(stmt.orelse, exits):
                return True
        elif isinstance(stmt, (ast.With, ast.AsyncWith)) and _has_exit(stmt.body, exits):
            return True
    return False


# `result.type` values a batch result can have, for the providers whose results carry one;
# anything else never matches. (Which provider a results loop reads is known only after the
# index resolves the call, so the literal is checked against all of them.)
RESULT_TYPES = frozenset(t for record in BATCH_LIFECYCLES.values() for t in record.result_types)


class _Scan:
    """A walk of a loop's body that does not enter nested functions: `visit` sees each node
    before what is under it, in source order."""

    def scan(self, body: Sequence[ast.AST]) -> None:
        stack: List[ast.AST] = list(reversed(body))
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            self.visit(node)
            stack.extend(reversed(child_nodes(node)))

    def visit(self, node: ast.AST) -> None:
        raise NotImplementedError


class _ResultScan(_Scan):
    """Within a results loop: `.result.message` reads and `.result.type` checks."""

    def __init__(self, targets: Set[str]) -> None:
        self.targets = targets
        self.result_aliases: Set[str] = set()  # names bound to `<target>.result`
        self.type_aliases: Set[str] = set()  # names bound to `<target>.result.type`
        self.message_uses: List[ast.AST] = []
        self.checked = False
        self.bad_literals: List[Tuple[ast.AST, str]] = []

    def _is_result(self, node: ast.AST) -> bool:
        if is_name(node):
            return name_of(node) in self.result_aliases
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "result"
            and isinstance(node.value, ast.Name)
            and node.value.id in self.targets
        )

    def _is_type(self, node: ast.AST) -> bool:
        if is_name(node):
            return name_of(node) in self.type_aliases
        return isinstance(node, ast.Attribute) and node.attr == "type" and self._is_result(node.value)

    def visit(self, node: ast.AST) -> None:
        kind = type(node)
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    if self._is_result(node.value):
                        self.result_aliases.add(target.id)
                    elif self._is_type(node.value):
                        self.type_aliases.add(target.id)
        elif isinstance(node, ast.Attribute):
            if node.attr == "message" and self._is_result(node.value):
                self.message_uses.append(node)
        elif isinstance(node, ast.Compare):
            self._comparison(node)
        elif isinstance(node, ast.Call):
            func = node.func
            args = arguments(node)
            if isinstance(func, ast.Name) and func.id in ("isinstance", "hasattr", "getattr") and args and self._is_result(args[0].value):
                self.checked = True
        elif kind.__name__ == "Match":
            self._match(node)

    def _comparison(self, node: ast.Compare) -> None:
        sides = [node.left, *node.comparators]
        if not any(self._is_type(side) for side in sides):
            return
        self.checked = True
        for side in sides:
            for found in _string_literals(side):
                if found[1] not in RESULT_TYPES:
                    self.bad_literals.append(found)

    def _match(self, node: ast.AST) -> None:
        subject = getattr(node, "subject")
        if self._is_type(subject) or self._is_result(subject):
            self.checked = True
            for case in getattr(node, "cases"):
                pattern = case.pattern
                if type(pattern).__name__ == "MatchValue":
                    for literal in _string_literals(pattern.value):
                        if literal[1] not in RESULT_TYPES:
                            self.bad_literals.append(literal)


class _InlineScan(_Scan):
    """Within a loop over inline results (a Gemini job's `dest.inlined_responses`): reads of
    `<target>.response.<...>`, and whether a test looks at `<target>.error` or `<target>.response`
    first (a failed request has an error and no response)."""

    def __init__(self, targets: Set[str]) -> None:
        self.targets = targets
        self.message_uses: List[ast.AST] = []
        self.checked = False
        self.bad_literals: List[Tuple[ast.AST, str]] = []
        self.fields = {field for pair in RESULT_FIELDS for field in pair}
        self.values = {pair[0] for pair in RESULT_FIELDS}

    def _field(self, node: ast.AST) -> Optional[str]:
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in self.targets and node.attr in self.fields):
            return node.attr
        return None

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Attribute):
            if self._field(node.value) in self.values:
                self.message_uses.append(node)
        elif isinstance(node, (ast.If, ast.IfExp, ast.While)):
            self._test(node.test)
        elif isinstance(node, ast.BoolOp):  # each operand but the last decides whether the next runs
            for value in node.values[:-1]:
                self._test(value)
        elif isinstance(node, ast.comprehension):
            for test in node.ifs:
                self._test(test)

    def _test(self, test: Optional[ast.AST]) -> None:
        if test is not None and any(self._field(current) is not None for current in descendants(test)):
            self.checked = True


def _string_literals(node: ast.AST) -> List[Tuple[ast.AST, str]]:
    if is_string(node):
        value = node.value
        return [(node, value)] if isinstance(value, str) else []
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        out = []
        for el in node.elts:
            out.extend(_string_literals(el.value if isinstance(el, ast.Starred) else el))
        return out
    return []


_TEXT_ATTRIBUTES = frozenset({"text", "content"})
# Methods that turn a results download into its lines, in the order the file has them.
_LINE_METHODS = frozenset({"read", "decode", "strip", "rstrip", "lstrip", "split", "splitlines", "iter_lines", "readlines"})


class _Derived:
    """Which results call a collection comes from, keeping its order: the results themselves,
    a downloaded output file's lines, a list or comprehension over them, a list appended to in
    a loop over them."""

    def __init__(self, reader: LifecycleReader, results: Dict[int, int]) -> None:
        self.reader = reader
        self.results = results

    def origin(self, node: ast.AST, scope: Scope, depth: int = 0) -> Optional[int]:
        if depth > 8:
            return None
        while isinstance(node, ast.Await):
            node = node.value
        if isinstance(node, ast.Call):
            if id(node) in self.results:
                return self.results[id(node)]
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in _LINE_METHODS:
                return self.origin(func.value, scope, depth + 1)
            args = arguments(node)
            if isinstance(func, ast.Name) and func.id in ("list", "tuple", "iter", "sorted") and len(args) == 1:
                return self.origin(args[0].value, scope, depth + 1)
            return None
        if isinstance(node, ast.Attribute) and node.attr in _TEXT_ATTRIBUTES:
            return self.origin(node.value, scope, depth + 1)
        if isinstance(node, ast.Subscript):
            elements = subscript_elements(node)
            if len(elements) == 1 and isinstance(elements[0], ast.Slice):
                return self.origin(node.value, scope, depth + 1)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return self.origin(node.generators[0].iter, scope, depth + 1)
        if is_name(node):
            return self._name_origin(name_of(node), scope, depth)
        return None

    def mentions(self, node: ast.AST, scope: Scope, depth: int = 0) -> bool:
        """Whether anything in an expression (or in what a name in it was assigned) comes from
        the results, in any order: then pairing it with the results is not matching inputs.
        The names of attributes and keywords in it count as names."""
        if depth > 3:
            return True
        stack: List[Union[ast.AST, str]] = [node]
        while stack:
            current = stack.pop()
            name: Optional[str] = current if isinstance(current, str) else None
            if isinstance(current, str):
                if self._name_origin(current, scope, 0) is not None:
                    return True
            elif isinstance(current, ast.expr) and self.origin(current, scope) is not None:
                return True
            elif is_name(current):
                name = name_of(current)
            if name is not None:
                for binding in self.reader.ev.lookup(name, scope) or []:
                    value = binding.node
                    if binding.kind in ("assign", "with") and value is not None and value is not node:
                        if self.mentions(value, binding.scope, depth + 1):
                            return True
            if not isinstance(current, str):
                stack.extend(child_items(current))
        return False

    def _name_origin(self, name: str, scope: Scope, depth: int) -> Optional[int]:
        ev = self.reader.ev
        bindings = ev.lookup(name, scope) or []
        for binding in bindings:
            if binding.kind in ("assign", "with") and binding.node is not None:
                found = self.origin(binding.node, binding.scope, depth + 1)
                if found is not None:
                    return found
        owner = bindings[0].scope if bindings else scope
        for value, loops, is_extend in owner.appends.get(name, []):
            if is_extend:
                found = self.origin(value, owner, depth + 1)
                if found is not None:
                    return found
            for loop_id in loops:
                node = self.reader.index.loops[loop_id].node
                if isinstance(node, (ast.For, ast.AsyncFor)):
                    found = self.origin(node.iter, owner, depth + 1)
                    if found is not None:
                        return found
        return None


def _counter(node: ast.AST) -> bool:
    """`range(...)` / `itertools.count()`: numbering, not a collection of inputs."""
    if not isinstance(node, ast.Call):
        return False
    return last_name(node) in ("range", "count")


def _all_nodes(body: Union[ast.AST, Sequence[ast.AST]]) -> Iterable[ast.AST]:
    """Every node of a subtree, or of a block's statements."""
    for top in [body] if isinstance(body, ast.AST) else body:
        yield from descendants(top)


def _subscripts_by(body: Sequence[ast.AST], index: str) -> List[ast.Subscript]:
    """`x[i]` and `df.loc[i, "col"]` in a loop body, in source order."""
    out: List[ast.Subscript] = []
    stack: List[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Subscript):
            first = subscript_elements(node)[0]
            if isinstance(first, ast.Name) and first.id == index:
                out.append(node)
        stack.extend(reversed(child_nodes(node)))
    return out


def _assigned_subscripts(body: Sequence[ast.AST]) -> Set[int]:
    """Ids of subscripts that are a whole assignment target (`out[i] = ...`)."""
    return {id(t) for node in _all_nodes(body) if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Subscript)}


def _placeholder(node: Optional[ast.AST]) -> bool:
    """`[]`, `{}`, `[None] * n`, `list()`, `dict()`: a container with nothing of the inputs yet."""
    if (isinstance(node, ast.List) and not node.elts) or (isinstance(node, ast.Dict) and not node.keys):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        left = node.left
        return isinstance(left, ast.List) and all(
            is_name(e) or is_string(e) or (isinstance(e, ast.Constant) and type(e.value) is int) for e in left.elts
        ) and not any(isinstance(e, ast.Name) for e in left.elts)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in ("list", "dict") and not arguments(node))


def _root_name(node: ast.AST) -> Optional[str]:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return name_of(node) if is_name(node) else None


def _names_custom_id(node: ast.AST) -> bool:
    return any(
        (isinstance(current, ast.Attribute) and current.attr == "custom_id")
        or (is_string(current) and current.value == "custom_id")
        for current in descendants(node)
    )
