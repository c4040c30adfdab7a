"""Program-structure facts: functions and their decorators, classes and bases, call edges,
registrations of functions as handlers or jobs, and loops that a person or a tool loop drives.

These are the raw material of context inference. Nothing here decides a context kind beyond
matching the registration table; `whowaits.contexts` does the rest across the project.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import libcst as cst

from whowaits.core import (
    CallEdge,
    ClassFact,
    DecoratorFact,
    FunctionFact,
    LoopFact,
    LoopFlags,
    RegistrationFact,
)
from whowaits.facts.calls import sdk_root
from whowaits.facts.requests import CodeFor
from whowaits.facts.scopes import CallInfo, ModuleIndex, child_nodes
from whowaits.facts.values import ClsV, Evaluator, Ext, FuncV, Inst, Value
from whowaits.knowledge.frameworks import (
    INPUT_FUNCTIONS,
    MOCK_FIXTURES,
    MOCK_MODULES,
    PERIODIC_TASK_METHODS,
    REGISTRATIONS,
    UI_SCRIPT_MODULES,
)
from whowaits.knowledge.patterns import compile_globs

PRAGMA = re.compile(r"#\s*whowaits:\s*context\s*=\s*(blocking|tolerant)\b(?:\s*--\s*(.*))?")

# Roots of modules that are never project code worth a call edge.
_EXTERNAL_ROOTS = frozenset(
    {"os", "sys", "re", "json", "time", "logging", "typing", "asyncio", "math", "random",
     "datetime", "pathlib", "collections", "itertools", "functools", "subprocess", "shutil",
     "dataclasses", "enum", "uuid", "hashlib", "base64", "csv", "io", "copy", "string",
     "textwrap", "traceback", "warnings", "pydantic", "requests", "httpx", "numpy", "pandas"}
)

_REGISTRATIONS = [(compile_globs(pattern), index, keyword, kind, name)
                  for pattern, index, keyword, kind, name in REGISTRATIONS]
_INPUTS = compile_globs(*INPUT_FUNCTIONS)


class ProgramReader:
    def __init__(
        self,
        index: ModuleIndex,
        evaluator: Evaluator,
        code_for: CodeFor,
        text: str,
        loops_of: Callable[[Sequence[int]], Tuple[LoopFact, ...]],
        ui_region: Callable[[CallInfo], int],
    ) -> None:
        self.index = index
        self.ev = evaluator
        self.code_for = code_for
        self.loops_of = loops_of
        self.ui_region = ui_region
        self.pragmas: Dict[int, Tuple[str, str]] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            match = PRAGMA.search(line)
            if match:
                self.pragmas[number] = (match.group(1), (match.group(2) or "").strip())

    def line(self, node: cst.CSTNode) -> int:
        return self.code_for.span(node).line

    # -- functions and classes -------------------------------------------------------------

    def functions(self) -> Tuple[FunctionFact, ...]:
        out = []
        for func in self.index.functions:
            node = func.node
            assert isinstance(node, cst.FunctionDef)
            def_line = self.line(node.name)
            decorators = []
            first = def_line
            for dec in node.decorators:
                expr = dec.decorator
                callee = expr.func if isinstance(expr, cst.Call) else expr
                keywords = tuple(a.keyword.value for a in expr.args if a.keyword) if isinstance(expr, cst.Call) else ()
                dec_line = self.line(dec)
                first = min(first, dec_line)
                decorators.append(DecoratorFact(self._ref(self.ev.eval(callee, func.scope.parent)), keywords, dec_line))  # type: ignore[arg-type]
            params = node.params
            names = tuple(p.name.value for p in list(params.posonly_params) + list(params.params) + list(params.kwonly_params))
            pragma = self.pragmas.get(def_line) or self.pragmas.get(def_line - 1) or self.pragmas.get(first - 1)
            out.append(
                FunctionFact(
                    qualname=func.qualname,
                    line=def_line,
                    is_async=func.is_async,
                    decorators=tuple(decorators),
                    class_name=func.cls.qualname if func.cls is not None else "",
                    params=names,
                    pragma=pragma,
                )
            )
        return tuple(out)

    def classes(self) -> Tuple[ClassFact, ...]:
        out = []
        for cls in self.index.classes:
            bases = tuple(self._ref(self.ev.eval(b, cls.scope.parent)) for b in cls.bases)  # type: ignore[arg-type]
            out.append(ClassFact(cls.qualname, self.line(cls.node.name), tuple(b for b in bases if b)))
        return tuple(out)

    @staticmethod
    def _ref(value: Value) -> str:
        if isinstance(value, Ext):
            return value.path
        if isinstance(value, FuncV):
            return "local:" + value.func.qualname
        if isinstance(value, ClsV):
            return "local:" + value.cls.qualname
        return ""

    # -- function references ---------------------------------------------------------------

    def _function_refs(self, expr: cst.BaseExpression, info: CallInfo) -> List[str]:
        """What a value passed as a function refers to: functions, or classes of handlers."""
        if isinstance(expr, (cst.List, cst.Tuple)):
            refs: List[str] = []
            for el in expr.elements:
                refs.extend(self._function_refs(el.value, info))
            return refs
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
            attr = expr.func.attr.value
            if attr == "as_view":
                base = self._ref(self.ev.eval(expr.func.value, info.scope))
                return ["class:" + base] if base else []
            if attr in ("s", "si", "signature"):
                return self._function_refs(expr.func.value, info)
        value = self.ev.eval(expr, info.scope)
        if isinstance(value, (ClsV, Inst)):
            return ["class:local:" + value.cls.qualname]
        if isinstance(value, Ext) and value.path.endswith("()"):
            return ["class:" + value.path[:-2]]  # an instance of an imported resource class
        ref = self._ref(value)
        return [ref] if ref else []

    # -- edges and registrations -----------------------------------------------------------

    def edges_and_registrations(self) -> Tuple[Tuple[CallEdge, ...], Tuple[RegistrationFact, ...]]:
        edges: List[CallEdge] = []
        registrations: List[RegistrationFact] = []
        for info in self.index.calls:
            value = self.ev.eval(info.node.func, info.scope)
            loops = self.loops_of(info.loops)
            region = self.ui_region(info)
            line = 0
            if isinstance(value, FuncV):
                line = self.line(info.node)
                edges.append(CallEdge(info.caller, "local:" + value.func.qualname, line, loops, ui_region=region))
            elif isinstance(value, Ext) and sdk_root(value.path) is None:
                root = value.path.lstrip(".").split(".")[0]
                if root not in _EXTERNAL_ROOTS:
                    line = self.line(info.node)
                    edges.append(CallEdge(info.caller, value.path, line, loops, ui_region=region))
            func = info.node.func
            if isinstance(func, cst.Name) and func.value == "map" and info.node.args and self.ev.lookup("map", info.scope) is None:
                for ref in self._function_refs(info.node.args[0].value, info):
                    edges.append(CallEdge(info.caller, ref, line or self.line(info.node), loops, fanout="map"))
            if not isinstance(value, Ext):
                continue
            path = value.path
            for pattern, index, keyword, kind, name in _REGISTRATIONS:
                if not pattern.match(path):
                    continue
                arg = _argument(info.node, index, keyword)
                if arg is None:
                    continue
                line = line or self.line(info.node)
                for ref in self._function_refs(arg, info):
                    if kind == "call":
                        if not ref.startswith("class:"):
                            edges.append(CallEdge(info.caller, ref, line, loops))
                    elif kind:
                        registrations.append(RegistrationFact(kind, name, ref, line, info.caller))
                    elif not ref.startswith("class:"):
                        edges.append(CallEdge(info.caller, ref, line, loops, fanout=name))
                break
            last = path.rsplit(".", 1)[-1]
            if last in PERIODIC_TASK_METHODS and len(info.node.args) > 1:
                line = line or self.line(info.node)
                for ref in self._function_refs(info.node.args[1].value, info):
                    registrations.append(RegistrationFact("scheduled", "Celery periodic task", ref, line, info.caller))
        return tuple(edges), tuple(registrations) + self._beat_schedules()

    def _beat_schedules(self) -> Tuple[RegistrationFact, ...]:
        """Celery beat entries: dicts with a "task" name and a "schedule"."""
        out = []
        for node, caller in self.index.dicts:
            keys: Dict[str, cst.BaseExpression] = {}
            for el in node.elements:
                if isinstance(el, cst.DictElement) and isinstance(el.key, cst.SimpleString):
                    key = el.key.evaluated_value
                    if isinstance(key, str):
                        keys[key] = el.value
            task = keys.get("task")
            if "schedule" in keys and isinstance(task, cst.SimpleString) and isinstance(task.evaluated_value, str):
                out.append(RegistrationFact("scheduled", "Celery beat schedule", "task:" + task.evaluated_value, self.line(task), caller))
        return tuple(out)

    # -- loops driven by a person or by tool turns -----------------------------------------

    def loop_flags(self) -> Tuple[LoopFlags, ...]:
        interactive_loops = set()
        for info in self.index.calls:
            if not info.loops:
                continue
            func = info.node.func
            value = self.ev.eval(func, info.scope)
            builtin_input = isinstance(func, cst.Name) and func.value == "input" and self.ev.lookup("input", info.scope) is None
            if builtin_input or (isinstance(value, Ext) and _INPUTS.match(value.path)):
                interactive_loops.update(info.loops)
        out = []
        for loop_id, loop in sorted(self.index.loops.items()):
            if loop.kind not in ("for", "while"):
                continue
            tool_use = _mentions(loop.node, "tool_use")
            interactive = loop_id in interactive_loops
            if tool_use or interactive:
                out.append(LoopFlags(loop_id, loop.scope.function_name, self.line(loop.node), interactive, tool_use))
        return tuple(out)

    def ui_script(self) -> bool:
        for bindings in self.index.module_scope.bindings.values():
            for b in bindings:
                if b.kind == "import" and b.target.split(".")[0] in UI_SCRIPT_MODULES:
                    return True
        return False

    def mocks(self) -> bool:
        """Whether the module fakes things in tests: imports a mocking library or takes a
        `mocker` / `monkeypatch` fixture. Its tests then do not call the real API."""
        imported = {target.split(".")[0] if not target.startswith("unittest") else target for target in self.index.imported}
        if imported & MOCK_MODULES or any(t.startswith("unittest.mock") for t in self.index.imported):
            return True
        for func in self.index.functions:
            params = func.node.params  # type: ignore[union-attr]
            if any(p.name.value in MOCK_FIXTURES for p in list(params.params) + list(params.kwonly_params)):
                return True
        return False

    def main_line(self) -> int:
        return self.line(self.index.main_block) if self.index.main_block is not None else 0


def _argument(call: cst.Call, index: int, keyword: str) -> Optional[cst.BaseExpression]:
    if keyword:
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == keyword:
                return arg.value
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if 0 <= index < len(positional):
        return positional[index].value
    return None


def _mentions(node: cst.CSTNode, text: str) -> bool:
    """Whether a string literal equal to `text` appears inside `node` (nested defs excluded)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.SimpleString) and current.evaluated_value == text:
            return True
        if isinstance(current, (cst.FunctionDef, cst.ClassDef)) and current is not node:
            continue
        stack.extend(child_nodes(current))
    return False
