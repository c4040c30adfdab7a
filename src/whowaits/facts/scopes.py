"""One pass over a module that records scopes, bindings and the places later passes look at.

This is whowaits' own single-pass name resolver. libcst's `ScopeProvider` and
`QualifiedNameProvider` answer more questions than whowaits asks and dominate the run time of
tools built on them; here each scope keeps, per name, the list of things bound to it
(flow-insensitively), which is all the value evaluator in `values.py` needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Set, Tuple, Union, get_args, get_type_hints, overload

import libcst as cst

from whowaits.cst_fields import field_names, is_node
from whowaits.knowledge.batches import ALL_STATUSES, STATUS_FIELDS

COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
COMPREHENSION_KINDS = frozenset(COMPREHENSIONS)  # for `type(node) in ...`: see `_COMPOUND`


@dataclass(eq=False)
class FuncInfo:
    name: str
    qualname: str
    node: Union[cst.FunctionDef, cst.Lambda]
    scope: "Scope"
    cls: Optional["ClassInfo"]
    is_async: bool
    returns: List[cst.BaseExpression] = field(default_factory=list)
    decorators: List[cst.BaseExpression] = field(default_factory=list)


@dataclass(eq=False)
class ClassInfo:
    name: str
    qualname: str
    node: cst.ClassDef
    scope: "Scope"
    bases: List[cst.BaseExpression] = field(default_factory=list)
    # attribute -> [(value expression, scope to evaluate it in)]: class body and `self.x = ...`
    attrs: Dict[str, List[Tuple[cst.BaseExpression, "Scope"]]] = field(default_factory=dict)
    methods: Dict[str, FuncInfo] = field(default_factory=dict)


@dataclass(eq=False)
class Binding:
    """Something bound to a name: how, to what, and inside which loops of its function."""

    kind: str  # assign | unpack | import | func | class | param | self | cls | loop | with
    scope: "Scope"
    node: Optional[cst.BaseExpression] = None  # the value expression (assign/with/unpack/param default)
    target: str = ""  # import path, or a parameter's name
    func: Optional[FuncInfo] = None
    cls: Optional[ClassInfo] = None
    index: int = -1  # position inside a tuple unpacking (loop targets too), or a parameter's position
    annotation: Optional[cst.BaseExpression] = None
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
    appends: Dict[str, List[Tuple[cst.BaseExpression, Tuple[int, ...], bool]]] = field(
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
    node: cst.CSTNode
    kind: str  # for | while | comprehension | lambda-map
    scope: Scope
    parent_call: Optional[cst.Call] = None  # the call a comprehension/lambda is an argument of


@dataclass(eq=False)
class CallInfo:
    node: cst.Call
    scope: Scope
    loops: Tuple[int, ...]
    tries: Tuple[Tuple[cst.Try, Tuple[int, ...]], ...]  # enclosing try blocks, with their loops
    in_main: bool = False  # inside `if __name__ == "__main__":`
    guarded: bool = False  # only runs once a status check passed (`if batch.processing_status == ...`)
    branches: Tuple[cst.If, ...] = ()  # enclosing `if` statements in the same function, outermost first
    # What each enclosing branch of the same function needs of its test, outermost first: its
    # body (True), its `else` (False), or what follows `if test: return` (False).
    conditions: Tuple[Tuple[cst.BaseExpression, bool], ...] = ()
    stmt: int = -1  # ordinal of the statement the call is in
    # Thresholds of enclosing size gates: the call is on the small side of `if len(xs) < N:`.
    size_gates: Tuple[cst.BaseExpression, ...] = ()

    @property
    def caller(self) -> str:
        """The function this call runs in: a qualified name, `<module>` or `<main>`."""
        name = self.scope.function_name
        return "<main>" if self.in_main and name == "<module>" else name


@dataclass(eq=False)
class ForInfo:
    """A for loop or comprehension clause: where a results iteration would be."""

    node: cst.CSTNode  # cst.For or the comprehension node
    target: cst.BaseExpression
    iter: cst.BaseExpression
    body: cst.CSTNode
    scope: Scope


def _name_targets(target: cst.BaseExpression) -> List[Tuple[str, int]]:
    """Names bound by an assignment target, with their position when it is a tuple."""
    if isinstance(target, cst.Name):
        return [(target.value, -1)]
    if isinstance(target, (cst.Tuple, cst.List)):
        out = []
        for i, el in enumerate(target.elements):
            value = el.value
            if isinstance(value, cst.Name):
                out.append((value.value, i))
            elif isinstance(value, (cst.Tuple, cst.List)):
                out.extend((n, -2) for n, _ in _name_targets(value))
        return out
    return []


_FIELDS: Dict[type, Tuple[str, ...]] = {}
# Fields that hold only whitespace, punctuation or operators: never a name, call or literal.
_TRIVIA = re.compile(
    r"whitespace|^(?:lpar|rpar|lbracket|rbracket|lbrace|rbrace|comma|semicolon|colon|equal|dot|"
    r"leading_lines|lines_after_decorators|header|footer|operator|star|asynchronous|"
    r"first_line|default_indent|default_newline|encoding|has_trailing_newline|indent|newline)$"
)


def _may_hold_node(annotation: object) -> bool:
    """Whether a field declared with this type can hold a node (`str` and `bool` fields cannot)."""
    if isinstance(annotation, type):
        return issubclass(annotation, cst.CSTNode)
    return any(_may_hold_node(arg) for arg in get_args(annotation))


def _node_fields(kind: type) -> Tuple[str, ...]:
    """The fields of a node class that may hold child nodes, trivia left out, in declaration
    order. A `Name`'s only such field is none: its text is a `str`."""
    hints = get_type_hints(kind)
    return tuple(name for name in field_names(kind) if not _TRIVIA.search(name) and _may_hold_node(hints[name]))


def child_nodes(node: cst.CSTNode) -> List[cst.CSTNode]:
    """A node's children, read straight from its dataclass fields.

    libcst's visitor dispatch (and its per-attribute hooks) costs several times more than the
    walk itself; whowaits only reads the tree, so it walks the fields directly. Only the fields
    whose declared type can hold a node are read, and a list or tuple field is taken whole:
    libcst declares every sequence field as a sequence of nodes, and its parser builds them so.
    """
    names = _FIELDS.get(type(node))
    if names is None:
        names = _FIELDS[type(node)] = _node_fields(type(node))
    out: List[cst.CSTNode] = []
    for name in names:
        value = getattr(node, name)
        kind = type(value)
        if kind is list or kind is tuple:
            out.extend(value)
        elif value is not None and is_node(kind):
            out.append(value)
    return out


def descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and every node under it (nested functions and classes included), in no
    particular order: for questions about a whole subtree (does it name X? collect every Y)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(child_nodes(current))


class ModuleIndex:
    """Walks a module once and keeps what the evaluator and the fact passes need."""

    def __init__(self) -> None:
        self.module_scope = Scope("module", "<module>", None)
        self.scopes: List[Scope] = [self.module_scope]
        self.functions: List[FuncInfo] = []
        self.classes: List[ClassInfo] = []
        self.calls: List[CallInfo] = []
        self.loops: Dict[int, LoopInfo] = {}
        self.fors: List[ForInfo] = []
        self._loop_stack: List[List[int]] = [[]]  # one stack per function
        self._try_stack: List[List[Tuple[cst.Try, Tuple[int, ...]]]] = [[]]
        self._arg_parent: Dict[int, cst.Call] = {}
        self._next_loop = 0
        self.stmt = -1  # ordinal of the statement being walked (source order, like `ast`)
        self.statement_count = 0
        self.statements: List[cst.CSTNode] = []  # statement nodes by ordinal
        self.statement_at: Dict[int, int] = {}  # id(any node) -> ordinal of the statement it is in
        self.elifs: Set[int] = set()  # ids of `If` nodes that are `elif` clauses
        self._guard = 0
        self._branches: List[List[cst.If]] = [[]]  # one stack per function
        self._conditions: List[List[Tuple[cst.BaseExpression, bool]]] = [[]]  # one stack per function
        self._gates: List[List[cst.BaseExpression]] = [[]]  # thresholds of size gates, per function
        self.dicts: List[Tuple[cst.Dict, str, int]] = []  # dict literals: function, statement
        self.imported: List[str] = []  # every module (or module member) an import statement names
        # `name.attr = value` on a plain name (`openai.base_url = ...`), with the scope it is in.
        self.attribute_sets: List[Tuple[str, str, cst.BaseExpression, "Scope"]] = []
        self.main_block: Optional[cst.If] = None
        self._in_main = False

    def ordinal_of(self, statement: cst.CSTNode) -> Optional[int]:
        """The ordinal of a statement node (None for a node that is not a statement)."""
        ordinal = self.statement_at.get(id(statement))
        return ordinal if ordinal is not None and self.statements[ordinal] is statement else None

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

    def walk(self, node: cst.CSTNode) -> None:
        kind = type(node)
        if kind in _COMPOUND:
            self._statement(node)
        self.statement_at[id(node)] = self.stmt
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, node)
        else:  # `_children`, inline: most nodes have no handler
            for child in child_nodes(node):
                self.walk(child)

    def _children(self, node: cst.CSTNode) -> None:
        for child in child_nodes(node):
            self.walk(child)

    def _statement(self, node: cst.CSTNode) -> None:
        """Number statements in source order, as `ast` lists them, for cheap line numbers."""
        self.stmt = self.statement_count
        self.statements.append(node)
        self.statement_count += 1

    def _simple_statements(self, node: "cst.SimpleStatementLine | cst.SimpleStatementSuite") -> None:
        for small in node.body:
            self._statement(small)
            self.walk(small)

    def _walk_all(self, nodes: "Iterable[Optional[cst.CSTNode]]") -> None:
        for node in nodes:
            if node is not None:
                self.walk(node)

    # -- helpers ---------------------------------------------------------------------------

    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    def current_loops(self) -> Tuple[int, ...]:
        return tuple(self._loop_stack[-1])

    def _push_loop(self, node: cst.CSTNode, kind: str, parent_call: Optional[cst.Call] = None) -> int:
        loop_id = self._next_loop
        self._next_loop += 1
        self.loops[loop_id] = LoopInfo(loop_id, node, kind, self.scope, parent_call)
        self._loop_stack[-1].append(loop_id)
        return loop_id

    def _pop_loop(self) -> None:
        self._loop_stack[-1].pop()

    # -- scopes ----------------------------------------------------------------------------

    def _class(self, node: cst.ClassDef) -> None:
        parent = self.scope
        self._walk_all(d.decorator for d in node.decorators)
        self._walk_all(arg.value for arg in node.bases)
        self._walk_all(arg.value for arg in node.keywords)
        qual = node.name.value if parent.kind == "module" else f"{parent.qualname}.{node.name.value}"
        info = ClassInfo(node.name.value, qual, node, parent)
        info.bases = [arg.value for arg in node.bases if arg.keyword is None]
        scope = Scope("class", qual, parent, cls=info)
        info.scope = scope
        parent.bind(node.name.value, Binding("class", parent, cls=info, loops=self.current_loops()))
        self.classes.append(info)
        self.scopes.append(scope)
        self.walk(node.body)
        self.scopes.pop()

    def _function(self, node: cst.FunctionDef) -> None:
        parent = self.scope
        self._walk_all(d.decorator for d in node.decorators)
        params = node.params
        for param in list(params.posonly_params) + list(params.params) + list(params.kwonly_params):
            self._walk_all((param.default, param.annotation))
        if node.returns is not None:
            self.walk(node.returns)
        cls = parent.cls if parent.kind == "class" else None
        qual = node.name.value if parent.kind == "module" else f"{parent.qualname}.{node.name.value}"
        info = FuncInfo(
            node.name.value,
            qual,
            node,
            parent,
            cls,
            node.asynchronous is not None,
            decorators=[d.decorator for d in node.decorators],
        )
        scope = Scope("function", qual, parent, func=info)
        info.scope = scope
        if cls is not None:
            cls.methods[node.name.value] = info
        else:
            parent.bind(node.name.value, Binding("func", parent, func=info, loops=self.current_loops()))
        self.functions.append(info)
        self._bind_params(params, scope, cls, info)
        self.scopes.append(scope)
        self._loop_stack.append([])
        self._try_stack.append([])
        self._branches.append([])
        self._conditions.append([])
        self._gates.append([])
        guard, self._guard = self._guard, 0
        self.walk(node.body)
        self._guard = guard
        self.scopes.pop()
        self._loop_stack.pop()
        self._try_stack.pop()
        self._branches.pop()
        self._conditions.pop()
        self._gates.pop()

    def _bind_params(
        self, params: cst.Parameters, scope: Scope, cls: Optional[ClassInfo], info: FuncInfo
    ) -> None:
        positional = list(params.posonly_params) + list(params.params)
        decorators = {last_name(d) for d in info.decorators}
        for i, param in enumerate(positional + list(params.kwonly_params)):
            name = param.name.value
            if i == 0 and cls is not None and "staticmethod" not in decorators and param in positional:
                kind = "cls" if "classmethod" in decorators else "self"
                scope.bind(name, Binding(kind, scope, cls=cls))
                continue
            annotation = param.annotation.annotation if param.annotation else None
            position = i if param in positional else -1
            scope.bind(name, Binding("param", scope, node=param.default, annotation=annotation,
                                     target=name, index=position))
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                scope.bind(star.name.value, Binding("param", scope))

    def _lambda(self, node: cst.Lambda) -> None:
        # Lambdas stay in the enclosing scope; their parameters are unknown values there.
        for param in node.params.params:
            self.scope.bind(param.name.value, Binding("param", self.scope))
        parent_call = self._arg_parent.get(id(node))
        if parent_call is not None:
            self._push_loop(node, "lambda-map", parent_call)
        self.walk(node.body)
        if parent_call is not None:
            self._pop_loop()

    # -- bindings --------------------------------------------------------------------------

    def _global(self, node: cst.Global) -> None:
        self.scope.globals.update(n.name.value for n in node.names)

    def _import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = _dotted(alias.name)
            self.imported.append(dotted)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.scope.bind(alias.asname.name.value, Binding("import", self.scope, target=dotted))
            else:
                root = dotted.split(".")[0]
                self.scope.bind(root, Binding("import", self.scope, target=root))

    def _import_from(self, node: cst.ImportFrom) -> None:
        module = _dotted(node.module) if node.module is not None else ""
        prefix = "." * len(node.relative) + module
        self.imported.append(prefix)
        if isinstance(node.names, cst.ImportStar):
            if self.scope is self.module_scope and not node.relative:
                self.module_scope.stars.append(module)
            return
        for alias in node.names:
            name = _dotted(alias.name)
            self.imported.append(f"{prefix}.{name}" if prefix and not prefix.endswith(".") else prefix + name)
            bound = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                bound = alias.asname.name.value
            target = f"{prefix}.{name}" if prefix and not prefix.endswith(".") else prefix + name
            self.scope.bind(bound, Binding("import", self.scope, target=target))

    def _bind_target(self, target: cst.BaseExpression, value: Optional[cst.BaseExpression]) -> None:
        scope = self.scope
        loops = self.current_loops()
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            self._attribute_assign(target.value.value, target.attr.value, value)
            return
        for name, index in _name_targets(target):
            owner = self.module_scope if name in scope.globals else scope
            if index == -1:
                owner.bind(name, Binding("assign", scope, node=value, loops=loops))
            else:
                owner.bind(name, Binding("unpack", scope, node=value, index=index, loops=loops))

    def _attribute_assign(self, owner: str, attr: str, value: Optional[cst.BaseExpression]) -> None:
        """`self.x = v` in a method records `x` on the class, wherever the method is."""
        scope = self.scope
        if value is not None:
            self.attribute_sets.append((owner, attr, value, scope))
        if value is None or scope.kind != "function" or scope.func is None:
            return
        for binding in scope.bindings.get(owner, []):
            if binding.kind in ("self", "cls") and binding.cls is not None:
                binding.cls.attrs.setdefault(attr, []).append((value, scope))

    def _assign_stmt(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind_target(target.target, node.value)
        if self.scope.kind == "class" and self.scope.cls is not None:
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.scope.cls.attrs.setdefault(target.target.value, []).append(
                        (node.value, self.scope)
                    )
        self._children(node)

    def _ann_assign(self, node: cst.AnnAssign) -> None:
        value = node.value
        if isinstance(node.target, cst.Name):
            self.scope.bind(
                node.target.value,
                Binding("assign", self.scope, node=value, annotation=node.annotation.annotation,
                        loops=self.current_loops()),
            )
            if self.scope.kind == "class" and self.scope.cls is not None and value is not None:
                self.scope.cls.attrs.setdefault(node.target.value, []).append((value, self.scope))
        elif isinstance(node.target, cst.Attribute) and isinstance(node.target.value, cst.Name):
            self._attribute_assign(node.target.value.value, node.target.attr.value, value)
        self._children(node)

    def _aug_assign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name):
            name = node.target.value
            self.scope.bind(name, Binding("assign", self.scope, node=None, loops=self.current_loops()))
            if isinstance(node.operator, cst.AddAssign):
                self.scope.appends.setdefault(name, []).append((node.value, self.current_loops(), True))
        self._children(node)

    def _named_expr(self, node: cst.NamedExpr) -> None:
        if isinstance(node.target, cst.Name):
            self.scope.bind(node.target.value, Binding("assign", self.scope, node=node.value,
                                                       loops=self.current_loops()))
        self._children(node)

    def _with_item(self, node: cst.WithItem) -> None:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            self.scope.bind(node.asname.name.value, Binding("with", self.scope, node=node.item,
                                                            loops=self.current_loops()))
        self._children(node)

    # -- loops and control flow ------------------------------------------------------------

    def _for(self, node: cst.For) -> None:
        # The iterable is evaluated once, before the loop: only the target and body repeat.
        self.walk(node.iter)
        self._push_loop(node, "for")
        for name, position in _name_targets(node.target):
            self.scope.bind(name, Binding("loop", self.scope, node=node.iter, index=position, loops=self.current_loops()))
        self.fors.append(ForInfo(node, node.target, node.iter, node.body, self.scope))
        self.walk(node.target)
        self.walk(node.body)
        self._pop_loop()
        if node.orelse is not None:
            self.walk(node.orelse)

    def _while(self, node: cst.While) -> None:
        self._push_loop(node, "while")
        self.walk(node.test)
        self.walk(node.body)
        self._pop_loop()
        if node.orelse is not None:
            self.walk(node.orelse)

    def _comprehension(self, node: "cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp") -> None:
        clause: Optional[cst.CompFor] = node.for_in
        # The outermost iterable is evaluated once, outside the comprehension.
        self.walk(node.for_in.iter)
        self._push_loop(node, "comprehension", self._arg_parent.get(id(node)))
        first = True
        while isinstance(clause, cst.CompFor):
            for name, position in _name_targets(clause.target):
                self.scope.bind(name, Binding("loop", self.scope, node=clause.iter, index=position,
                                              loops=self.current_loops()))
            self.fors.append(ForInfo(node, clause.target, clause.iter, node, self.scope))
            if not first:
                self.walk(clause.iter)
            self._walk_all(clause.ifs)
            first = False
            clause = clause.inner_for_in
        if isinstance(node, cst.DictComp):
            self._walk_all((node.key, node.value))
        else:
            self.walk(node.elt)
        self._pop_loop()

    def _try(self, node: cst.Try) -> None:
        self._try_stack[-1].append((node, self.current_loops()))
        self.walk(node.body)
        self._try_stack[-1].pop()
        self._walk_all(node.handlers)
        self._walk_all((node.orelse, node.finalbody))

    def _if(self, node: cst.If) -> None:
        self.walk(node.test)
        main = self.scope.kind == "module" and self.main_block is None and _is_main_test(node.test)
        if main:
            self.main_block = node
            self._in_main = True
        guard = _is_status_test(node.test)
        if isinstance(node.orelse, cst.If):
            self.elifs.add(id(node.orelse))
        self._guard += guard
        gate = size_gate(node.test)
        self._branches[-1].append(node)
        self._conditions[-1].append((node.test, True))
        self._walk_gated(node.body, gate[0] if gate is not None and gate[1] else None)
        self._conditions[-1].pop()
        self._branches[-1].pop()
        if main:
            self._in_main = False
        if node.orelse is not None:
            self._branches[-1].append(node)
            self._conditions[-1].append((node.test, False))
            self._walk_gated(node.orelse, gate[0] if gate is not None and not gate[1] else None)
            self._conditions[-1].pop()
            self._branches[-1].pop()
        self._guard -= guard

    def _walk_gated(self, node: cst.CSTNode, threshold: Optional[cst.BaseExpression]) -> None:
        if threshold is not None:
            self._gates[-1].append(threshold)
        self.walk(node)
        if threshold is not None:
            self._gates[-1].pop()

    def _block(self, node: "cst.IndentedBlock | cst.Module") -> None:
        """Statements after `if <test>: return ...` only run when the test failed (and, for a
        status check, once the check passed)."""
        raised = 0
        conditions = self._conditions[-1]
        depth = len(conditions)
        for stmt in node.body:
            self.walk(stmt)
            if type(stmt) is cst.If and stmt.orelse is None and _ends_flow(stmt.body):
                conditions.append((stmt.test, False))
                if _is_status_test(stmt.test):
                    self._guard += 1
                    raised += 1
        del conditions[depth:]
        self._guard -= raised

    def _dict(self, node: cst.Dict) -> None:
        caller = "<main>" if self._in_main and self.scope.kind == "module" else self.scope.function_name
        self.dicts.append((node, caller, self.stmt))
        self._children(node)

    def _return(self, node: cst.Return) -> None:
        scope = self.scope
        if scope.kind == "function" and scope.func is not None and node.value is not None:
            scope.func.returns.append(node.value)
        self._children(node)

    # -- calls -----------------------------------------------------------------------------

    def _call(self, node: cst.Call) -> None:
        for arg in node.args:
            if type(arg.value) in _MAPPED_ARGUMENTS:
                self._arg_parent[id(arg.value)] = node
        self.calls.append(
            CallInfo(node, self.scope, self.current_loops(), tuple(self._try_stack[-1]),
                     self._in_main and self.scope.kind == "module", self._guard > 0,
                     tuple(self._branches[-1]), tuple(self._conditions[-1]), self.stmt, tuple(self._gates[-1]))
        )
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.attr.value in ("append", "extend")
            and node.args
        ):
            self.scope.appends.setdefault(func.value.value, []).append(
                (node.args[0].value, self.current_loops(), func.attr.value == "extend")
            )
        self._children(node)


# Node classes by identity: libcst's concrete node classes have no subclasses, and an
# `isinstance` test that fails against one runs through `ABCMeta.__instancecheck__` in Python.
_COMPOUND = frozenset({
    cst.FunctionDef, cst.ClassDef, cst.If, cst.For, cst.While, cst.Try, cst.TryStar, cst.With, cst.Match,
})
# Arguments the walk ties to the call they are passed to (a comprehension or lambda it may map).
_MAPPED_ARGUMENTS = frozenset({*COMPREHENSIONS, cst.Lambda})


def _is_main_test(test: cst.BaseExpression) -> bool:
    """`__name__ == "__main__"`, either way round."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return False
    sides = [test.left, target.comparator]
    names = [s.value for s in sides if isinstance(s, cst.Name)]
    strings = [literal(s) for s in sides if isinstance(s, cst.SimpleString)]
    return names == ["__name__"] and strings == ["__main__"]


def size_gate(test: cst.BaseExpression) -> Optional[Tuple[cst.BaseExpression, bool]]:
    """`len(xs) < N` (or `<=`, or `N > len(xs)`...): the threshold, and True when the `if`
    body is the small side (False when the `else` is: `if len(xs) >= N: batch else: ...`)."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    op, left, right = target.operator, test.left, target.comparator

    def is_len(node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "len"

    less = isinstance(op, (cst.LessThan, cst.LessThanEqual))
    more = isinstance(op, (cst.GreaterThan, cst.GreaterThanEqual))
    if is_len(left) and not is_len(right) and (less or more):
        return right, less
    if is_len(right) and not is_len(left) and (less or more):
        return left, more
    return None


def _is_status_test(test: cst.BaseExpression) -> bool:
    """A condition that reads a batch's status: a provider's status field, or a status value."""
    return any(
        (type(node) is cst.Attribute and node.attr.value in STATUS_FIELDS)
        or (type(node) is cst.SimpleString and literal(node) in ALL_STATUSES)
        for node in descendants(test)
    )


# What the walk does at each kind of node (functions, not bound methods: an index that pointed
# at itself through its table would keep the whole tree alive until the cyclic collector ran).
_HANDLERS: Dict[type, Callable[[ModuleIndex, Any], None]] = {
    cst.ClassDef: ModuleIndex._class,
    cst.FunctionDef: ModuleIndex._function,
    cst.Lambda: ModuleIndex._lambda,
    cst.Import: ModuleIndex._import,
    cst.ImportFrom: ModuleIndex._import_from,
    cst.Global: ModuleIndex._global,
    cst.Assign: ModuleIndex._assign_stmt,
    cst.AnnAssign: ModuleIndex._ann_assign,
    cst.AugAssign: ModuleIndex._aug_assign,
    cst.NamedExpr: ModuleIndex._named_expr,
    cst.WithItem: ModuleIndex._with_item,
    cst.For: ModuleIndex._for,
    cst.While: ModuleIndex._while,
    cst.ListComp: ModuleIndex._comprehension,
    cst.SetComp: ModuleIndex._comprehension,
    cst.DictComp: ModuleIndex._comprehension,
    cst.GeneratorExp: ModuleIndex._comprehension,
    cst.Try: ModuleIndex._try,
    cst.Return: ModuleIndex._return,
    cst.Call: ModuleIndex._call,
    cst.If: ModuleIndex._if,
    cst.Dict: ModuleIndex._dict,
    cst.IndentedBlock: ModuleIndex._block,
    cst.Module: ModuleIndex._block,
    cst.SimpleStatementLine: ModuleIndex._simple_statements,
    cst.SimpleStatementSuite: ModuleIndex._simple_statements,
}


def _ends_flow(body: cst.BaseSuite) -> bool:
    """Whether a block always leaves: its last statement returns, raises, continues or breaks."""
    statements = getattr(body, "body", ())
    last = statements[-1] if statements else None
    if isinstance(last, cst.SimpleStatementLine):
        return any(isinstance(s, (cst.Return, cst.Raise, cst.Continue, cst.Break)) for s in last.body)
    return False


def _dotted(node: Union[cst.Attribute, cst.Name, cst.BaseExpression]) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def last_name(node: cst.BaseExpression) -> str:
    """The last name of a name or attribute chain, or of what a call calls: `cache` of the
    decorator `functools.cache`, `submit` of `pool.submit(job)`; "" for anything else."""
    if isinstance(node, cst.Call):
        node = node.func
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return node.value if isinstance(node, cst.Name) else ""


@overload
def literal(node: cst.Integer) -> int: ...
@overload
def literal(node: cst.Float) -> float: ...
@overload
def literal(node: cst.SimpleString) -> Union[str, bytes]: ...
@overload
def literal(node: cst.ConcatenatedString) -> Union[str, bytes, None]: ...
@overload
def literal(node: Union[cst.SimpleString, cst.ConcatenatedString]) -> Union[str, bytes, None]: ...
@overload
def literal(node: Union[cst.Integer, cst.Float]) -> Union[int, float]: ...
def literal(node: Union[cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float]) -> object:
    """A literal's value, as libcst's `evaluated_value` gives it, without its `ast.literal_eval`
    (a compile per string) for the common plain, unescaped string and decimal integer."""
    if isinstance(node, cst.SimpleString) and node.prefix.lower() in ("", "u", "r"):
        inner = node.raw_value
        if "\r" not in inner and ("\\" not in inner or node.prefix.lower() == "r"):
            return inner
    elif isinstance(node, cst.Integer) and node.value.isdigit() and (node.value == "0" or node.value[0] != "0"):
        return int(node.value)
    return node.evaluated_value
