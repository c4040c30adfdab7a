"""Abstract values of expressions: which SDK object, project name or literal an expression is.

An expression evaluates to one of
- `Ext(path)`: a dotted value path outside this module, where `()` marks a call
  (`anthropic.Anthropic()` is a client instance, `.llm.client` a relative project import);
- `Inst(cls)` / `ClsV(cls)`: an instance of, or the class itself, defined in this module;
- `FuncV(func)`: a function or method defined in this module (calling it evaluates its returns);
- `Lit(value)`: a literal str / int / float / bool / None;
- `None`: unknown. The evaluator never guesses: unknown stays unknown.

Evaluation is flow-insensitive over the bindings `scopes.ModuleIndex` recorded, memoised, and
guarded against recursion, so it costs little more than one walk of the module.
"""

from __future__ import annotations

import ast
import builtins
import enum
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from whowaits.facts.scopes import Binding, CallInfo, ClassInfo, FuncInfo, Scope, last_name
from whowaits.facts.syntax import arguments, is_name, is_string, positional, subscript_elements
from whowaits.facts.calls import client_endpoint_tag, sdk_root
from whowaits.knowledge.libraries import ANY_TYPES, TYPE_CASTS
from whowaits.knowledge.sdk import BOTO3_CLIENT_FACTORIES, ENV_LOOKUPS, MODEL_WRAPPERS, PIPE_COMPOSED


@dataclass(frozen=True)
class Ext:
    path: str


@dataclass(frozen=True, eq=False)
class Inst:
    cls: ClassInfo


@dataclass(frozen=True, eq=False)
class ClsV:
    cls: ClassInfo


@dataclass(frozen=True, eq=False)
class FuncV:
    func: FuncInfo


@dataclass(frozen=True)
class Lit:
    value: Union[str, int, float, bool, None]


Value = Union[Ext, Inst, ClsV, FuncV, Lit, None]

class _Missing(enum.Enum):
    """A cache's answer for a key it does not hold (a value may be None)."""

    NOT_EVALUATED = 0


_NOT_EVALUATED = _Missing.NOT_EVALUATED
_BUILTINS = frozenset(dir(builtins))
PIPE_PREFIXES = tuple(m + "." for m in PIPE_COMPOSED)
_PROPERTY_DECORATORS = {"property", "cached_property"}
_MAX_DEPTH = 40
_REGISTRY = 32  # how many values of a registry dispatch follows


def best(values: Iterable[Value]) -> Value:
    """Pick the value several bindings agree on: any object beats literals, one of a type that
    says nothing (`client: Optional[Any] = None`, then `client = OpenAI()`) only when no other
    object is there; literals must agree."""
    literals: List[Lit] = []
    says_nothing: Value = None
    for value in values:
        if value is None:
            continue
        if isinstance(value, Lit):
            if value.value is not None:
                literals.append(value)
            continue
        if vague(value):
            says_nothing = says_nothing or value
            continue
        return value
    if says_nothing is not None:
        return says_nothing
    if literals and all(lit == literals[0] for lit in literals):
        return literals[0]
    return None


class Evaluator:
    """Evaluates expressions of one module against its recorded scopes."""

    def __init__(self, module_scope: Scope, calls: Sequence[CallInfo] = (),
                 fstring_parts: Optional[Callable[[ast.AST], Optional[List[Union[str, ast.expr]]]]] = None) -> None:
        self.module_scope = module_scope
        self.calls = calls
        self._cache: Dict[Tuple[int, int], Value] = {}
        # `alternatives` by (node, scope, depth, limit): receivers bound in many branches fan
        # out through every binding, and without it a module re-walks the same chains per call.
        self._alternatives: Dict[Tuple[int, int, int, int], List[Value]] = {}
        self._active: Set[Tuple[int, int]] = set()
        self._callers: Optional[Dict[int, List[CallInfo]]] = None
        # `name_value` by (name, scope): a name bound and read many times in one function
        # otherwise costs its bindings times its reads. An answer is kept only when no
        # evaluation under it was cut short (a cycle, the depth limit: `_cuts` counts them), so
        # asking again would give the same answer from the caches.
        self._names: Dict[Tuple[str, int], Value] = {}
        # `"Anthropic"` as an annotation, parsed once and kept: the caches are keyed by node
        # identity, and a node dropped after use would leave its identity to the next one.
        self._string_annotations: Dict[str, Optional[ast.expr]] = {}
        self._cuts = 0
        # The text and expressions of an f-string (`ModuleIndex.fstring_parts`), None for
        # anything else.
        self.fstring_parts: Callable[[ast.AST], Optional[List[Union[str, ast.expr]]]] = fstring_parts or (lambda node: None)

    # -- names -----------------------------------------------------------------------------

    def lookup(self, name: str, scope: Scope) -> Optional[List[Binding]]:
        """Bindings of `name` as Python resolves it from `scope` (class bodies skipped inside)."""
        current: Optional[Scope] = self.module_scope if name in scope.globals else scope
        first = True
        while current is not None:
            if current.kind == "class" and not first:
                current = current.parent
                continue
            if name in current.bindings:
                return current.bindings[name]
            current = current.parent
            first = False
        return None

    def name_value(self, name: str, scope: Scope) -> Value:
        key = (name, id(scope))
        found = self._names.get(key, _NOT_EVALUATED)
        if found is not _NOT_EVALUATED:
            return found
        cuts = self._cuts
        value = self._name_value(name, scope)
        if self._cuts == cuts:
            self._names[key] = value
        return value

    def _name_value(self, name: str, scope: Scope) -> Value:
        bindings = self.lookup(name, scope)
        if not bindings:
            # `from tkinter import *`: a name nothing binds comes from the one star import.
            stars = self.module_scope.stars
            if len(stars) == 1 and name not in _BUILTINS:
                return Ext(f"{stars[0]}.{name}")
            return None
        return best(self.binding_value(b) for b in bindings)

    def binding_value(self, binding: Binding) -> Value:
        kind = binding.kind
        if kind == "import":
            return Ext(binding.target)
        if kind == "func" and binding.func is not None:
            return FuncV(binding.func)
        if kind == "class" and binding.cls is not None:
            return ClsV(binding.cls)
        if kind == "self" and binding.cls is not None:
            return Inst(binding.cls)
        if kind == "cls" and binding.cls is not None:
            return ClsV(binding.cls)
        if kind in ("assign", "with"):
            if binding.node is None:
                return None
            value = self.eval(binding.node, binding.scope)
            if value is None and binding.annotation is not None:
                return self.annotation_value(binding.annotation, binding.scope)
            return value
        if kind == "unpack" and isinstance(binding.node, (ast.Tuple, ast.List)):
            elements = binding.node.elts
            if 0 <= binding.index < len(elements):
                element = elements[binding.index]
                return self.eval(element.value if isinstance(element, ast.Starred) else element, binding.scope)
            return None
        if kind == "param":
            if binding.annotation is not None:
                annotated = self.annotation_value(binding.annotation, binding.scope)
                if annotated is not None:
                    return annotated
            return self.argument_value(binding)
        return None

    def argument_value(self, binding: Binding) -> Value:
        """What callers in this module pass for a parameter (the default where they pass none).

        Literals must agree across callers; a caller passing `*args`/`**kwargs` makes it unknown.
        """
        func = binding.scope.func
        if func is None or isinstance(func.node, ast.Lambda):
            return None
        values: List[Value] = []
        offset = 1 if func.cls is not None and "staticmethod" not in {last_name(d) for d in func.decorators} else 0
        for call in self.callers_of(func):
            passed: Optional[ast.expr] = None
            args = arguments(call.node)
            if any(a.star for a in args):
                return None
            index = binding.index - offset
            if 0 <= index < len(call.node.args):
                passed = call.node.args[index]
            for arg in call.node.keywords:
                if arg.arg == binding.target:
                    passed = arg.value
            if passed is not None:
                values.append(self.eval(passed, call.scope))
                if values[-1] is None:
                    return None
            elif binding.node is not None:
                values.append(self.eval(binding.node, binding.scope))
        if not values and binding.node is not None:
            values.append(self.eval(binding.node, binding.scope))
        objects = [v for v in values if v is not None and not isinstance(v, Lit) and not vague(v)]
        if any(_identity(v) != _identity(objects[0]) for v in objects[1:]):
            # Callers pass different objects (`run(op)` with each caller's own closure): which
            # one it is depends on the caller. Unknown here; the project stage follows each
            # caller's argument, as a call that may run it.
            return None
        return best(values)

    def callers_of(self, func: FuncInfo) -> List[CallInfo]:
        if self._callers is None:
            self._callers = {}  # set first: evaluating callees may ask again (recursion)
            callers: Dict[int, List[CallInfo]] = {}
            for call in self.calls:
                target = self.eval(call.node.func, call.scope)
                if isinstance(target, FuncV):
                    callers.setdefault(id(target.func), []).append(call)
            self._callers = callers
            # Values computed while the map was incomplete may say "unknown" wrongly.
            self._cache.clear()
            self._alternatives.clear()
            self._names.clear()
            self._cuts += 1  # an answer that spans this was partly found without the map
        return self._callers.get(id(func), [])

    def annotation_value(self, node: ast.expr, scope: Scope) -> Value:
        """An instance of the annotated type: `Anthropic`, `Optional[Anthropic]`, `X | None`."""
        if is_string(node):
            text = str(node.value)
            if text not in self._string_annotations:
                parsed: Optional[ast.expr]
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        parsed = ast.parse(text, mode="eval").body
                except Exception:  # a string annotation that is not an expression
                    parsed = None
                self._string_annotations[text] = parsed
            found = self._string_annotations[text]
            if found is None:
                return None
            node = found
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return best([self.annotation_value(node.left, scope), self.annotation_value(node.right, scope)])
        if isinstance(node, ast.Subscript):
            outer = self.eval(node.value, scope)
            if isinstance(outer, Ext) and outer.path.split(".")[-1] in ("Optional", "Union", "Annotated"):
                return best(
                    self.annotation_value(el, scope)
                    for el in subscript_elements(node)
                    if not isinstance(el, ast.Slice)
                )
            return None
        value = self.eval(node, scope)
        if isinstance(value, Ext):
            return Ext(value.path + "()")
        if isinstance(value, ClsV):
            return Inst(value.cls)
        return None

    # -- expressions -----------------------------------------------------------------------

    def eval(self, node: Optional[ast.AST], scope: Scope) -> Value:
        if node is None:
            return None
        key = (id(node), id(scope))
        cached = self._cache.get(key, _NOT_EVALUATED)
        if cached is not _NOT_EVALUATED:
            return cached
        if key in self._active or len(self._active) > _MAX_DEPTH:
            self._cuts += 1
            return None
        # One lookup by exact class (`ast`'s node classes have no subclasses) rather than a
        # chain of `isinstance` tests: every expression of a module comes here. A kind with no
        # step is unknown at once, and evaluates nothing under it that could come back here.
        step = _EVAL_STEPS.get(type(node))
        if step is None:
            value: Value = None
        else:
            self._active.add(key)
            try:
                value = step(self, node, scope)
            finally:
                self._active.discard(key)
        self._cache[key] = value
        return value

    def _eval_name(self, node: ast.Name, scope: Scope) -> Value:
        return self.name_value(node.id, scope)

    def _eval_constant(self, node: ast.Constant, scope: Scope) -> Value:
        """Strings (one or several tokens), numbers, `True`, `False` and `None`; bytes,
        imaginary numbers and `...` are not values the passes use."""
        value = node.value
        return Lit(value) if value is None or isinstance(value, (str, int, float)) else None

    def _eval_attribute(self, node: ast.Attribute, scope: Scope) -> Value:
        return self.member(self.eval(node.value, scope), node.attr)

    def _eval_call(self, node: ast.Call, scope: Scope) -> Value:
        func = node.func
        if (isinstance(func, ast.Name) and func.id == "super" and not node.args and not node.keywords
                and self.lookup("super", scope) is None):
            return self._super(scope)
        return self.call_value(self.eval(func, scope), node, scope)

    def _super(self, scope: Scope) -> Value:
        """`super()` in a method: its class's first base, as an instance (`super().__init__(
        client=c)` runs the base's `__init__`)."""
        cls = scope.func.cls if scope.kind == "function" and scope.func is not None else None
        if cls is None or not cls.bases:
            return None
        base = self.eval(cls.bases[0], cls.scope.parent or self.module_scope)
        if isinstance(base, ClsV):
            return Inst(base.cls)
        return Ext(base.path + "()") if isinstance(base, Ext) else None

    def _eval_await(self, node: ast.Await, scope: Scope) -> Value:
        return self.eval(node.value, scope)

    def _eval_if_exp(self, node: ast.IfExp, scope: Scope) -> Value:
        return best([self.eval(node.body, scope), self.eval(node.orelse, scope)])

    def _eval_boolean(self, node: ast.BoolOp, scope: Scope) -> Value:
        """`a or b or c` as `(a or b) or c`: the values agree pairwise, from the left."""
        value = self.eval(node.values[0], scope)
        for other in node.values[1:]:
            value = best([value, self.eval(other, scope)])
        return value

    def _eval_named(self, node: ast.NamedExpr, scope: Scope) -> Value:
        return self.eval(node.value, scope)

    def _eval_binary(self, node: ast.BinOp, scope: Scope) -> Value:
        if isinstance(node.op, ast.BitOr):
            # `prompt | llm | parser`: a runnable chain calls the chat model it contains.
            for side in (self.eval(node.left, scope), self.eval(node.right, scope)):
                if isinstance(side, Ext) and side.path.startswith(PIPE_PREFIXES):
                    return side
        return None

    def _eval_unary(self, node: ast.UnaryOp, scope: Scope) -> Value:
        if isinstance(node.op, ast.USub):
            inner = self.eval(node.operand, scope)
            if isinstance(inner, Lit) and isinstance(inner.value, (int, float)):
                return Lit(-inner.value)
        return None

    def alternatives(self, node: ast.AST, scope: Scope, depth: int = 0, limit: int = 4) -> List[Value]:
        """Every object a receiver chain may be, when a name is bound to different clients in
        different branches (`client = OpenAI() if x else Anthropic()`). At most `limit`; the
        first is what `eval` returns.

        With a higher limit (dispatch), names bound by a loop over a registry and subscripts
        of one (`BACKENDS[name]()`) are each value the registry holds."""
        key = (id(node), id(scope), depth, limit)
        found = self._alternatives.get(key)
        if found is None:
            found = self._alternatives[key] = self._alternatives_of(node, scope, depth, limit)
        return list(found)

    def _alternatives_of(self, node: ast.AST, scope: Scope, depth: int, limit: int) -> List[Value]:
        if depth > 8:
            return [self.eval(node, scope)]
        if isinstance(node, ast.Name):
            bindings = self.lookup(node.id, scope) or []
            found: List[Value] = []
            for b in bindings:
                if b.kind == "loop" and limit > 4 and b.node is not None:
                    found.extend(self.iterated(b.node, b.index, b.scope, depth + 1))
                elif b.kind == "assign" and limit > 4 and b.node is not None:
                    found.extend(self.alternatives(b.node, b.scope, depth + 1, limit))
                else:
                    found.append(self.binding_value(b))
            found = [v for v in found if v is not None and not isinstance(v, Lit)]
            return _distinct(found, limit) or [self.eval(node, scope)]
        if isinstance(node, ast.Attribute):
            attr = node.attr
            found = []
            for base in self.alternatives(node.value, scope, depth + 1, limit):
                found.append(self.member(base, attr))
                if isinstance(base, Inst) and len(base.cls.attrs.get(attr, ())) > 1:
                    # `self.agent = A()` in one branch, `= B()` in another: each of them.
                    found.extend(v for expr, where in base.cls.attrs[attr]
                                 for v in self.alternatives(expr, where, depth + 1, limit) if not isinstance(v, Lit))
            return _distinct(found, limit)
        if isinstance(node, ast.Call):
            func = node.func
            if limit > 4 and isinstance(func, ast.Attribute) and func.attr == "get" and arguments(node):
                held = self.held(func.value, scope, depth + 1)  # `REGISTRY.get(name)`, as `REGISTRY[name]`
                if held:
                    return _distinct(held, limit)
            found = []
            for f in self.alternatives(node.func, scope, depth + 1, limit):
                if isinstance(f, FuncV):  # a factory that returns different clients on different paths
                    found.extend(self.eval(ret, f.func.scope) for ret in f.func.returns)
                else:
                    found.append(self.call_value(f, node, scope))
            return _distinct(found, limit)
        if isinstance(node, ast.Await):
            return self.alternatives(node.value, scope, depth + 1, limit)
        if isinstance(node, ast.IfExp):
            return _distinct(self.alternatives(node.body, scope, depth + 1, limit)
                             + self.alternatives(node.orelse, scope, depth + 1, limit), limit)
        if isinstance(node, ast.Subscript) and limit > 4:
            elements = subscript_elements(node)
            key = _string(elements[0]) if len(elements) == 1 else None
            if key is not None:  # `command["function"]`: that field of each record it may be
                fields = [v for record, where in self.records(node.value, scope, depth + 1)
                          for record_key, value in zip(record.keys, record.values)
                          if record_key is not None and _string(record_key) == key
                          for v in self.alternatives(value, where, depth + 1, limit)]
                if fields:
                    return _distinct(fields, limit)
            return _distinct(self.held(node.value, scope, depth + 1), limit)
        return [self.eval(node, scope)]

    def records(self, node: ast.AST, scope: Scope, depth: int = 0) -> List[Tuple[ast.Dict, Scope]]:
        """The dict literals a name may hold: one assigned, or each of a list of them it is
        the loop target of (`for command in COMMANDS:` over `[{"name": ..., "run": fn}, ...]`)."""
        if depth > 8:
            return []
        if isinstance(node, ast.Dict):
            return [(node, scope)]
        out: List[Tuple[ast.Dict, Scope]] = []
        if isinstance(node, ast.Name):
            for b in self.lookup(node.id, scope) or []:
                if b.kind == "assign" and isinstance(b.node, ast.Dict):
                    out.append((b.node, b.scope))
                elif b.kind == "loop" and b.index == -1 and b.node is not None:
                    out.extend(self._element_records(b.node, b.scope, depth + 1))
        return out

    def _element_records(self, node: ast.AST, scope: Scope, depth: int) -> List[Tuple[ast.Dict, Scope]]:
        """The dict literals among the elements of a list or tuple (through a name bound to one)."""
        if depth > 8:
            return []
        if isinstance(node, (ast.List, ast.Tuple)):
            values = [el.value if isinstance(el, ast.Starred) else el for el in node.elts]
            return [(value, scope) for value in values if isinstance(value, ast.Dict)]
        if isinstance(node, ast.Name):
            return [r for b in self.lookup(node.id, scope) or [] if b.kind == "assign" and b.node is not None
                    for r in self._element_records(b.node, b.scope, depth + 1)]
        return []

    def env_default(self, node: ast.expr, scope: Scope) -> Optional[Tuple[str, str]]:
        """`os.getenv("NAME", "default")`: the variable and its literal default string, the value
        configuration has unless a deployment sets the variable."""
        if not isinstance(node, ast.Call):
            return None
        args = arguments(node)
        if len(args) < 2 or any(a.keyword or a.star for a in args[:2]):
            return None
        func = self.eval(node.func, scope)
        if not isinstance(func, Ext) or func.path not in ENV_LOOKUPS:
            return None
        name, default = (self.eval(arg.value, scope) for arg in args[:2])
        if isinstance(name, Lit) and isinstance(name.value, str) and isinstance(default, Lit) and isinstance(default.value, str):
            return name.value, default.value
        return None

    def held(self, node: ast.AST, scope: Scope, depth: int = 0) -> List[Value]:
        """The values a registry holds: a dict's values, a list's or tuple's elements, what a
        comprehension builds, through names bound to one and factories returning one."""
        if depth > 8:
            return []
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return [v for el in node.elts if not isinstance(el, ast.Starred)
                    for v in self.alternatives(el, scope, depth + 1, _REGISTRY)]
        if isinstance(node, ast.Dict):
            return [v for key, value in zip(node.keys, node.values) if key is not None
                    for v in self.alternatives(value, scope, depth + 1, _REGISTRY)]
        if isinstance(node, ast.DictComp):
            return self.alternatives(node.value, scope, depth + 1, _REGISTRY)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            return self.alternatives(node.elt, scope, depth + 1, _REGISTRY)
        if isinstance(node, ast.Name):
            out: List[Value] = []
            for b in self.lookup(node.id, scope) or []:
                if b.kind == "assign" and b.node is not None:
                    out.extend(self.held(b.node, b.scope, depth + 1))
            return out
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("values", "copy") and not arguments(node):
                return self.held(func.value, scope, depth + 1)
            target = self.eval(func, scope)
            if isinstance(target, FuncV):
                return [v for ret in target.func.returns for v in self.held(ret, target.func.scope, depth + 1)]
        return []

    def iterated(self, node: ast.AST, index: int, scope: Scope, depth: int = 0) -> List[Value]:
        """What a loop target gets from iterating `node`: the values of `reg.values()`, the
        second element of `reg.items()`, the elements of a list or tuple (not a dict's keys)."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not arguments(node):
            attr = node.func.attr
            if attr == "items":
                return self.held(node.func.value, scope, depth) if index == 1 else []
            if attr == "values" and index == -1:
                return self.held(node.func.value, scope, depth)
        if index != -1 or isinstance(node, (ast.Dict, ast.DictComp)):
            return []
        if isinstance(node, ast.Name) and any(
            b.kind == "assign" and isinstance(b.node, (ast.Dict, ast.DictComp)) for b in self.lookup(node.id, scope) or []
        ):
            return []  # iterating a dict gives its keys
        return self.held(node, scope, depth)

    def member(self, base: Value, attr: str) -> Value:
        if isinstance(base, Ext):
            return Ext(f"{base.path}.{attr}")
        if isinstance(base, (Inst, ClsV)):
            return self.class_member(base.cls, attr, set())
        return None

    def class_member(self, cls: ClassInfo, attr: str, seen: Set[int]) -> Value:
        if id(cls) in seen:
            return None
        seen.add(id(cls))
        candidates: List[Value] = [self.eval(expr, scope) for expr, scope in cls.attrs.get(attr, [])]
        method = cls.methods.get(attr)
        if method is not None:
            names = {last_name(d) for d in method.decorators}
            candidates.append(self.returns_of(method) if names & _PROPERTY_DECORATORS else FuncV(method))
        value = best(candidates)
        if value is not None:
            return value
        external: Optional[Ext] = None
        for base in cls.bases:
            base_value = self.eval(base, cls.scope.parent or self.module_scope)
            if isinstance(base_value, ClsV):
                inherited = self.class_member(base_value.cls, attr, seen)
                if inherited is not None:
                    return inherited
            elif isinstance(base_value, Ext) and external is None:
                external = base_value
        # Not defined in the project: inherited from a library class (`self.Bind` on a
        # `wx.Frame` subclass is `wx.Frame().Bind`).
        return Ext(f"{external.path}().{attr}") if external is not None else None

    def call_value(self, func: Value, node: ast.Call, scope: Scope) -> Value:
        if isinstance(func, Ext):
            args = arguments(node)
            if func.path in BOTO3_CLIENT_FACTORIES and args:
                service = self.eval(args[0].value, scope)
                if isinstance(service, Lit) and isinstance(service.value, str):
                    return Ext(f"{func.path}[{service.value}]()")
            position = TYPE_CASTS.get(func.path)
            if position is not None:
                return self._cast(node, position, scope)
            wrapped = MODEL_WRAPPERS.get(func.path)
            if wrapped is not None:
                model = next((a.value for a in args if a.keyword == wrapped), None)
                inner = self.eval(model, scope) if model is not None else None
                if isinstance(inner, Ext):
                    return inner
            return Ext(func.path + client_endpoint_tag(func.path, node, self, scope) + "()")
        if isinstance(func, FuncV):
            return self.returns_of(func.func)
        if isinstance(func, ClsV):
            return Inst(func.cls)
        return None

    def _cast(self, node: ast.Call, position: int, scope: Scope) -> Value:
        """`cast(T, value)`: T (`cast(Agent, session.get("agent"))`), unless T says nothing
        (`Any`) or the value is a name the code holds. That is what it holds: cast in the branch
        its tag picks (`cast(BulkProvider, provider)`), it is what the callers passed, so only
        an SDK's type is taken for one not known."""
        given_values = positional(node)
        if len(given_values) <= position:
            return None
        given = given_values[position]
        cast_to = self.annotation_value(given_values[0], scope)
        cast_to = None if vague(cast_to) else cast_to
        if cast_to is not None and not (is_name(given) or isinstance(given, ast.Attribute)):
            return cast_to
        value = self.eval(given, scope)
        if value is not None and not vague(value):
            return value
        return cast_to if isinstance(cast_to, Ext) and sdk_root(cast_to.path) is not None else value

    def returns_of(self, func: FuncInfo) -> Value:
        return best(self.eval(expr, func.scope) for expr in func.returns)


_EVAL_STEPS: Dict[type, Callable[[Evaluator, Any, Scope], Value]] = {
    ast.Name: Evaluator._eval_name,
    ast.Constant: Evaluator._eval_constant,
    ast.Attribute: Evaluator._eval_attribute,
    ast.Call: Evaluator._eval_call,
    ast.Await: Evaluator._eval_await,
    ast.IfExp: Evaluator._eval_if_exp,
    ast.BoolOp: Evaluator._eval_boolean,
    ast.NamedExpr: Evaluator._eval_named,
    ast.BinOp: Evaluator._eval_binary,
    ast.UnaryOp: Evaluator._eval_unary,
}


def vague(value: Value) -> bool:
    """A value of a type that says nothing (`Any`, `object`): as good as unknown."""
    return isinstance(value, Ext) and value.path.startswith(ANY_TYPES)


def _string(node: ast.AST) -> Optional[str]:
    """A plain string literal's value (a dict key, a subscript), else None."""
    value = node.value if is_string(node) else None
    return value if isinstance(value, str) else None


def _identity(value: Value) -> object:
    """What a value is, comparable across evaluations: the same function, class or instance
    evaluated twice gives two `FuncV`s (they compare by identity)."""
    if isinstance(value, (Inst, ClsV)):
        return type(value), id(value.cls)
    if isinstance(value, FuncV):
        return FuncV, id(value.func)
    return value


def _distinct(values: List[Value], limit: int = 4) -> List[Value]:
    """The first `limit` different values, in order. It stops there: a name assigned a
    thousand times in one module would otherwise compare each value with every other."""
    out: List[Value] = []
    for value in values:
        if value is not None and value not in out:  # `in`: identity, then equality, in C
            out.append(value)
            if len(out) == limit:
                break
    return out
