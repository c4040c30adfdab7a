"""Batch lifecycle facts: poll loops and their sleeps, results iterations, retries, resubmits.

The facts refer to candidate calls by id; whether a call is a batch poll or a results read is
decided later, once the project index has classified it. So a poll loop over a client that
another module creates is still seen.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from whowaits.core import PollLoopFact, RawCall, ResultReadFact, RetryFact, SubmitUse
from whowaits.facts.requests import CodeFor
from whowaits.facts.scopes import CallInfo, ModuleIndex, _name_targets, child_nodes
from whowaits.facts.values import Evaluator, Ext, FuncV, Lit
from whowaits.knowledge.libraries import RETRY_DECORATORS, RETRY_ITERATORS, SLEEP_FUNCTIONS
from whowaits.knowledge.limits import RESULT_TYPES


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
        sleeps_by_loop: Dict[int, List[Tuple[object, Optional[float], str]]] = {}
        for info in self.index.calls:
            if not info.loops or self._path(info) not in SLEEP_FUNCTIONS:
                continue
            seconds: Optional[float] = None
            if info.node.args and not self._changes_in_loop(info.node.args[0].value, info):
                value = self.ev.eval(info.node.args[0].value, info.scope)
                if isinstance(value, Lit) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
                    seconds = float(value.value)
            sleeps_by_loop.setdefault(info.loops[-1], []).append(
                (self.code_for.span(info.node), seconds, self.code_for(info.node))
            )
        out = []
        for loop_id, sleeps in sorted(sleeps_by_loop.items()):
            inside = tuple(sorted(self._calls_in_loop(loop_id)))
            if inside:
                loop = self.index.loops[loop_id]
                deadline = self._deadline(loop.node, [seconds for _, seconds, _ in sleeps], loop.scope)
                out.append(PollLoopFact(self.code_for.span(loop.node), inside, tuple(sleeps), deadline))  # type: ignore[arg-type]
        return tuple(out)

    def _changes_in_loop(self, arg: cst.BaseExpression, info: CallInfo) -> bool:
        """A sleep on a name the loop rebinds (`delay = min(delay * 2, cap)`) is a backoff, not
        a fixed interval: its first value says nothing about how often the loop polls."""
        if not isinstance(arg, cst.Name):
            return False
        loop = info.loops[-1]
        return any(loop in b.loops and not isinstance(self.ev.binding_value(b), Lit)
                   for b in self.ev.lookup(arg.value, info.scope) or [])

    def _deadline(self, node: cst.CSTNode, sleeps: List[Optional[float]], scope: object) -> Optional[float]:
        """When a poll loop gives up: attempts x sleep for `for _ in range(N)`, or the literal a
        `while` test compares a clock with (`while time.time() - start < 3600`)."""
        if isinstance(node, cst.For):
            it = node.iter
            if (isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value == "range"
                    and len(it.args) == 1 and None not in sleeps and sleeps):
                count = self.ev.eval(it.args[0].value, scope)  # type: ignore[arg-type]
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
                    value = self.ev.eval(current.func, scope)  # type: ignore[arg-type]
                    if isinstance(value, Ext) and value.path in ("time.time", "time.monotonic", "time.perf_counter"):
                        clock = True
                if isinstance(current, (cst.Integer, cst.Float)):
                    limit = float(current.evaluated_value)
                elif isinstance(current, cst.Name):
                    value = self.ev.eval(current, scope)  # type: ignore[arg-type]
                    if isinstance(value, Lit) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
                        limit = float(value.value)
                stack.extend(child_nodes(current))
            return limit if clock else None
        return None

    def _calls_in_loop(self, loop_id: int) -> Set[int]:
        """Candidate calls in a loop, and in local helpers the loop calls (two levels deep)."""
        found = {raw.call_id for info, raw in self.calls if loop_id in info.loops}
        scopes = {id(info.scope) for info in self.index.calls if loop_id in info.loops}
        for _ in range(2):
            helpers = set()
            for info in self.index.calls:
                if id(info.scope) in scopes or loop_id in info.loops:
                    target = self.ev.eval(info.node.func, info.scope)
                    if isinstance(target, FuncV):
                        helpers.add(id(target.func.scope))
            found |= {raw.call_id for info, raw in self.calls if id(info.scope) in helpers}
            scopes = helpers
        return found

    # -- results iterations ----------------------------------------------------------------

    def result_reads(self) -> Tuple[ResultReadFact, ...]:
        out = []
        for loop in self.index.fors:
            call_id = self._iterated_call(loop.iter, loop.scope)
            if call_id is None:
                continue
            targets = {name for name, _ in _name_targets(loop.target)}
            if not targets:
                continue
            scan = _ResultScan(targets)
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

    def _iterated_call(self, expr: cst.BaseExpression, scope: object) -> Optional[int]:
        for _ in range(4):
            while isinstance(expr, cst.Await):
                expr = expr.expression
            if isinstance(expr, cst.Call):
                return self.call_id_of.get(id(expr))
            if not isinstance(expr, cst.Name):
                return None
            bindings = self.ev.lookup(expr.value, scope) or []  # type: ignore[arg-type]
            if len(bindings) != 1 or bindings[0].node is None or bindings[0].kind not in ("assign", "with"):
                return None
            expr, scope = bindings[0].node, bindings[0].scope  # type: ignore[assignment]
        return None

    # -- retries ---------------------------------------------------------------------------

    def retries(self) -> Tuple[RetryFact, ...]:
        out: List[RetryFact] = []
        for func in self.index.functions:
            for decorator in func.decorators:
                target = decorator.func if isinstance(decorator, cst.Call) else decorator
                value = self.ev.eval(target, func.scope.parent)  # type: ignore[arg-type]
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
        for loop_id, ids in sorted(by_loop.items()):
            node = self.index.loops[loop_id].node
            out.append(RetryFact("loop", self.code_for.span(node), "a hand-written retry loop", tuple(ids)))
        return tuple(out)

    def _is_retry_loop(self, loop_id: int) -> bool:
        loop = self.index.loops[loop_id]
        if isinstance(loop.node, cst.While):
            return True
        if isinstance(loop.node, cst.For):
            it = loop.node.iter
            return isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value == "range"
        return False

    # -- submits of named collections -----------------------------------------------------

    def submits(self) -> Tuple[SubmitUse, ...]:
        out = []
        for info, raw in self.calls:
            if raw.batch is None or raw.batch.collection is None:
                continue
            name = raw.batch.collection.rsplit(":", 1)[1]
            bindings = self.ev.lookup(name, info.scope) or []
            owner = bindings[0].scope if bindings else info.scope
            loops: Set[int] = set()
            for b in bindings:
                loops.update(b.loops)
            for _, append_loops, _ in owner.appends.get(name, []):
                loops.update(append_loops)
            out.append(SubmitUse(raw.call_id, raw.batch.collection, tuple(sorted(loops))))
        return tuple(out)


def retries_one_call(node: cst.CSTNode, evaluator: Evaluator, scope: object) -> bool:
    """A for loop that retries rather than iterates: over a retry iterator
    (`for attempt in Retrying(...)`), or over `range(...)` with a try that leaves the loop
    on success and swallows the failure. Its repeats are attempts, not items."""
    if not isinstance(node, cst.For):
        return False
    value = evaluator.eval(node.iter, scope)  # type: ignore[arg-type]
    if isinstance(value, Ext) and value.path.rstrip("()") in RETRY_ITERATORS:
        return True
    it = node.iter
    if not (isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value == "range"):
        return False
    return any(isinstance(stmt, cst.Try) and _is_retry_try(stmt) for stmt in node.body.body)  # type: ignore[attr-defined]


def _is_retry_try(node: cst.Try) -> bool:
    """A try that leaves the loop on success and swallows the failure: a retry."""
    leaves = _has_exit(node.body.body) or (node.orelse is not None and _has_exit(node.orelse.body.body))
    if not leaves:
        return False
    for handler in node.handlers:
        body = handler.body.body
        last = body[-1] if body else None
        if isinstance(last, cst.SimpleStatementLine) and any(isinstance(s, cst.Raise) for s in last.body):
            continue
        return True
    return False


def _has_exit(statements: "Tuple[cst.BaseStatement, ...] | List[cst.BaseStatement]") -> bool:
    for stmt in statements:
        if isinstance(stmt, cst.SimpleStatementLine):
            if any(isinstance(s, (cst.Break, cst.Return)) for s in stmt.body):
                return True
        elif isinstance(stmt, cst.If):
            if _has_exit(stmt.body.body) or (
                isinstance(stmt.orelse, cst.Else) and _has_exit(stmt.orelse.body.body)
            ):
                return True
        elif isinstance(stmt, cst.With) and _has_exit(stmt.body.body):
            return True
    return False


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
            for literal in _string_literals(side):
                if literal[1] not in RESULT_TYPES:
                    self.bad_literals.append(literal)

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


def _string_literals(node: cst.BaseExpression) -> List[Tuple[cst.CSTNode, str]]:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return [(node, value)] if isinstance(value, str) else []
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        out = []
        for el in node.elements:
            out.extend(_string_literals(el.value))
        return out
    return []
