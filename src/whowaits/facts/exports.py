"""What a module offers other modules: module-level names, factories and class attributes.

Keys use the same value-path notation as call targets (`get_client()`, `LLM().client`), so the
project index can resolve `myapp.llm.get_client().messages.create` by replacing the longest
exported prefix.
"""

from __future__ import annotations

from typing import Dict, Tuple

from whowaits.facts.scopes import ClassInfo, ModuleIndex
from whowaits.facts.values import ClsV, Evaluator, Ext, FuncV, Inst, Value, best


def module_exports(index: ModuleIndex, evaluator: Evaluator) -> Tuple[Tuple[str, str], ...]:
    out: Dict[str, str] = {}

    def add(key: str, value: Value) -> None:
        if isinstance(value, Ext):
            out[key] = value.path

    def add_class(prefix: str, cls: ClassInfo) -> None:
        for attr in cls.attrs:
            add(f"{prefix}.{attr}", evaluator.class_member(cls, attr, set()))
        for name, method in cls.methods.items():
            member = evaluator.class_member(cls, name, set())
            if isinstance(member, FuncV):
                add(f"{prefix}.{name}()", evaluator.returns_of(method))
            else:
                add(f"{prefix}.{name}", member)

    for name, bindings in index.module_scope.bindings.items():
        value = best(evaluator.binding_value(b) for b in bindings)
        if isinstance(value, Ext):
            add(name, value)
        elif isinstance(value, FuncV):
            add(f"{name}()", evaluator.returns_of(value.func))
        elif isinstance(value, ClsV):
            add_class(f"{name}()", value.cls)
            add_class(name, value.cls)
        elif isinstance(value, Inst):
            add_class(name, value.cls)
    return tuple(sorted(out.items()))
