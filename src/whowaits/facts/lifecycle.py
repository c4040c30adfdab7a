"""Batch lifecycle facts: poll loops and their sleeps, results iterations, retries, resubmits.

The facts refer to candidate calls by id; whether a call is a batch poll or a results read is
decided later, once the project index has classified it. So a poll loop over a client that
another module creates is still seen.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from whowaits.core import PollLoopFact, PositionJoinFact, RawCall, ResultReadFact, RetryFact, Span, SubmitUse
from whowaits.facts.batchflow import call_role
from whowaits.facts.positions import CodeFor
from whowaits.facts.scopes import _name_targets, CallInfo, child_nodes, descendants, ForInfo, last_name, literal, ModuleIndex, Scope
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
            if info.node.args and not self._changes_in_loop(info.node.args[0].value, info):
                seconds = self._fixed_seconds(info.node.args[0].value, info.scope)
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

    def _fixed_seconds(self, node: cst.BaseExpression, scope: Scope) -> Optional[float]:
        """A sleep's literal seconds (through constants), or None."""
        value = self.ev.eval(node, scope)
        if isinstance(value, Lit) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
            return float(value.value)
        return None

    def _changes_in_loop(self, arg: cst.BaseExpression, info: CallInfo) -> bool:
        """A sleep on a name the loop rebinds (`delay = min(delay * 2, cap)`) is a backoff, not
        a fixed interval: its first value says nothing about how often the loop polls."""
        if not isinstance(arg, cst.Name):
            return False
        loop = info.loops[-1]
        return any(loop in b.loops and not isinstance(self.ev.binding_value(b), Lit)
                   for b in self.ev.lookup(arg.value, info.scope) or [])

    def _deadline(self, node: cst.CSTNode, sleeps: List[Optional[float]], scope: Scope) -> Optional[float]:
        """When a poll loop gives up: attempts x sleep for `for _ in range(N)`, or the literal a
        `while` test compares a clock with (`while time.time() - start < 3600`)."""
        if isinstance(node, cst.For):
            it = node.iter
            if (isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value == "range"
                    and len(it.args) == 1 and None not in sleeps and sleeps):
                count = self.ev.eval(it.args[0].value, scope)
                if isinstance(count, Lit) and isinstance(count.value, int):
                    return count.value * sum(s for s in sleeps if s is not None)
            return None
        if isinstance(node, cst.While):
            clock = False
            limit: Optional[float] = None
            stack: List[cst.CSTNode] = [node.test]
            while stack:
                current = stack.pop()
                if isinstance(current, cst.Call):
                    value = self.ev.eval(current.func, scope)
                    if isinstance(value, Ext) and value.path in ("time.time", "time.monotonic", "time.perf_counter"):
                        clock = True
                if isinstance(current, (cst.Integer, cst.Float)):
                    limit = float(literal(current))
                elif isinstance(current, cst.Name):
                    value = self.ev.eval(current, scope)
                    if isinstance(value, Lit) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
                        limit = float(value.value)
                stack.extend(child_nodes(current))
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
            loop.body.visit(scan)
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

    def _job_of_inline_results(self, expr: cst.BaseExpression, scope: Scope) -> Optional[int]:
        """`job.dest.inlined_responses` with `job` bound to a batch create or get: that call."""
        node = expr
        while isinstance(node, cst.Attribute):
            if node.attr.value in OUTPUT_FIELDS:
                return self._iterated_call(node.value, scope)
            node = node.value
        return None

    def _iterated_call(self, expr: cst.BaseExpression, scope: Scope) -> Optional[int]:
        for _ in range(4):
            while isinstance(expr, cst.Await):
                expr = expr.expression
            if isinstance(expr, cst.Call):
                return self.call_id_of.get(id(expr))
            if not isinstance(expr, cst.Name):
                return None
            bindings = self.ev.lookup(expr.value, scope) or []
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
            if not (isinstance(func, cst.Name) and func.value == "zip" and self.ev.lookup("zip", info.scope) is None):
                continue
            args = [a.value for a in info.node.args if a.keyword is None and not a.star]
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

    def _indexed_join(self, loop: ForInfo, derived: "_Derived") -> Optional[Tuple[int, cst.CSTNode]]:
        it = loop.iter
        if not (isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.args):
            return None
        iterated: Optional[cst.BaseExpression] = None
        index: Optional[str] = None
        element: Optional[str] = None
        target = loop.target
        if it.func.value == "enumerate" and isinstance(target, cst.Tuple) and len(target.elements) == 2:
            first, second = target.elements[0].value, target.elements[1].value
            if isinstance(first, cst.Name):
                iterated, index = it.args[0].value, first.value
                element = second.value if isinstance(second, cst.Name) else None
        elif it.func.value == "range" and len(it.args) == 1 and isinstance(target, cst.Name):
            inner = it.args[0].value
            if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Name) and inner.func.value == "len" and inner.args:
                iterated, index = inner.args[0].value, target.value
        if iterated is None or index is None or self.ev.lookup(it.func.value, loop.scope) is not None:
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

    def _fresh_container(self, node: cst.BaseExpression, scope: Scope) -> bool:
        """A name bound only to an empty or placeholder list or dict made here (`[None] * n`)."""
        if not isinstance(node, cst.Name):
            return False
        bindings = self.ev.lookup(node.value, scope) or []
        return bool(bindings) and all(b.kind == "assign" and _placeholder(b.node) for b in bindings)

    def _ids_compared(self, node: cst.CSTNode, scope: Scope) -> bool:
        """A comparison of custom_ids near the join: the code checks the pairing."""
        loop_body: cst.CSTNode = node
        for loop in self.index.fors:
            if isinstance(loop.node, cst.For) and loop.iter is node:
                loop_body = loop.body
        return any(isinstance(current, cst.Comparison) and any(_names_custom_id(n) for n in child_nodes(current))
                   for current in descendants(loop_body))

    # -- retries ---------------------------------------------------------------------------

    def retries(self) -> Tuple[RetryFact, ...]:
        out: List[RetryFact] = []
        for func in self.index.functions:
            for decorator in func.decorators:
                target = decorator.func if isinstance(decorator, cst.Call) else decorator
                value = self.ev.eval(target, func.scope.parent or self.index.module_scope)
                if isinstance(value, Ext) and value.path in RETRY_DECORATORS:
                    ids = tuple(raw.call_id for info, raw in self.calls if info.scope is func.scope)
                    if ids:
                        out.append(RetryFact("decorator", self.code_for.span(decorator), f"@{value.path}", ids))
        seen_loops: Set[int] = set()
        for loop_id, loop in sorted(self.index.loops.items()):
            if isinstance(loop.node, cst.For):
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
        if isinstance(loop.node, cst.While):
            return True
        return isinstance(loop.node, cst.For) and _over_range(loop.node)

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


def retries_one_call(node: cst.CSTNode, evaluator: Evaluator, scope: Scope) -> bool:
    """A for loop that makes attempts rather than going through items: over a retry iterator
    (`for attempt in Retrying(...)`), or with a try that leaves the loop on success and
    swallows the failure, retrying (`for _ in range(3)`) or falling back to the next model or
    key (`for model in models:`). It stops at the first call that succeeds."""
    if not isinstance(node, cst.For):
        return False
    value = evaluator.eval(node.iter, scope)
    if isinstance(value, Ext) and value.path.rstrip("()") in RETRY_ITERATORS:
        return True
    # Directly, or in a loop inside it whose try returns (`for model in models: for region in
    # regions: try: return ...`): a `break` there would only leave the inner loop. A count of
    # repeats left when the answer will do (`for _ in range(n): ...; if reply.ok: break`) too.
    repeats = _over_range(node)
    return any((isinstance(stmt, cst.Try) and _is_retry_try(stmt))
               or (isinstance(stmt, cst.For) and any(isinstance(inner, cst.Try) and _is_retry_try(inner, (cst.Return,))
                                                      for inner in stmt.body.body))
               or (repeats and isinstance(stmt, cst.If) and _has_exit([stmt]))
               for stmt in node.body.body)


def _over_range(node: cst.For) -> bool:
    """`for _ in range(...)`: a count of repeats."""
    it = node.iter
    return isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value == "range"


def _is_retry_try(node: cst.Try, exits: Tuple[type, ...] = (cst.Break, cst.Return)) -> bool:
    """A try that leaves the loop on success (by one of `exits`) and swallows the failure, at
    least on some path of a handler (`if retryable: continue` before a `raise`): a retry."""
    leaves = _has_exit(node.body.body, exits) or (node.orelse is not None and _has_exit(node.orelse.body.body, exits))
    if not leaves:
        return False
    for handler in node.handlers:
        body = handler.body.body
        last = body[-1] if body else None
        if isinstance(last, cst.SimpleStatementLine) and any(isinstance(s, cst.Raise) for s in last.body):
            if _has_exit(body, (cst.Continue,)):
                return True
            continue
        return True
    return False


def _has_exit(statements: "Sequence[Union[cst.BaseStatement, cst.BaseSmallStatement]]",
              exits: Tuple[type, ...] = (cst.Break, cst.Return)) -> bool:
    """Whether the statements (through `if`, `else` and `with`) hold one of `exits`."""
    for stmt in statements:
        if isinstance(stmt, cst.SimpleStatementLine):
            if any(isinstance(s, exits) for s in stmt.body):
                return True
        elif isinstance(stmt, cst.If):
            if _has_exit(stmt.body.body, exits) or (
                isinstance(stmt.orelse, cst.Else) and _has_exit(stmt.orelse.body.body, exits)
            ) or (isinstance(stmt.orelse, cst.If) and _has_exit([stmt.orelse], exits)):
                return True
        elif isinstance(stmt, cst.With) and _has_exit(stmt.body.body, exits):
            return True
    return False


# `result.type` values a batch result can have, for the providers whose results carry one;
# anything else never matches. (Which provider a results loop reads is known only after the
# index resolves the call, so the literal is checked against all of them.)
RESULT_TYPES = frozenset(t for record in BATCH_LIFECYCLES.values() for t in record.result_types)


class _ResultScan(cst.CSTVisitor):
    """Within a results loop: `.result.message` reads and `.result.type` checks."""

    def __init__(self, targets: Set[str]) -> None:
        super().__init__()
        self.targets = targets
        self.result_aliases: Set[str] = set()  # names bound to `<target>.result`
        self.type_aliases: Set[str] = set()  # names bound to `<target>.result.type`
        self.message_uses: List[cst.CSTNode] = []
        self.checked = False
        self.bad_literals: List[Tuple[cst.CSTNode, str]] = []

    def _is_result(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name):
            return node.value in self.result_aliases
        return (
            isinstance(node, cst.Attribute)
            and node.attr.value == "result"
            and isinstance(node.value, cst.Name)
            and node.value.value in self.targets
        )

    def _is_type(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name):
            return node.value in self.type_aliases
        return isinstance(node, cst.Attribute) and node.attr.value == "type" and self._is_result(node.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                if self._is_result(node.value):
                    self.result_aliases.add(target.target.value)
                elif self._is_type(node.value):
                    self.type_aliases.add(target.target.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "message" and self._is_result(node.value):
            self.message_uses.append(node)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        sides = [node.left] + [c.comparator for c in node.comparisons]
        if not any(self._is_type(side) for side in sides):
            return
        self.checked = True
        for side in sides:
            for found in _string_literals(side):
                if found[1] not in RESULT_TYPES:
                    self.bad_literals.append(found)

    def visit_Match(self, node: cst.Match) -> None:
        if self._is_type(node.subject) or self._is_result(node.subject):
            self.checked = True
            for case in node.cases:
                pattern = case.pattern
                if isinstance(pattern, cst.MatchValue):
                    for literal in _string_literals(pattern.value):
                        if literal[1] not in RESULT_TYPES:
                            self.bad_literals.append(literal)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (
            isinstance(func, cst.Name)
            and func.value in ("isinstance", "hasattr", "getattr")
            and node.args
            and self._is_result(node.args[0].value)
        ):
            self.checked = True


class _InlineScan(cst.CSTVisitor):
    """Within a loop over inline results (a Gemini job's `dest.inlined_responses`): reads of
    `<target>.response.<...>`, and whether a test looks at `<target>.error` or `<target>.response`
    first (a failed request has an error and no response)."""

    def __init__(self, targets: Set[str]) -> None:
        super().__init__()
        self.targets = targets
        self.message_uses: List[cst.CSTNode] = []
        self.checked = False
        self.bad_literals: List[Tuple[cst.CSTNode, str]] = []
        self.fields = {field for pair in RESULT_FIELDS for field in pair}
        self.values = {pair[0] for pair in RESULT_FIELDS}

    def _field(self, node: cst.CSTNode) -> Optional[str]:
        if (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
                and node.value.value in self.targets and node.attr.value in self.fields):
            return node.attr.value
        return None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self._field(node.value) in self.values:
            self.message_uses.append(node)

    def _test(self, test: Optional[cst.CSTNode]) -> None:
        if test is not None and any(self._field(current) is not None for current in descendants(test)):
            self.checked = True

    def visit_If(self, node: cst.If) -> None:
        self._test(node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._test(node.test)

    def visit_While(self, node: cst.While) -> None:
        self._test(node.test)

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        self._test(node.left)

    def visit_CompIf(self, node: cst.CompIf) -> None:
        self._test(node.test)


def _string_literals(node: cst.BaseExpression) -> List[Tuple[cst.CSTNode, str]]:
    if isinstance(node, cst.SimpleString):
        value = literal(node)
        return [(node, value)] if isinstance(value, str) else []
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        out = []
        for el in node.elements:
            out.extend(_string_literals(el.value))
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

    def origin(self, node: cst.BaseExpression, scope: Scope, depth: int = 0) -> Optional[int]:
        if depth > 8:
            return None
        while isinstance(node, cst.Await):
            node = node.expression
        if isinstance(node, cst.Call):
            if id(node) in self.results:
                return self.results[id(node)]
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in _LINE_METHODS:
                return self.origin(func.value, scope, depth + 1)
            if isinstance(func, cst.Name) and func.value in ("list", "tuple", "iter", "sorted") and len(node.args) == 1:
                return self.origin(node.args[0].value, scope, depth + 1)
            return None
        if isinstance(node, cst.Attribute) and node.attr.value in _TEXT_ATTRIBUTES:
            return self.origin(node.value, scope, depth + 1)
        if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Slice):
            return self.origin(node.value, scope, depth + 1)
        if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
            return self.origin(node.for_in.iter, scope, depth + 1)
        if isinstance(node, cst.Name):
            return self._name_origin(node.value, scope, depth)
        return None

    def mentions(self, node: cst.BaseExpression, scope: Scope, depth: int = 0) -> bool:
        """Whether anything in an expression (or in what a name in it was assigned) comes from
        the results, in any order: then pairing it with the results is not matching inputs."""
        if depth > 3:
            return True
        stack: List[cst.CSTNode] = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.BaseExpression) and self.origin(current, scope) is not None:
                return True
            if isinstance(current, cst.Name):
                for binding in self.reader.ev.lookup(current.value, scope) or []:
                    value = binding.node
                    if binding.kind in ("assign", "with") and value is not None and value is not node:
                        if self.mentions(value, binding.scope, depth + 1):
                            return True
            stack.extend(child_nodes(current))
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
                if isinstance(node, cst.For):
                    found = self.origin(node.iter, owner, depth + 1)
                    if found is not None:
                        return found
        return None


def _counter(node: cst.BaseExpression) -> bool:
    """`range(...)` / `itertools.count()`: numbering, not a collection of inputs."""
    if not isinstance(node, cst.Call):
        return False
    return last_name(node) in ("range", "count")


def _subscripts_by(body: cst.CSTNode, index: str) -> List[cst.Subscript]:
    """`x[i]` and `df.loc[i, "col"]` in a loop body, in source order."""
    out: List[cst.Subscript] = []
    stack: List[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(node, cst.Subscript) and node.slice and isinstance(node.slice[0].slice, cst.Index):
            value = node.slice[0].slice.value
            if isinstance(value, cst.Name) and value.value == index:
                out.append(node)
        stack.extend(reversed(child_nodes(node)))
    return out


def _assigned_subscripts(body: cst.CSTNode) -> Set[int]:
    """Ids of subscripts that are a whole assignment target (`out[i] = ...`)."""
    return {id(t.target) for node in descendants(body) if isinstance(node, cst.Assign)
            for t in node.targets if isinstance(t.target, cst.Subscript)}


def _placeholder(node: Optional[cst.CSTNode]) -> bool:
    """`[]`, `{}`, `[None] * n`, `list()`, `dict()`: a container with nothing of the inputs yet."""
    if isinstance(node, (cst.List, cst.Dict)) and not node.elements:
        return True
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
        return isinstance(node.left, cst.List) and all(
            isinstance(e.value, (cst.Name, cst.SimpleString, cst.Integer)) for e in node.left.elements
        ) and not any(isinstance(e.value, cst.Name) and e.value.value not in ("None", "True", "False")
                      for e in node.left.elements)
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
            and node.func.value in ("list", "dict") and not node.args)


def _root_name(node: cst.BaseExpression) -> Optional[str]:
    while isinstance(node, (cst.Attribute, cst.Subscript, cst.Call)):
        node = node.func if isinstance(node, cst.Call) else node.value
    return node.value if isinstance(node, cst.Name) else None


def _names_custom_id(node: cst.CSTNode) -> bool:
    return any(
        (isinstance(current, cst.Attribute) and current.attr.value == "custom_id")
        or (isinstance(current, cst.SimpleString) and literal(current) == "custom_id")
        for current in descendants(node)
    )
