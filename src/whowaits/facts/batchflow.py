"""Which statuses a batch can be in where its results are read, path by path.

A small abstract interpreter over each function's statements. From a create or retrieve of a
batch, it follows the status checks the code makes on the way to a results read (`if`, `while`,
early `return` / `continue` / `break`, `match`, helpers of the same module that wait) and keeps,
per batch, the set of statuses that can still reach each point. A read that an `in_progress`
batch can reach is a read before the batch ended.

Statuses are every provider's values at once (the provider of a batch is only known once the
project index has resolved its client); the checks intersect with the provider's record.
Precision comes first: a check the interpreter cannot read, a loop that can end for another
reason than the batch's status, or a helper of another module the batch is handed to makes the
batch's status unknown, and an unknown status is never reported.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, replace
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple, Union

from whowaits.core import BatchReadFact, ParamRef, RawCall, Span
from whowaits.facts.positions import CodeFor
from whowaits.facts.scopes import CallInfo, COMPREHENSION_KINDS, COMPREHENSIONS, FuncInfo, FUNCTIONS, ModuleIndex, parameter_names, Scope
from whowaits.facts.syntax import (
    COMPOUND_STATEMENTS, arguments, child_items, child_nodes, inline, is_name, is_string, is_strings, lines_of, name_of,
    positional, subscript_elements,
)
from whowaits.facts.values import Evaluator, Ext, FuncV
from whowaits.knowledge.batches import (
    ALL_STATUSES,
    ENDED_FLAGS,
    ENDED_STATUSES,
    ID_FIELDS,
    OUTPUT_FIELDS,
    OUTPUT_STATUSES,
    RUNNING_STATUSES,
    STATUS_FIELDS,
)
from whowaits.knowledge.libraries import NO_RETURN_FUNCTIONS, VALUE_METHODS
from whowaits.knowledge.sdk import METHODS, PASSTHROUGH_SEGMENTS, SDK_MODULES

UNKNOWN = "?"  # a status the interpreter could not follow; it keeps a read from being reported
_MAX_ROUNDS = 3  # loop bodies are re-run until the loop-head state settles, at most this often
_MAX_STEPS = 20_000  # statements interpreted per function before giving up on it
# Nodes whose insides run at another time, by exact class (`ast`'s classes have no subclasses).
_DEFINITIONS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda})
_HARMLESS_ROOTS: FrozenSet[str] = frozenset(getattr(sys, "stdlib_module_names", ())) | {
    root.split(".")[0] for root in SDK_MODULES
}
_ID_KEYWORDS = ("batch_id", "message_batch_id", "name", "jobIdentifier", "id")
_FILE_KEYWORDS = ("file", "file_id")


def _batch_methods(kinds: Sequence[str]) -> Tuple[str, ...]:
    """Method paths of every provider whose operation is one of `kinds`, longest first."""
    found = {m for table in METHODS.values() for m, kind in table.items() if kind in kinds}
    return tuple(sorted(found, key=len, reverse=True))


_CREATES = _batch_methods(("batch_submit",))
_RETRIEVES = tuple(m for m in _batch_methods(("batch_poll",)) if not m.rsplit(".", 1)[-1].startswith("list"))
_RESULTS = _batch_methods(("batch_results",))


def call_role(target: Union[str, ParamRef]) -> Optional[str]:
    """"create", "retrieve" or "results" for a candidate call's value path, by its method tail."""
    path = target.rest if isinstance(target, ParamRef) else target
    clean = ".".join(s for s in path.split(".") if s not in PASSTHROUGH_SEGMENTS)
    for role, methods in (("results", _RESULTS), ("create", _CREATES), ("retrieve", _RETRIEVES)):
        if any(clean == m or clean.endswith("." + m) for m in methods):
            return role
    return None


@dataclass(frozen=True)
class KeyState:
    """What is known about one batch at a point of the function."""

    statuses: FrozenSet[str]
    origins: FrozenSet[int] = frozenset()  # call ids of the creates / retrieves it comes from
    checks: FrozenSet[int] = frozenset()  # lines of the status checks passed
    from_param: bool = False  # the batch came in as a parameter: its history is the caller's

    def join(self, other: "KeyState") -> "KeyState":
        return KeyState(
            self.statuses | other.statuses,
            self.origins | other.origins,
            self.checks | other.checks,
            self.from_param or other.from_param,
        )


State = Dict[str, KeyState]


def _join(states: Iterable[Optional[State]]) -> Optional[State]:
    out: Optional[State] = None
    for state in states:
        if state is None:
            continue
        if out is None:
            out = dict(state)
            continue
        for key, value in state.items():
            out[key] = out[key].join(value) if key in out else value
    return out


@dataclass
class _Summary:
    """A helper's effect on its caller's batches: statuses at its normal exits, per parameter
    position (none: it leaves them as they were), and the state of the batch it returns."""

    params: Dict[int, KeyState]
    returned: Optional[KeyState]
    # Parameter position -> (node, call id) of a results read the helper makes without checking the
    # batch itself: whether it can run before the batch ended is up to each caller.
    reads: Dict[int, Tuple[ast.AST, int]]


@dataclass
class _Loop:
    breaks: List[State]
    continues: List[State]


class _Budget(Exception):
    """A function too large to interpret within `_MAX_STEPS`."""


class BatchFlow:
    """Runs the interpreter over every function of a module and collects the reads."""

    def __init__(
        self,
        index: ModuleIndex,
        evaluator: Evaluator,
        code_for: CodeFor,
        calls: Sequence[Tuple[CallInfo, RawCall]],
    ) -> None:
        self.index = index
        self.ev = evaluator
        self.code_for = code_for
        self.calls: Dict[int, Tuple[CallInfo, RawCall, Optional[str]]] = {}
        for info, raw in calls:
            self.calls.setdefault(id(info.node), (info, raw, call_role(raw.target)))
        self.call_scope = {id(info.node): info.scope for info in index.calls}
        self.summaries: Dict[int, Optional[_Summary]] = {}
        self.waiting: Dict[int, bool] = {}
        self.reads: Dict[int, Tuple[Span, int, Optional[KeyState]]] = {}

    # -- entry ---------------------------------------------------------------------------------

    def facts(self) -> Tuple[BatchReadFact, ...]:
        if not any(role is not None for _, _, role in self.calls.values()):
            return ()
        bodies: List[Tuple[Scope, Sequence[ast.stmt]]] = [(self.index.module_scope, self.index.module_body)]
        bodies += [(f.scope, f.node.body) for f in self.index.functions if isinstance(f.node, FUNCTIONS)]
        for scope, statements in bodies:
            try:
                _Run(self, scope).body(statements)
            except _Budget:
                continue
        out = []
        for span, call_id, state in sorted(self.reads.values(), key=lambda r: (r[0].line, r[0].col)):
            if state is None or not state.origins or state.from_param or UNKNOWN in state.statuses:
                continue
            out.append(BatchReadFact(span, call_id, tuple(sorted(state.statuses)), tuple(sorted(state.origins)),
                                     tuple(sorted(state.checks))))
        return tuple(out)

    def may_wait(self, func: FuncInfo, depth: int = 0) -> bool:
        """Whether a function of the module reads a batch's status, itself or through its helpers."""
        key = id(func.node)
        if key in self.waiting:
            return self.waiting[key]
        if depth > 3:
            return True
        self.waiting[key] = False  # recursion
        found = any(role == "retrieve" and _inside(info.scope, func.scope) for info, _, role in self.calls.values())
        for info in self.index.calls:
            if found:
                break
            if _inside(info.scope, func.scope):
                callee = self.ev.eval(info.node.func, info.scope)
                found = isinstance(callee, FuncV) and callee.func is not func and self.may_wait(callee.func, depth + 1)
        self.waiting[key] = found
        return found

    def summary(self, func: FuncInfo) -> Optional[_Summary]:
        func_key = id(func.node)
        if func_key in self.summaries:
            return self.summaries[func_key]
        self.summaries[func_key] = None  # recursion: no summary
        if not isinstance(func.node, FUNCTIONS):
            return None
        names = parameter_names(func.node.args, keyword_only=False)
        run = _Run(self, func.scope, summarising=True)
        run.prepare(func.node.body)
        initial: State = {}
        for name in names:
            initial[run.rep(name)] = KeyState(ALL_STATUSES, from_param=True)
        try:
            end = run.body(func.node.body, initial)
        except _Budget:
            return None
        exits = _join([end, *(s for s, _ in run.returns)])
        effects: Dict[int, KeyState] = {}
        if exits is not None:
            for i, name in enumerate(names):
                effect = exits.get(run.rep(name))
                if effect is not None and effect.statuses != ALL_STATUSES:
                    effects[i] = effect
        returned: Optional[KeyState] = None
        for exit_state, returned_key in run.returns:
            if returned_key is not None and returned_key in exit_state:
                found = exit_state[returned_key]
                returned = found if returned is None else returned.join(found)
        reads: Dict[int, Tuple[ast.AST, int]] = {}
        for i, name in enumerate(names):
            for node, call_id, read_key, read_state in run.param_reads:
                as_handed = read_state.get(read_key)
                if (read_key == run.rep(name) and as_handed is not None and as_handed.from_param
                        and as_handed.statuses == ALL_STATUSES):
                    reads.setdefault(i, (node, call_id))
        result = _Summary(effects, returned, reads)
        self.summaries[func_key] = result
        return result


class _Run:
    """One interpretation of one function (or of the module's top level)."""

    def __init__(self, flow: BatchFlow, scope: Scope, summarising: bool = False) -> None:
        self.flow = flow
        self.scope = scope
        self.summarising = summarising
        self.loops: List[_Loop] = []
        self.returns: List[Tuple[State, Optional[str]]] = []
        self.param_reads: List[Tuple[ast.AST, int, str, State]] = []  # reads seen while summarising
        self.steps = 0
        self.parent: Dict[str, str] = {}
        self.status_alias: Dict[str, str] = {}
        self.output_alias: Dict[str, str] = {}
        self._prepared = False

    # -- keys --------------------------------------------------------------------------------

    def rep(self, key: str) -> str:
        while key in self.parent:
            key = self.parent[key]
        return key

    def _union(self, a: Optional[str], b: Optional[str]) -> None:
        if a is None or b is None:
            return
        ra, rb = self.rep(a), self.rep(b)
        if ra != rb:
            self.parent[rb] = ra

    def key_of(self, node: ast.AST, depth: int = 0) -> Optional[str]:
        """The batch an expression names: `batch`, `batch.id`, a name bound to `batch.id`."""
        while isinstance(node, ast.Await):
            node = node.value
        if depth > 6:
            return None
        if isinstance(node, ast.Attribute) and node.attr in ID_FIELDS:
            return self.key_of(node.value, depth + 1)
        if isinstance(node, ast.Subscript) and _string_index(node) in ID_FIELDS:
            return self.key_of(node.value, depth + 1)
        if is_name(node):
            name = name_of(node)
            bindings = self.flow.ev.lookup(name, self.scope) or []
            if len(bindings) == 1 and bindings[0].kind == "assign" and bindings[0].node is not None:
                value = bindings[0].node
                if (isinstance(value, ast.Attribute) and value.attr in ID_FIELDS) or (
                    isinstance(value, ast.Subscript) and _string_index(value) in ID_FIELDS
                ):
                    return self.key_of(value, depth + 1)
            return self.rep(name)
        if isinstance(node, (ast.Attribute, ast.Subscript)) and _plain_chain(node):
            return self.rep(self.flow.code_for(node))
        return None

    def _id_argument(self, call: ast.Call) -> Optional[ast.expr]:
        given = positional(call)
        if given:
            return given[0]
        for arg in call.keywords:
            if arg.arg in _ID_KEYWORDS + _FILE_KEYWORDS:
                return arg.value
        return None

    def status_key(self, node: ast.AST) -> Optional[str]:
        """The batch whose status an expression reads: `b.processing_status`, `job.state.name`."""
        if isinstance(node, ast.Attribute) and node.attr in ("name", "value"):
            inner = self.status_key(node.value)
            if inner is not None:
                return inner
        base: Optional[ast.AST] = None
        if isinstance(node, ast.Attribute) and node.attr in STATUS_FIELDS:
            base = node.value
        elif isinstance(node, ast.Subscript) and _string_index(node) in STATUS_FIELDS:
            base = node.value
        elif is_name(node) and name_of(node) in self.status_alias:
            return self.rep(self.status_alias[name_of(node)])
        if base is None:
            return None
        while isinstance(base, ast.Await):
            base = base.value
        if isinstance(base, ast.Call):
            role = self._role(base)
            argument = self._id_argument(base)
            return self.key_of(argument) if role == "retrieve" and argument is not None else None
        return self.key_of(base)

    def output_key(self, node: ast.AST) -> Optional[str]:
        """The batch an output expression belongs to: `b.output_file_id`, `job.dest.file_name`."""
        if is_name(node) and name_of(node) in self.output_alias:
            return self.rep(self.output_alias[name_of(node)])
        current = node
        while isinstance(current, (ast.Attribute, ast.Subscript)):
            if isinstance(current, ast.Attribute) and current.attr in OUTPUT_FIELDS:
                return self.key_of(current.value)
            current = current.value
        return None

    def _ended_flag_key(self, node: ast.AST) -> Optional[str]:
        if isinstance(node, ast.Attribute) and node.attr in ENDED_FLAGS:
            return self.key_of(node.value)
        return None

    def _role(self, call: ast.Call) -> Optional[str]:
        found = self.flow.calls.get(id(call))
        return found[2] if found else None

    def prepare(self, statements: Sequence[ast.AST]) -> None:
        """Aliases, flow-insensitively: `b = retrieve(batch_id)` makes `b` and `batch_id` one batch;
        `status = b.processing_status` and `fid = b.output_file_id` name its status and output."""
        if self._prepared:
            return
        self._prepared = True
        stack: List[ast.AST] = list(statements)
        assigns: List[Tuple[str, ast.Assign]] = []  # `name = value`
        while stack:
            node = stack.pop()
            if type(node) in _DEFINITIONS:
                continue
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(target := node.targets[0], ast.Name):
                assigns.append((target.id, node))
            stack.extend(child_nodes(node))
        for name, node in assigns:
            value = node.value
            while isinstance(value, ast.Await):
                value = value.value
            if isinstance(value, ast.Call) and self._role(value) == "retrieve":
                argument = self._id_argument(value)
                if argument is not None:
                    self._union(name, self.key_of(argument))
        for name, node in assigns:
            status = self.status_key(node.value)
            if status is not None:
                self.status_alias[name] = status
                continue
            output = self.output_key(node.value)
            if output is not None:
                self.output_alias[name] = output

    # -- statements --------------------------------------------------------------------------

    def body(self, statements: Sequence[ast.stmt], state: Optional[State] = None) -> Optional[State]:
        """Runs a block. A block written after its header's colon (`if done: return x`) is read
        as expressions only: its statements do not end a path there."""
        self.prepare(statements)
        current: Optional[State] = {} if state is None else state
        if inline(statements):
            for stmt in statements:
                if current is None:
                    return None
                self._step()
                current = self.expression(stmt, current)
            return current
        for line in lines_of(statements):
            if current is None:
                return None
            current = self.statement(line, current)
        return current

    def _step(self) -> None:
        self.steps += 1
        if self.steps > _MAX_STEPS:
            raise _Budget()

    def statement(self, line: List[ast.stmt], state: State) -> Optional[State]:
        """One line of a block: a compound statement, or the simple statements on it."""
        self._step()
        stmt = line[0]
        if type(stmt) not in COMPOUND_STATEMENTS:
            current: Optional[State] = state
            for small in line:
                if current is None:
                    return None
                current = self.small(small, current)
            return current
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return state
        if isinstance(stmt, ast.If):
            yes, no = self.test(stmt.test, state)
            out_yes = self.body(stmt.body, yes)
            if not stmt.orelse:
                return _join([out_yes, no])
            elif_ = self.flow.index.elif_of(stmt)
            if elif_ is not None:
                return _join([out_yes, self.statement([elif_], no)])
            return _join([out_yes, self.body(stmt.orelse, no)])
        if isinstance(stmt, ast.While):
            return self.loop(stmt, state)
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            state = self.expression(stmt.iter, state)
            self.iteration_read(stmt.iter, state)
            return self.loop(stmt, self.unbind(stmt.target, state))
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                state = self.expression(item.context_expr, state)
            return self.body(stmt.body, state)
        if type(stmt).__name__ in ("Try", "TryStar"):
            return self.try_(stmt, state)
        if type(stmt).__name__ == "Match":
            return self.match(stmt, state)
        return self.expression(stmt, state)

    def small(self, node: ast.stmt, state: State) -> Optional[State]:
        if isinstance(node, ast.Return):
            state = self.expression(node.value, state) if node.value is not None else state
            key = self.key_of(node.value) if node.value is not None else None
            self.returns.append((state, key))
            return None
        if isinstance(node, ast.Raise):
            return None
        if isinstance(node, ast.Assert):
            return self.test(node.test, state)[0]
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and self._no_return(node.value):
            self.expression(node, state)
            return None
        if isinstance(node, ast.Break):
            if self.loops:
                self.loops[-1].breaks.append(state)
            return None
        if isinstance(node, ast.Continue):
            if self.loops:
                self.loops[-1].continues.append(state)
            return None
        if isinstance(node, ast.Assign):
            state = self.expression(node.value, state)
            for target in node.targets:
                state = self.assign(target, node.value, state)
            return state
        if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            value = node.value
            state = self.expression(value, state) if value is not None else state
            return self.unbind(node.target, state)
        return self.expression(node, state)

    def assign(self, target: ast.expr, value: ast.expr, state: State) -> State:
        """`b = create(...)` / `b = retrieve(id)` start a batch's history; `b = wait(id)` takes
        a helper's; binding anything else to a batch's name forgets what was known about it."""
        if not isinstance(target, ast.Name):
            return self.unbind(target, state)
        name = target.id
        if self.key_of(target) != self.rep(name):
            return state  # `batch_id = batch.id`: another name for a batch, not a new one
        inner = value
        while isinstance(inner, ast.Await):
            inner = inner.value
        if isinstance(inner, ast.Call):
            role = self._role(inner)
            found = self.flow.calls.get(id(inner))
            if role in ("create", "retrieve") and found is not None:
                statuses = RUNNING_STATUSES if role == "create" else ALL_STATUSES
                state = dict(state)
                state[self.rep(name)] = KeyState(statuses, frozenset({found[1].call_id}))
                return state
            summary = self._local_summary(inner)
            if summary is not None and summary.returned is not None:
                state = dict(state)
                state[self.rep(name)] = summary.returned
                return state
        return self.unbind(target, state)

    def unbind(self, target: ast.expr, state: State) -> State:
        names = [n for n in _target_names(target)]
        keys = {self.rep(n) for n in names if self.key_of(ast.Name(id=n)) == self.rep(n)}
        if not keys & set(state):
            return state
        return {k: v for k, v in state.items() if k not in keys}

    def loop(self, node: Union[ast.While, ast.For, ast.AsyncFor], entry: State) -> Optional[State]:
        test = node.test if isinstance(node, ast.While) else None
        forever = test is not None and _always_true(test)
        head = entry
        frame = _Loop([], [])
        for _ in range(_MAX_ROUNDS):
            frame = _Loop([], [])
            self.loops.append(frame)
            try:
                inside = self.test(test, head)[0] if test is not None else head
                out = self.body(node.body, inside)
            finally:
                self.loops.pop()
            new_head = _join([entry, out, *frame.continues]) or {}
            if new_head == head:
                break
            head = new_head
        if test is not None:
            exit_state: Optional[State] = None if forever else self.test(test, head)[1]
            status_test = not forever and self._mentions_status(test)
        else:
            exit_state, status_test = head, False
        if exit_state is not None and not status_test:
            # The loop can end for another reason than the batch's status (a count, a clock, a
            # flag): what it saw of a batch it polled is not known at the exit.
            exit_state = {k: (replace(v, statuses=v.statuses | {UNKNOWN}) if entry.get(k) != v else v)
                          for k, v in exit_state.items()}
        if node.orelse and exit_state is not None:
            exit_state = self.body(node.orelse, exit_state)
        return _join([exit_state, *frame.breaks])

    def try_(self, node: Any, state: State) -> Optional[State]:
        """`try`, and `try` with `except*` clauses (`ast.TryStar`, Python 3.11+)."""
        out = self.body(node.body, state)
        # An exception can come from any statement of the body: start handlers from both ends.
        start = _join([state, out]) or {}
        outs = [self.body(handler.body, start) for handler in node.handlers]
        if node.orelse and out is not None:
            out = self.body(node.orelse, out)
        joined = _join([out] + outs)
        if node.finalbody:
            final = self.body(node.finalbody, joined if joined is not None else start)
            return final if joined is not None else None
        return joined

    def match(self, node: Any, state: State) -> Optional[State]:
        """`match` (`ast.Match`, Python 3.10+)."""
        state = self.expression(node.subject, state)
        key = self.status_key(node.subject)
        remaining = state
        outs: List[Optional[State]] = []
        for case in node.cases:
            values = _pattern_strings(case.pattern) if key is not None else None
            if key is not None and values is not None and case.guard is None:
                line = self.flow.code_for.span(case).line
                outs.append(self.body(case.body, _filter(remaining, key, values, line)))
                remaining = _filter(remaining, key, ALL_STATUSES - values, line)
            else:
                outs.append(self.body(case.body, _poison(remaining, key) if key else remaining))
        if not any(type(c.pattern).__name__ == "MatchAs" and c.pattern.pattern is None for c in node.cases):
            outs.append(remaining)
        return _join(outs)

    # -- expressions -------------------------------------------------------------------------

    def expression(self, node: Optional[ast.AST], state: State) -> State:
        """Reads, creates / retrieves and helper calls inside an expression, in evaluation order;
        the parts of `a if t else b`, `t and a` and `[a for x in xs if t]` only under their test."""
        if node is None or type(node) in _DEFINITIONS:
            return state
        if isinstance(node, ast.IfExp):
            state = self.expression(node.test, state)
            yes, no = self._condition(node.test, state)
            self.expression(node.body, yes)
            self.expression(node.orelse, no)
            return state
        if isinstance(node, ast.BoolOp):
            # `a and b and c` runs as `(a and b) and c`: each operand after the first only
            # under the operands before it.
            conjunction = isinstance(node.op, ast.And)
            values = node.values
            state = self.expression(values[0], state)
            yes, no = self._condition(values[0], state)
            for i in range(1, len(values)):
                self.expression(values[i], yes if conjunction else no)
                if i + 1 < len(values):
                    yes, no = self._then(yes, no, values[i], conjunction)
            return state
        if type(node) in COMPREHENSION_KINDS and isinstance(node, COMPREHENSIONS):
            return self._comprehension(node, state)
        for child in child_nodes(node):
            state = self.expression(child, state)
        if isinstance(node, ast.Call):
            state = self.call(node, state)
        return state

    def _comprehension(self, node: Union[ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp], state: State) -> State:
        inner = state
        for clause in node.generators:
            inner = self.expression(clause.iter, inner)
            self.iteration_read(clause.iter, inner)
            inner = self.unbind(clause.target, inner)
            for condition in clause.ifs:
                inner = self.expression(condition, inner)
                inner = self._condition(condition, inner)[0]
        parts = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
        for part in parts:
            self.expression(part, inner)
        return state

    def call(self, call: ast.Call, state: State) -> State:
        found = self.flow.calls.get(id(call))
        role = found[2] if found else None
        if found is not None and role == "results":
            argument = self._id_argument(call)
            if argument is not None:
                key = self.output_key(argument) or self.key_of(argument)
                self.record(call, found[1].call_id, key, state)
            return state
        if found is not None and role == "retrieve":
            argument = self._id_argument(call)
            key = self.key_of(argument) if argument is not None else None
            if key is not None:
                state = dict(state)
                state[self.rep(key)] = KeyState(ALL_STATUSES, frozenset({found[1].call_id}))
            return state
        if found is not None or not state:
            return state
        callee = self._callee(call)
        if isinstance(callee, FuncV) and self.flow.may_wait(callee.func):
            # A helper of the module that polls may wait for a batch it reaches through `self` or
            # a global; what it leaves known about the caller's batches is what it is handed.
            summary = self.flow.summary(callee.func)
            handed = {k for k in self._argument_keys(call) if k in state}
            if summary is None or not handed:
                return _poison_keys(state, set(state))
        keys = {k for k in (self._argument_keys(call)) if k in state}
        if not keys:
            return state
        summary = self._local_summary(call)
        if summary is not None:
            state = dict(state)
            offset = 1 if self._bound_method(call) else 0
            for i, arg in enumerate(positional(call)):
                key = self.key_of(arg)
                read = summary.reads.get(i + offset)
                if key is not None and read is not None:
                    # The helper reads this batch's results as it is handed over: the read happens here.
                    self.record(call, read[1], key, state)
                effect = summary.params.get(i + offset)
                if key is not None and key in state and effect is not None:
                    before = state[key]
                    state[key] = KeyState(effect.statuses, before.origins | effect.origins,
                                          before.checks | effect.checks, before.from_param)
            return state
        if self._harmless(call):
            return state
        return _poison_keys(state, keys)

    def _argument_keys(self, call: ast.Call) -> Set[str]:
        keys: Set[str] = set()
        for arg in arguments(call):
            for node in [arg.value] + _names_and_chains(arg.value):
                key = self.key_of(node) if is_name(node) or isinstance(node, (ast.Attribute, ast.Subscript)) else None
                if key is not None:
                    keys.add(key)
                out = self.output_key(node) if is_name(node) or isinstance(node, ast.Attribute) else None
                if out is not None:
                    keys.add(out)
        return keys

    def _callee(self, call: ast.Call) -> object:
        return self.flow.ev.eval(call.func, self.flow.call_scope.get(id(call), self.scope))

    def _local_summary(self, call: ast.Call) -> Optional[_Summary]:
        callee = self._callee(call)
        if isinstance(callee, FuncV):
            return self.flow.summary(callee.func)
        return None

    def _bound_method(self, call: ast.Call) -> bool:
        callee = self._callee(call)
        return isinstance(callee, FuncV) and callee.func.cls is not None and isinstance(call.func, ast.Attribute)

    def _no_return(self, call: ast.Call) -> bool:
        """`sys.exit(...)`, `st.stop()`, `parser.error(...)`: the path ends here."""
        callee = self._callee(call)
        if isinstance(callee, Ext):
            return callee.path in NO_RETURN_FUNCTIONS
        func = call.func
        return (callee is None and is_name(func) and name_of(func) in NO_RETURN_FUNCTIONS
                and self.flow.ev.lookup(name_of(func), self.scope) is None)

    def _harmless(self, call: ast.Call) -> bool:
        """Calls that cannot wait for a batch: builtins, the standard library, the SDKs."""
        callee = self._callee(call)
        if isinstance(callee, Ext):
            return callee.path.split(".")[0] in _HARMLESS_ROOTS
        func = call.func
        if callee is None and is_name(func):
            return self.flow.ev.lookup(name_of(func), self.scope) is None
        if callee is None and isinstance(func, ast.Attribute):
            # A method of a value (`text.split()`, `ids.append(batch.id)`): not a helper.
            return func.attr in VALUE_METHODS
        return False

    def iteration_read(self, iterable: ast.expr, state: State) -> None:
        """Iterating a results attribute (`job.dest.inlined_responses`) reads the results."""
        key = self.output_key(iterable) if isinstance(iterable, (ast.Attribute, ast.Subscript)) else None
        if key is not None:
            self.record(iterable, -1, key, state)

    def record(self, node: ast.AST, call_id: int, key: Optional[str], state: State) -> None:
        if self.summarising:
            if key is not None:
                self.param_reads.append((node, call_id, self.rep(key), state))
            return
        found = state.get(self.rep(key)) if key is not None else None
        previous = self.flow.reads.get(id(node))
        if previous is not None:
            found = previous[2].join(found) if previous[2] is not None and found is not None else (previous[2] or found)
        self.flow.reads[id(node)] = (self.flow.code_for.span(node), call_id, found)

    # -- tests -------------------------------------------------------------------------------

    def test(self, node: ast.expr, state: State) -> Tuple[State, State]:
        """The states where a condition is true and where it is false."""
        state = self.expression(node, state)
        return self._condition(node, state)

    def _condition(self, node: ast.expr, state: State) -> Tuple[State, State]:
        if isinstance(node, ast.BoolOp):
            conjunction = isinstance(node.op, ast.And)
            yes, no = self._condition(node.values[0], state)
            for value in node.values[1:]:
                yes, no = self._then(yes, no, value, conjunction)
            return yes, no
        line = self.flow.code_for.span(node).line
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yes, no = self._condition(node.operand, state)
            return no, yes
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            found = self._comparison(node)
            if found is not None:
                key, values = found
                if key in state:
                    return _filter(state, key, values, line), _filter(state, key, ALL_STATUSES - values, line)
                return state, state
        for truthy, values in ((self.output_key, OUTPUT_STATUSES), (self._ended_flag_key, ENDED_STATUSES)):
            flagged = truthy(node) if isinstance(node, ast.Attribute) or is_name(node) else None
            if flagged is not None:
                return _filter(state, flagged, values, line), _filter(state, flagged, ALL_STATUSES - values, line)
        touched = {k for k in self._mentioned_keys(node) if k in state}
        if touched:
            poisoned = _poison_keys(state, touched)
            return poisoned, poisoned
        return state, state

    def _then(self, yes: State, no: State, value: ast.expr, conjunction: bool) -> Tuple[State, State]:
        """The states where `left and value` (or `left or value`) is true and false, from
        those of `left`: `a and b and c` is `(a and b) and c`, one operand at a time (a chain
        of thousands of operands costs its length, not its square)."""
        if conjunction:
            right_yes, right_no = self._condition(value, yes)
            return right_yes, _join([no, right_no]) or {}
        right_yes, right_no = self._condition(value, no)
        return _join([yes, right_yes]) or {}, right_no

    def _comparison(self, node: ast.Compare) -> Optional[Tuple[str, FrozenSet[str]]]:
        """(batch, statuses for which it is true) of `status == "x"`, `status in (...)`,
        `output_file_id is not None`."""
        left, op, right = node.left, type(node.ops[0]), node.comparators[0]
        for side, other in ((left, right), (right, left)):
            for set_key, when_set in ((self.output_key, OUTPUT_STATUSES), (self._ended_flag_key, ENDED_STATUSES)):
                found = set_key(side) if isinstance(side, ast.Attribute) or is_name(side) else None
                if found is not None and is_name(other, "None"):
                    if op in (ast.IsNot, ast.NotEq):
                        return found, when_set
                    if op in (ast.Is, ast.Eq):
                        return found, ALL_STATUSES - when_set
            key = self.status_key(side)
            if key is None:
                continue
            values = self._status_values(other)
            if values is None:
                return None
            if op in (ast.Eq, ast.In, ast.Is):
                return key, values
            if op in (ast.NotEq, ast.NotIn, ast.IsNot):
                return key, ALL_STATUSES - values
            return None
        return None

    def _status_values(self, node: ast.AST, depth: int = 0) -> Optional[FrozenSet[str]]:
        """The status values a literal, a collection of them or a constant naming one spells."""
        if depth > 4:
            return None
        if isinstance(node, ast.Constant) and is_strings(node):
            value = node.value
            return frozenset({value}) & ALL_STATUSES if isinstance(value, str) else None
        if isinstance(node, ast.Attribute) and node.attr in ALL_STATUSES:
            return frozenset({node.attr})  # `JobState.JOB_STATE_SUCCEEDED`
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            out: Set[str] = set()
            for element in node.elts:
                inner = self._status_values(element.value if isinstance(element, ast.Starred) else element, depth + 1)
                if inner is None:
                    return None
                out |= inner
            return frozenset(out)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("set", "frozenset", "tuple", "list") and len(arguments(node)) == 1):
            return self._status_values(arguments(node)[0].value, depth + 1)
        if is_name(node):
            bindings = self.flow.ev.lookup(name_of(node), self.scope) or []
            if len(bindings) == 1 and bindings[0].kind == "assign" and bindings[0].node is not None:
                return self._status_values(bindings[0].node, depth + 1)
        return None

    def _mentioned_keys(self, node: ast.AST) -> Set[str]:
        keys: Set[str] = set()
        for part in [node] + _names_and_chains(node):
            if isinstance(part, (ast.Attribute, ast.Subscript)):
                base = part.value
                key = self.key_of(base) if is_name(base) or isinstance(base, (ast.Attribute, ast.Subscript)) else None
                if key is not None:
                    keys.add(key)
            if is_name(part):
                name = name_of(part)
                keys.add(self.key_of(part) or name)  # a batch handed to a predicate
                for aliases in (self.status_alias, self.output_alias):
                    if name in aliases:
                        keys.add(self.rep(aliases[name]))
            status = self.status_key(part) if isinstance(part, (ast.Attribute, ast.Subscript)) else None
            if status is not None:
                keys.add(status)
        return keys

    def _mentions_status(self, node: ast.AST) -> bool:
        """A loop test that reads a batch's status or output (so the loop ends on it)."""
        for part in [node] + _names_and_chains(node):
            if (isinstance(part, (ast.Attribute, ast.Subscript)) or is_name(part)) and (
                self.status_key(part) is not None
                or (not isinstance(part, ast.Subscript) and (self.output_key(part) or self._ended_flag_key(part)))
            ):
                return True
        return False


def _inside(scope: Optional[Scope], owner: Scope) -> bool:
    while scope is not None:
        if scope is owner:
            return True
        scope = scope.parent
    return False


def _filter(state: State, key: str, values: FrozenSet[str], line: int) -> State:
    if key not in state:
        return state
    old = state[key]
    out = dict(state)
    out[key] = KeyState((old.statuses & values) | (old.statuses & {UNKNOWN}), old.origins, old.checks | {line},
                        old.from_param)
    return out


def _poison(state: State, key: Optional[str]) -> State:
    return _poison_keys(state, {key}) if key is not None else state


def _poison_keys(state: State, keys: Set[str]) -> State:
    out = dict(state)
    for key in keys:
        if key in out:
            out[key] = replace(out[key], statuses=out[key].statuses | {UNKNOWN})
    return out


def _string_index(node: ast.Subscript) -> Optional[str]:
    elements = subscript_elements(node)
    if len(elements) != 1 or isinstance(elements[0], ast.Slice):
        return None
    value = elements[0]
    if isinstance(value, ast.Constant) and is_string(value):
        text = value.value
        return text if isinstance(text, str) else None
    return None


def _plain_chain(node: ast.AST) -> bool:
    """`self.batch_id`, `st.session_state["batch_id"]`: names, attributes and literal keys only."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Subscript) and _string_index(node) is None:
            return False
        node = node.value
    return is_name(node)


def _always_true(node: ast.expr) -> bool:
    if is_name(node):
        return name_of(node) == "True"
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value != 0


def _target_names(target: ast.expr) -> List[str]:
    if isinstance(target, ast.Starred):
        target = target.value
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for el in target.elts for n in _target_names(el)]
    return []


def _pattern_strings(pattern: Any) -> Optional[FrozenSet[str]]:
    kind = type(pattern).__name__
    if kind == "MatchValue" and is_string(pattern.value):
        value = pattern.value.value
        return frozenset({value}) if isinstance(value, str) else None
    if kind == "MatchOr":
        out: Set[str] = set()
        for element in pattern.patterns:
            inner = _pattern_strings(element)
            if inner is None:
                return None
            out |= inner
        return frozenset(out)
    return None


def _walk(node: ast.AST) -> List[ast.AST]:
    """Sub-expressions of an expression, not entering functions, lambdas or class bodies. An
    attribute's or keyword's name comes as a name of its own (an `ast.Name` made here), right
    after the value it belongs to: batches are keyed by names, and `job.batch_id` names one."""
    out: List[ast.AST] = []
    stack: List[Union[ast.AST, str]] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(ast.Name(id=item))
            continue
        out.append(item)
        if type(item) in _DEFINITIONS:
            continue
        stack.extend(reversed(child_items(item)))
    return out


def _names_and_chains(node: ast.AST) -> List[ast.AST]:
    return [n for n in _walk(node) if is_name(n) or isinstance(n, (ast.Attribute, ast.Subscript))]
