"""What a module offers other modules: module-level names, factories and class attributes.

Keys use the same value-path notation as call targets (`get_client()`, `LLM().client`), so the
project index can resolve `myapp.llm.get_client().messages.create` by replacing the longest
exported prefix.
"""

from __future__ import annotations

import ast
from typing import Dict, List, Optional, Tuple

from whowaits.core import MAX_ALTERNATIVES, ExportValue, LocalInstance
from whowaits.facts.scopes import ClassInfo, FuncInfo, ModuleIndex, Scope
from whowaits.facts.values import ClsV, Evaluator, Ext, FuncV, Inst, Lit, Value, best

_MAX_CONSTANT = 120


def module_exports(index: ModuleIndex, evaluator: Evaluator) -> Tuple[Tuple[str, ExportValue], ...]:
    """Module-level names, factories' results and class members other modules may use: value
    paths, and instances of this module's classes (`service = Service()`), so a call in another
    module reaches the method it runs. A factory with several `return`s exports each value
    (`if kind == "a": return A()` ... `return B()`), the one the evaluator picks first."""
    out: Dict[str, List[ExportValue]] = {}

    def add(key: str, *values: Value) -> None:
        found: List[ExportValue] = []
        for value in values:
            ref = value.path if isinstance(value, Ext) else LocalInstance(value.cls.qualname) if isinstance(value, Inst) else None
            if ref is not None and ref not in found:
                found.append(ref)
        if found:
            out[key] = found[:MAX_ALTERNATIVES]

    def add_returns(key: str, func: FuncInfo) -> None:
        first = evaluator.returns_of(func)
        if isinstance(first, (Ext, Inst)):  # what `best` picks leads, then the other returns
            add(key, first, *(evaluator.eval(expr, func.scope) for expr in func.returns))

    def add_class(prefix: str, cls: ClassInfo) -> None:
        for attr in cls.attrs:
            add(f"{prefix}.{attr}", evaluator.class_member(cls, attr, set()))
        for name, method in cls.methods.items():
            member = evaluator.class_member(cls, name, set())
            if isinstance(member, FuncV):
                add_returns(f"{prefix}.{name}()", method)
            else:
                add(f"{prefix}.{name}", member)

    for name, bindings in index.module_scope.bindings.items():
        value = best(evaluator.binding_value(b) for b in bindings)
        if isinstance(value, Ext):
            add(name, value)
        elif isinstance(value, FuncV):
            add_returns(f"{name}()", value.func)
        elif isinstance(value, ClsV):
            add_class(f"{name}()", value.cls)
            add_class(name, value.cls)
        elif isinstance(value, Inst):
            add_class(name, value.cls)
            add(name, value)
    return tuple((key, value) for key, values in sorted(out.items()) for value in values)


def module_constants(
    index: ModuleIndex, evaluator: Evaluator
) -> Tuple[Tuple[Tuple[str, str], ...], Tuple[Tuple[str, str], ...]]:
    """Module-level names and class attributes bound to one literal string (`MODEL = "..."`,
    `class Settings: model = "..."`, `settings = Settings()`), keyed like `module_exports`, so
    another module's `model=config.MODEL` resolves to the model it names. A default read from the
    environment (`os.getenv("MODEL", "...")`) counts, with the variable in the second table."""
    out: Dict[str, str] = {}
    env: Dict[str, str] = {}

    def short(value: Value) -> Optional[str]:  # model ids, not prompts or SQL: keep the facts small
        if isinstance(value, Lit) and isinstance(value.value, str) and len(value.value) <= _MAX_CONSTANT:
            return value.value
        return None

    def add(key: str, value: Value, nodes: List[Tuple[Optional[ast.AST], Scope]]) -> None:
        text = short(value)
        if text is not None:
            out[key] = text
        elif len(nodes) == 1 and isinstance(nodes[0][0], ast.expr):
            found = evaluator.env_default(nodes[0][0], nodes[0][1])
            if found is not None and len(found[1]) <= _MAX_CONSTANT:
                env[key], out[key] = found

    def add_class(prefix: str, cls: ClassInfo) -> None:
        for attr, assigned in cls.attrs.items():
            add(f"{prefix}.{attr}", evaluator.class_member(cls, attr, set()), list(assigned))

    for name, bindings in index.module_scope.bindings.items():
        value = best(evaluator.binding_value(b) for b in bindings)
        if isinstance(value, ClsV):
            add_class(name, value.cls)
            add_class(f"{name}()", value.cls)
        elif isinstance(value, Inst):
            add_class(name, value.cls)
        else:
            add(name, value, [(b.node, b.scope) for b in bindings if b.kind == "assign"] if len(bindings) == 1 else [])
    return tuple(sorted(out.items())), tuple(sorted(env.items()))
