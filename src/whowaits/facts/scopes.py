"""One pass over a module that records scopes, bindings and the places later passes look at.

This is whowaits' own single-pass name resolver over CPython's `ast`. Each scope keeps, per
name, the list of things bound to it (flow-insensitively), which is all the value evaluator in
`values.py` needs.
"""

from __future__ import annotations

import ast
import bisect
import re
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union, cast

from whowaits.facts.syntax import (
    arguments, child_nodes, descendants, expression_spots, formatted_values, fstring_parts, is_fstring, is_name, is_string, last_line, mark_inline, mark_pieces,
    name_of,
)
from whowaits.knowledge.batches import ALL_STATUSES, STATUS_FIELDS

COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
COMPREHENSION_KINDS = frozenset(COMPREHENSIONS)  # for `type(node) in ...`, one set lookup
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
Comprehension = Union[ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp]
Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]


@dataclass(eq=False)
class FuncInfo:
    name: str
    qualname: str
    node: Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda]
    scope: "Scope"
    cls: Optional["ClassInfo"]
    is_async: bool
    returns: List[ast.expr] = field(default_factory=list)
    decorators: List[ast.expr] = field(default_factory=list)


@dataclass(eq=False)
class ClassInfo:
    name: str
    qualname: str
    node: ast.ClassDef
    scope: "Scope"
    bases: List[ast.expr] = field(default_factory=list)
    # attribute -> [(value expression, scope to evaluate it in)]: class body and `self.x = ...`
    attrs: Dict[str, List[Tuple[ast.expr, "Scope"]]] = field(default_factory=dict)
    methods: Dict[str, FuncInfo] = field(default_factory=dict)


@dataclass(eq=False)
class Binding:
    """Something bound to a name: how, to what, and inside which loops of its function."""

    kind: str  # assign | unpack | import | func | class | param | self | cls | loop | with
    scope: "Scope"
    node: Optional[ast.expr] = None  # the value expression (assign/with/unpack/param default)
    target: str = ""  # import path, or a parameter's name
    func: Optional[FuncInfo] = None
    cls: Optional[ClassInfo] = None
    index: int = -1  # position inside a tuple unpacking (loop targets too), or a parameter's position
    annotation: Optional[ast.expr] = None
    loops: Tuple[int, ...] = ()


@dataclass(eq=False)
class Scope:
    kind: str  # module | class | function
    qualname: str
    parent: Optional["Scope"]
    func: Optional[FuncInfo] = None
    cls: Optional[ClassInfo] = None
    bindings: Dict[str, List[Binding]] = field(default_factory=dict)
    globals: Set[str] = field(default_factory=set)
    stars: List[str] = field(default_factory=list)  # modules of `from m import *` (module scope)
    # `name.append(x)` / `name.extend(x)` / `name += x`: name -> [(x, loops, is_extend)]
    appends: Dict[str, List[Tuple[ast.expr, Tuple[int, ...], bool]]] = field(
        default_factory=dict
    )

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    @property
    def function_name(self) -> str:
        """The enclosing function's qualified name, `<module>` at top level."""
        scope: Optional[Scope] = self
        while scope is not None and scope.kind == "class":
            scope = scope.parent
        return "<module>" if scope is None or scope.kind == "module" else scope.qualname


@dataclass(eq=False)
class LoopInfo:
    loop_id: int
    node: ast.AST
    kind: str  # for | while | comprehension | lambda-map
    scope: Scope
    parent_call: Optional[ast.Call] = None  # the call a comprehension/lambda is an argument of


@dataclass(eq=False)
class CallInfo:
    node: ast.Call
    scope: Scope
    loops: Tuple[int, ...]
    tries: Tuple[Tuple[ast.Try, Tuple[int, ...]], ...]  # enclosing try blocks, with their loops
    in_main: bool = False  # inside `if __name__ == "__main__":`
    guarded: bool = False  # only runs once a status check passed (`if batch.processing_status == ...`)
    branches: Tuple[ast.If, ...] = ()  # enclosing `if` statements in the same function, outermost first
    # What each enclosing branch of the same function needs of its test, outermost first: its
    # body (True), its `else` (False), or what follows `if test: return` (False).
    conditions: Tuple[Tuple[ast.expr, bool], ...] = ()
    stmt: int = -1  # ordinal of the statement the call is in
    # Thresholds of enclosing size gates: the call is on the small side of `if len(xs) < N:`.
    size_gates: Tuple[ast.expr, ...] = ()

    @property
    def caller(self) -> str:
        """The function this call runs in: a qualified name, `<module>` or `<main>`."""
        name = self.scope.function_name
        return "<main>" if self.in_main and name == "<module>" else name


@dataclass(eq=False)
class ForInfo:
    """A for loop or comprehension clause: where a results iteration would be."""

    node: ast.AST  # an `ast.For` or the comprehension node
    target: ast.expr
    iter: ast.expr
    body: Sequence[ast.AST]  # a loop's statements, or the comprehension alone
    scope: Scope


def _name_targets(target: ast.expr) -> List[Tuple[str, int]]:
    """Names bound by an assignment target, with their position when it is a tuple."""
    if isinstance(target, ast.Name):
        return [(target.id, -1)]
    if isinstance(target, (ast.Tuple, ast.List)):
        out = []
        for i, value in enumerate(target.elts):
            if isinstance(value, ast.Starred):
                value = value.value
            if isinstance(value, ast.Name):
                out.append((value.id, i))
            elif isinstance(value, (ast.Tuple, ast.List)):
                out.extend((n, -2) for n, _ in _name_targets(value))
        return out
    return []


class ModuleIndex:
    """Walks a module once and keeps what the evaluator and the fact passes need."""

    def __init__(self, source: bytes = b"") -> None:
        self.source = source
        self.starts = [0]  # byte offset of each line, as `ast` counts lines
        self.starts += [found.end() for found in _LINE_BREAK.finditer(source)]
        self.module_scope = Scope("module", "<module>", None)
        self.scopes: List[Scope] = [self.module_scope]
        self.functions: List[FuncInfo] = []
        self.classes: List[ClassInfo] = []
        self.calls: List[CallInfo] = []
        self.loops: Dict[int, LoopInfo] = {}
        self.fors: List[ForInfo] = []
        self._loop_stack: List[List[int]] = [[]]  # one stack per function
        self._try_stack: List[List[Tuple[ast.Try, Tuple[int, ...]]]] = [[]]
        self._arg_parent: Dict[int, ast.Call] = {}
        self._next_loop = 0
        self.stmt = -1  # ordinal of the statement being walked (source order, like `ast`)
        self.statements: List[ast.stmt] = []  # statement nodes by ordinal
        self._guard = 0
        self._branches: List[List[ast.If]] = [[]]  # one stack per function
        self._conditions: List[List[Tuple[ast.expr, bool]]] = [[]]  # one stack per function
        self._gates: List[List[ast.expr]] = [[]]  # thresholds of size gates, per function
        self.dicts: List[Tuple[ast.Dict, str, int]] = []  # dict literals: function, statement
        self.imported: List[str] = []  # every module (or module member) an import statement names
        # `name.attr = value` on a plain name (`openai.base_url = ...`), with the scope it is in.
        self.attribute_sets: List[Tuple[str, str, ast.expr, "Scope"]] = []
        self.main_block: Optional[ast.If] = None
        self._in_main = False
        self.module_body: List[ast.stmt] = []
        # The expression that is a call's or class's only argument -> the byte offset of the
        # call's closing parenthesis (-2 for a class): parentheses that are not its own.
        self.lone: Dict[int, int] = {}

    def release(self) -> None:
        """Drops what points back up the index (bindings name their scope, methods their
        class) once a file's facts are out. Without those cycles the file's syntax tree is freed
        the moment the last reference to it goes, instead of waiting for the cyclic garbage
        collector to traverse all of it (a tenth of the facts stage)."""
        scopes = [self.module_scope, *(f.scope for f in self.functions), *(c.scope for c in self.classes)]
        for scope in scopes:
            scope.bindings.clear()
            scope.func = scope.cls = None
        for info in self.classes:
            info.methods.clear()
            info.attrs.clear()

    def offset(self, line: int, col: int) -> int:
        """The byte offset of `ast`'s (line, byte column)."""
        return self.starts[line - 1] + col if 0 < line <= len(self.starts) else -1

    def fstring_parts(self, node: ast.AST) -> Optional[List[Union[str, ast.expr]]]:
        """The text (as written) and expressions of a single f-string token, else None."""
        if not is_fstring(node):
            return None
        assert isinstance(node, ast.JoinedStr)
        start = self.offset(node.lineno, node.col_offset)
        return fstring_parts(node, self.source, start) if start >= 0 else None

    def walk(self, node: ast.AST) -> None:
        kind = type(node)
        if kind in _STATEMENT_KINDS:
            self._statement(cast(ast.stmt, node))
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, node)
        else:  # `_children`, inline: most nodes have no handler
            for child in child_nodes(node):
                while type(child) is _ATTRIBUTE:
                    child = child.value
                if type(child) is not _NAME:
                    self.walk(child)

    def _children(self, node: ast.AST) -> None:
        """Walks what is under a node. A name, a third of all nodes, has nothing to record,
        and an attribute nothing but its value (`a.b.c` is walked as `a`)."""
        for child in child_nodes(node):
            while type(child) is _ATTRIBUTE:
                child = child.value
            if type(child) is not _NAME:
                self.walk(child)

    def _statement(self, node: ast.stmt) -> None:
        """Number statements in source order: a call's statement is cited by its ordinal."""
        self.stmt = len(self.statements)
        self.statements.append(node)

    def _walk_all(self, nodes: "Iterable[Optional[ast.AST]]") -> None:
        for node in nodes:
            if node is not None:
                self.walk(node)

    def _body(self, body: Sequence[ast.stmt]) -> None:
        """A block of statements. After `if <status check>: return ...` in an indented block,
        the statements that follow only run once the check passed."""
        if not body:
            return
        first = body[0]
        start = self.offset(first.lineno, first.col_offset)
        line_start = self.starts[first.lineno - 1] if start >= 0 else 0
        previous = line_start - 1  # the line break before the block's first line
        if previous > 0 and self.source[previous - 1:previous + 1] == b"\r\n":
            previous -= 1
        continued = previous > 0 and self.source[previous - 1] == 0x5C  # `if x: \` ends the header's line
        if start >= 0 and (self.source[line_start:start].strip(b" \t\x0c") or continued):
            mark_inline(body)
            for stmt in body:
                self.walk(stmt)
            return
        self._block(body)

    def _block(self, body: Sequence[ast.stmt]) -> None:
        """Statements after `if <test>: return ...` only run when the test failed (and, for a
        status check, once the check passed)."""
        raised = 0
        conditions = self._conditions[-1]
        depth = len(conditions)
        for stmt in body:
            self.walk(stmt)
            if isinstance(stmt, ast.If) and not stmt.orelse and _ends_flow(stmt.body):
                conditions.append((stmt.test, False))
                if _is_status_test(stmt.test):
                    self._guard += 1
                    raised += 1
        del conditions[depth:]
        self._guard -= raised

    def _module(self, node: ast.Module) -> None:
        """The module's statements, an indented block (the batch interpreter runs them too)."""
        self.module_body = node.body
        self._block(node.body)

    # -- helpers ---------------------------------------------------------------------------

    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    def current_loops(self) -> Tuple[int, ...]:
        return tuple(self._loop_stack[-1])

    def _push_loop(self, node: ast.AST, kind: str, parent_call: Optional[ast.Call] = None) -> int:
        loop_id = self._next_loop
        self._next_loop += 1
        self.loops[loop_id] = LoopInfo(loop_id, node, kind, self.scope, parent_call)
        self._loop_stack[-1].append(loop_id)
        return loop_id

    def _pop_loop(self) -> None:
        self._loop_stack[-1].pop()

    # -- scopes ----------------------------------------------------------------------------

    def _class(self, node: ast.ClassDef) -> None:
        parent = self.scope
        self._walk_all(node.decorator_list)
        self._walk_all(node.bases)
        self._walk_all(k.value for k in node.keywords)
        qual = node.name if parent.kind == "module" else f"{parent.qualname}.{node.name}"
        info = ClassInfo(node.name, qual, node, parent)
        given = arguments(node)
        info.bases = [a.value for a in given if a.keyword is None and a.star != "**"]
        if len(given) == 1:
            self.lone[id(given[0].value)] = -2
        scope = Scope("class", qual, parent, cls=info)
        info.scope = scope
        parent.bind(node.name, Binding("class", parent, cls=info, loops=self.current_loops()))
        self.classes.append(info)
        self.scopes.append(scope)
        self._body(node.body)
        self.scopes.pop()

    def _function(self, node: Function) -> None:
        parent = self.scope
        self._walk_all(node.decorator_list)
        for param, default in _parameters(node.args):
            self._walk_all((default, param.annotation))
        if node.returns is not None:
            self.walk(node.returns)
        cls = parent.cls if parent.kind == "class" else None
        qual = node.name if parent.kind == "module" else f"{parent.qualname}.{node.name}"
        info = FuncInfo(
            node.name,
            qual,
            node,
            parent,
            cls,
            isinstance(node, ast.AsyncFunctionDef),
            decorators=list(node.decorator_list),
        )
        scope = Scope("function", qual, parent, func=info)
        info.scope = scope
        if cls is not None:
            cls.methods[node.name] = info
        else:
            parent.bind(node.name, Binding("func", parent, func=info, loops=self.current_loops()))
        self.functions.append(info)
        self._bind_params(node.args, scope, cls, info)
        self.scopes.append(scope)
        self._loop_stack.append([])
        self._try_stack.append([])
        self._branches.append([])
        self._conditions.append([])
        self._gates.append([])
        guard, self._guard = self._guard, 0
        self._body(node.body)
        self._guard = guard
        self.scopes.pop()
        self._loop_stack.pop()
        self._try_stack.pop()
        self._branches.pop()
        self._conditions.pop()
        self._gates.pop()

    def _bind_params(self, params: ast.arguments, scope: Scope, cls: Optional[ClassInfo], info: FuncInfo) -> None:
        positional = len(params.posonlyargs) + len(params.args)
        decorators = {last_name(d) for d in info.decorators}
        for i, (param, default) in enumerate(_parameters(params)):
            name = param.arg
            if i == 0 and cls is not None and "staticmethod" not in decorators and i < positional:
                kind = "cls" if "classmethod" in decorators else "self"
                scope.bind(name, Binding(kind, scope, cls=cls))
                continue
            position = i if i < positional else -1
            scope.bind(name, Binding("param", scope, node=default, annotation=param.annotation,
                                     target=name, index=position))
        for star in (params.vararg, params.kwarg):
            if star is not None:
                scope.bind(star.arg, Binding("param", scope))

    def _lambda(self, node: ast.Lambda) -> None:
        # Lambdas stay in the enclosing scope; their parameters are unknown values there.
        for param in node.args.args:
            self.scope.bind(param.arg, Binding("param", self.scope))
        parent_call = self._arg_parent.get(id(node))
        if parent_call is not None:
            self._push_loop(node, "lambda-map", parent_call)
        self.walk(node.body)
        if parent_call is not None:
            self._pop_loop()

    # -- bindings --------------------------------------------------------------------------

    def _global(self, node: ast.Global) -> None:
        self.scope.globals.update(node.names)

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            dotted = alias.name
            self.imported.append(dotted)
            if alias.asname is not None:
                self.scope.bind(alias.asname, Binding("import", self.scope, target=dotted))
            else:
                root = dotted.split(".")[0]
                self.scope.bind(root, Binding("import", self.scope, target=root))

    def _import_from(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        prefix = "." * (node.level or 0) + module
        self.imported.append(prefix)
        if len(node.names) == 1 and node.names[0].name == "*":
            if self.scope is self.module_scope and not node.level:
                self.module_scope.stars.append(module)
            return
        for alias in node.names:
            name = alias.name
            self.imported.append(f"{prefix}.{name}" if prefix and not prefix.endswith(".") else prefix + name)
            bound = alias.asname if alias.asname is not None else name
            target = f"{prefix}.{name}" if prefix and not prefix.endswith(".") else prefix + name
            self.scope.bind(bound, Binding("import", self.scope, target=target))

    def _bind_target(self, target: ast.expr, value: Optional[ast.expr]) -> None:
        scope = self.scope
        loops = self.current_loops()
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            self._attribute_assign(target.value.id, target.attr, value)
            return
        for name, index in _name_targets(target):
            owner = self.module_scope if name in scope.globals else scope
            if index == -1:
                owner.bind(name, Binding("assign", scope, node=value, loops=loops))
            else:
                owner.bind(name, Binding("unpack", scope, node=value, index=index, loops=loops))

    def _attribute_assign(self, owner: str, attr: str, value: Optional[ast.expr]) -> None:
        """`self.x = v` in a method records `x` on the class, wherever the method is."""
        scope = self.scope
        if value is not None:
            self.attribute_sets.append((owner, attr, value, scope))
        if value is None or scope.kind != "function" or scope.func is None:
            return
        for binding in scope.bindings.get(owner, []):
            if binding.kind in ("self", "cls") and binding.cls is not None:
                binding.cls.attrs.setdefault(attr, []).append((value, scope))

    def _assign_stmt(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind_target(target, node.value)
        if self.scope.kind == "class" and self.scope.cls is not None:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.scope.cls.attrs.setdefault(target.id, []).append((node.value, self.scope))
        self._children(node)

    def _ann_assign(self, node: ast.AnnAssign) -> None:
        value = node.value
        target = node.target
        if isinstance(target, ast.Name):
            self.scope.bind(
                target.id,
                Binding("assign", self.scope, node=value, annotation=node.annotation, loops=self.current_loops()),
            )
            if self.scope.kind == "class" and self.scope.cls is not None and value is not None:
                self.scope.cls.attrs.setdefault(target.id, []).append((value, self.scope))
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            self._attribute_assign(target.value.id, target.attr, value)
        self._children(node)

    def _aug_assign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            name = node.target.id
            self.scope.bind(name, Binding("assign", self.scope, node=None, loops=self.current_loops()))
            if isinstance(node.op, ast.Add):
                self.scope.appends.setdefault(name, []).append((node.value, self.current_loops(), True))
        self._children(node)

    def _named_expr(self, node: ast.NamedExpr) -> None:
        if isinstance(node.target, ast.Name):
            self.scope.bind(node.target.id, Binding("assign", self.scope, node=node.value, loops=self.current_loops()))
        self._children(node)

    def _with_item(self, node: ast.withitem) -> None:
        if isinstance(node.optional_vars, ast.Name):
            self.scope.bind(node.optional_vars.id, Binding("with", self.scope, node=node.context_expr,
                                                           loops=self.current_loops()))
        self._children(node)

    def _with(self, node: Union[ast.With, ast.AsyncWith]) -> None:
        """Its items bind their names (`_with_item`); its body is a block."""
        self._walk_all(node.items)
        self._body(node.body)

    # -- loops and control flow ------------------------------------------------------------

    def _for(self, node: Union[ast.For, ast.AsyncFor]) -> None:
        # The iterable is evaluated once, before the loop: only the target and body repeat.
        self.walk(node.iter)
        self._push_loop(node, "for")
        for name, position in _name_targets(node.target):
            self.scope.bind(name, Binding("loop", self.scope, node=node.iter, index=position, loops=self.current_loops()))
        self.fors.append(ForInfo(node, node.target, node.iter, node.body, self.scope))
        self.walk(node.target)
        self._body(node.body)
        self._pop_loop()
        self._body(node.orelse)

    def _while(self, node: ast.While) -> None:
        self._push_loop(node, "while")
        self.walk(node.test)
        self._body(node.body)
        self._pop_loop()
        self._body(node.orelse)

    def _comprehension(self, node: Comprehension) -> None:
        # The outermost iterable is evaluated once, outside the comprehension.
        self.walk(node.generators[0].iter)
        self._push_loop(node, "comprehension", self._arg_parent.get(id(node)))
        for i, clause in enumerate(node.generators):
            for name, position in _name_targets(clause.target):
                self.scope.bind(name, Binding("loop", self.scope, node=clause.iter, index=position,
                                              loops=self.current_loops()))
            self.fors.append(ForInfo(node, clause.target, clause.iter, [node], self.scope))
            if i:
                self.walk(clause.iter)
            self._walk_all(clause.ifs)
        if isinstance(node, ast.DictComp):
            self._walk_all((node.key, node.value))
        else:
            self.walk(node.elt)
        self._pop_loop()

    def _try(self, node: ast.Try) -> None:
        self._try_stack[-1].append((node, self.current_loops()))
        self._body(node.body)
        self._try_stack[-1].pop()
        self._walk_all(node.handlers)
        self._body(node.orelse)
        self._body(node.finalbody)

    def _try_star(self, node: ast.Try) -> None:
        """`try` with `except*` clauses (Python 3.11+): not a retry, so not on the try stack."""
        self._body(node.body)
        self._walk_all(node.handlers)
        self._body(node.orelse)
        self._body(node.finalbody)

    def _handler(self, node: ast.ExceptHandler) -> None:
        """An `except` clause: its body, then its type (the order the passes were written
        against: a call in the type counts as in the body's last statement)."""
        self._body(node.body)
        if node.type is not None:
            self.walk(node.type)

    def _match(self, node: Any) -> None:
        """`match` (`ast.Match`, Python 3.10+): its subject, then its cases (`_case`)."""
        self.walk(node.subject)
        self._walk_all(node.cases)

    def _case(self, node: Any) -> None:
        """A `case` clause: its pattern, its body (a block), then its guard."""
        self.walk(node.pattern)
        self._body(node.body)
        if node.guard is not None:
            self.walk(node.guard)

    def _if(self, node: ast.If) -> None:
        self.walk(node.test)
        main = self.scope.kind == "module" and self.main_block is None and _is_main_test(node.test)
        if main:
            self.main_block = node
            self._in_main = True
        guard = _is_status_test(node.test)
        self._guard += guard
        gate = size_gate(node.test)
        self._branches[-1].append(node)
        self._conditions[-1].append((node.test, True))
        self._walk_gated(node.body, gate[0] if gate is not None and gate[1] else None)
        self._conditions[-1].pop()
        self._branches[-1].pop()
        if main:
            self._in_main = False
        if node.orelse:
            self._branches[-1].append(node)
            self._conditions[-1].append((node.test, False))
            self._walk_gated(node.orelse, gate[0] if gate is not None and not gate[1] else None)
            self._conditions[-1].pop()
            self._branches[-1].pop()
        self._guard -= guard

    def elif_of(self, node: ast.If) -> Optional[ast.If]:
        """The `elif` clause of an `if` statement (an `else:` holding an `if` is not one)."""
        orelse = node.orelse
        if len(orelse) == 1 and isinstance(orelse[0], ast.If):
            start = self.offset(orelse[0].lineno, orelse[0].col_offset)
            if self.source.startswith(b"elif", start):
                return orelse[0]
        return None

    def _walk_gated(self, body: List[ast.stmt], threshold: Optional[ast.expr]) -> None:
        if threshold is not None:
            self._gates[-1].append(threshold)
        self._body(body)
        if threshold is not None:
            self._gates[-1].pop()

    def _dict(self, node: ast.Dict) -> None:
        caller = "<main>" if self._in_main and self.scope.kind == "module" else self.scope.function_name
        self.dicts.append((node, caller, self.stmt))
        self._children(node)

    def _return(self, node: ast.Return) -> None:
        scope = self.scope
        if scope.kind == "function" and scope.func is not None and node.value is not None:
            scope.func.returns.append(node.value)
        self._children(node)

    def _constant(self, node: ast.Constant) -> None:
        """A literal: a string is told one token or several (`_string`)."""
        if type(node.value) in (str, bytes):
            self._string(node)

    def _fstring(self, node: ast.JoinedStr) -> None:
        """An f-string: placed (before 3.11), told one token or several, then its expressions."""
        if _FSTRING_POSITIONS_WRONG:
            self._place_expressions(node)
        self._string(node)
        self._children(node)

    def _place_expressions(self, node: ast.JoinedStr) -> None:
        """Before Python 3.11, CPython places the expressions inside an f-string that spans
        lines (and some others) at the wrong bytes. Each is parsed again alone from its text
        in the file, and its nodes take the positions found there (what the facts print comes
        from positions). An expression that does not parse the same is left as it is."""
        start = self.offset(node.lineno, node.col_offset)
        end = self.offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
        spots = expression_spots(self.source, start, end) if 0 <= start < end else None
        values = formatted_values(node)
        if spots is None or len(spots) != len(values):
            return
        for (offset, text), value in zip(spots, values):
            wrapped = b"(" + text + b")"
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    alone = ast.parse(wrapped, mode="eval").body
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            pairs = list(zip(ast.walk(value.value), ast.walk(alone)))
            if any(type(ours) is not type(theirs) for ours, theirs in pairs):
                continue
            lines = [0] + [found.end() for found in _LINE_BREAK.finditer(wrapped)]
            for ours, theirs in pairs:
                if isinstance(theirs, (ast.expr, ast.keyword, ast.arg)):
                    at: Any = theirs
                    here: Any = ours
                    here.lineno, here.col_offset = self._position(offset - 1 + lines[at.lineno - 1] + at.col_offset)
                    here.end_lineno, here.end_col_offset = self._position(
                        offset - 1 + lines[(at.end_lineno or at.lineno) - 1] + (at.end_col_offset or 0))

    def _position(self, offset: int) -> Tuple[int, int]:
        """`ast`'s (line, byte column) of a byte offset."""
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1]

    def _string(self, node: Union[ast.Constant, ast.JoinedStr]) -> None:
        """A string literal: whether it is one token or several (`mark_pieces`)."""
        start = self.offset(node.lineno, node.col_offset)
        end = self.offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
        if 0 <= start < end:
            mark_pieces(node, self.source, start, end)

    # -- calls -----------------------------------------------------------------------------

    def _call(self, node: ast.Call) -> None:
        args = arguments(node)
        for arg in args:
            if type(arg.value) in _MAPPED_ARGUMENTS:
                self._arg_parent[id(arg.value)] = node
        if len(args) == 1:
            self.lone[id(args[0].value)] = self.offset(node.end_lineno or node.lineno, node.end_col_offset or 0) - 1
        self.calls.append(
            CallInfo(node, self.scope, self.current_loops(), tuple(self._try_stack[-1]),
                     self._in_main and self.scope.kind == "module", self._guard > 0,
                     tuple(self._branches[-1]), tuple(self._conditions[-1]), self.stmt, tuple(self._gates[-1]))
        )
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.attr in ("append", "extend") and args:
            self.scope.appends.setdefault(func.value.id, []).append(
                (args[0].value, self.current_loops(), func.attr == "extend")
            )
        self._children(node)


def _parameters(params: ast.arguments) -> List[Tuple[ast.arg, Optional[ast.expr]]]:
    """Named parameters with their defaults: positional-only, positional, then keyword-only."""
    positional = [*params.posonlyargs, *params.args]
    defaults: List[Optional[ast.expr]] = [None] * (len(positional) - len(params.defaults)) + list(params.defaults)
    return [*zip(positional, defaults), *zip(params.kwonlyargs, params.kw_defaults)]


def parameter_names(params: ast.arguments, keyword_only: bool = True) -> List[str]:
    """The names of a function's named parameters (see `_parameters`), keyword-only ones too
    unless `keyword_only` is False."""
    names = [p.arg for p in [*params.posonlyargs, *params.args]]
    return names + [p.arg for p in params.kwonlyargs] if keyword_only else names


_LINE_BREAK = re.compile(rb"\r\n?|\n")
# Whether CPython's own positions of the expressions inside f-strings can be wrong (see
# `ModuleIndex._place_expressions`).
_FSTRING_POSITIONS_WRONG = sys.version_info < (3, 11)
_NAME = ast.Name
_ATTRIBUTE = ast.Attribute
# Statement classes by identity: `ast`'s concrete node classes have no subclasses.
_STATEMENT_KINDS = frozenset(kind for kind in vars(ast).values() if isinstance(kind, type) and issubclass(kind, ast.stmt))
# Arguments the walk ties to the call they are passed to (a comprehension or lambda it may map).
_MAPPED_ARGUMENTS = frozenset({*COMPREHENSIONS, ast.Lambda})


def _is_main_test(test: ast.expr) -> bool:
    """`__name__ == "__main__"`, either way round."""
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [name_of(s) for s in sides if is_name(s)]
    strings = [s.value for s in sides if is_string(s)]
    return names == ["__name__"] and strings == ["__main__"]


def size_gate(test: ast.expr) -> Optional[Tuple[ast.expr, bool]]:
    """`len(xs) < N` (or `<=`, or `N > len(xs)`...): the threshold, and True when the `if`
    body is the small side (False when the `else` is: `if len(xs) >= N: batch else: ...`)."""
    if not isinstance(test, ast.Compare) or len(test.ops) != 1:
        return None
    op, left, right = type(test.ops[0]), test.left, test.comparators[0]

    def is_len(node: ast.expr) -> bool:
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"

    less = op in (ast.Lt, ast.LtE)
    more = op in (ast.Gt, ast.GtE)
    if is_len(left) and not is_len(right) and (less or more):
        return right, less
    if is_len(right) and not is_len(left) and (less or more):
        return left, more
    return None


def _is_status_test(test: ast.expr) -> bool:
    """A condition that reads a batch's status: a provider's status field, or a status value."""
    return any(
        (isinstance(node, ast.Attribute) and node.attr in STATUS_FIELDS)
        or (is_string(node) and node.value in ALL_STATUSES)
        for node in descendants(test)
    )


def _ends_flow(body: Sequence[ast.stmt]) -> bool:
    """Whether an indented block always leaves: a statement on its last line returns, raises,
    continues or breaks."""
    return any(isinstance(s, (ast.Return, ast.Raise, ast.Continue, ast.Break)) for s in last_line(body))


# What the walk does at each kind of node (functions, not bound methods: an index that pointed
# at itself through its table would keep the whole tree alive until the cyclic collector ran).
_HANDLERS: Dict[type, Callable[[ModuleIndex, Any], None]] = {
    ast.Module: ModuleIndex._module,
    ast.ClassDef: ModuleIndex._class,
    ast.FunctionDef: ModuleIndex._function,
    ast.AsyncFunctionDef: ModuleIndex._function,
    ast.Lambda: ModuleIndex._lambda,
    ast.Import: ModuleIndex._import,
    ast.ImportFrom: ModuleIndex._import_from,
    ast.Global: ModuleIndex._global,
    ast.Assign: ModuleIndex._assign_stmt,
    ast.AnnAssign: ModuleIndex._ann_assign,
    ast.AugAssign: ModuleIndex._aug_assign,
    ast.NamedExpr: ModuleIndex._named_expr,
    ast.withitem: ModuleIndex._with_item,
    ast.With: ModuleIndex._with,
    ast.AsyncWith: ModuleIndex._with,
    ast.For: ModuleIndex._for,
    ast.AsyncFor: ModuleIndex._for,
    ast.While: ModuleIndex._while,
    ast.ListComp: ModuleIndex._comprehension,
    ast.SetComp: ModuleIndex._comprehension,
    ast.DictComp: ModuleIndex._comprehension,
    ast.GeneratorExp: ModuleIndex._comprehension,
    ast.Try: ModuleIndex._try,
    ast.ExceptHandler: ModuleIndex._handler,
    ast.Return: ModuleIndex._return,
    ast.Call: ModuleIndex._call,
    ast.If: ModuleIndex._if,
    ast.Dict: ModuleIndex._dict,
    ast.Constant: ModuleIndex._constant,
    ast.JoinedStr: ModuleIndex._fstring,
}
if sys.version_info >= (3, 10):
    _HANDLERS[ast.Match] = ModuleIndex._match
    _HANDLERS[ast.match_case] = ModuleIndex._case
if sys.version_info >= (3, 11):
    _HANDLERS[ast.TryStar] = ModuleIndex._try_star


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def last_name(node: ast.AST) -> str:
    """The last name of a name or attribute chain, or of what a call calls: `cache` of the
    decorator `functools.cache`, `submit` of `pool.submit(job)`; "" for anything else."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return name_of(node) if is_name(node) else ""

