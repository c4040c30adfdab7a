"""What a module offers other modules: module-level names, factories and class attributes.

Keys use the same value-path notation as call targets (`get_client()`, `LLM().client`), so the
project index can resolve `myapp.llm.get_client().messages.create` by replacing the longest
exported prefix.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

from whowaits.facts.scopes import ClassInfo, ModuleIndex
from whowaits.facts.values import ClsV, Evaluator, Ext, FuncV, Inst, Lit, Value, best

_MAX_CONSTANT = 120


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


def module_constants(index: ModuleIndex, evaluator: Evaluator) -> Tuple[Tuple[str, str], ...]:
    """Module-level names and class attributes bound to one literal string (`MODEL = "..."`,
    `class Settings: model = "..."`, `settings = Settings()`), keyed like `module_exports`, so
    another module's `model=config.MODEL` resolves to the model it names."""
    out: Dict[str, str] = {}

    def short(value: Value) -> Optional[str]:  # model ids, not prompts or SQL: keep the facts small
        if isinstance(value, Lit) and isinstance(value.value, str) and len(value.value) <= _MAX_CONSTANT:
            return value.value
        return None

    def add_class(prefix: str, cls: ClassInfo) -> None:
        for attr in cls.attrs:
            text = short(evaluator.class_member(cls, attr, set()))
            if text is not None:
                out[f"{prefix}.{attr}"] = text

    for name, bindings in index.module_scope.bindings.items():
        value = best(evaluator.binding_value(b) for b in bindings)
        text = short(value)
        if text is not None:
            out[name] = text
        elif isinstance(value, ClsV):
            add_class(name, value.cls)
            add_class(f"{name}()", value.cls)
        elif isinstance(value, Inst):
            add_class(name, value.cls)
    return tuple(sorted(out.items()))
