"""Program-structure facts: functions and their decorators, classes and bases, call edges,
registrations of functions as handlers or jobs, and loops that a person or a tool loop drives.

These are the raw material of context inference. Nothing here decides a context kind beyond
matching the registration table; `whowaits.contexts` does the rest across the project.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import shlex
from dataclasses import replace
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

from whowaits.core import (
    ArgRef,
    ArgValue,
    CallEdge,
    CallRef,
    ClassFact,
    ClassRef,
    DecoratorFact,
    FunctionFact,
    KeywordArg,
    LiteralArg,
    LiteralValue,
    LocalInstance,
    LocalRef,
    LoopFact,
    LoopFlags,
    ModuleRef,
    ParamGuard,
    ParamRef,
    Passed,
    RegistrationFact,
    ScriptRef,
    TaskRef,
    ValueRef,
)
from whowaits.facts.calls import sdk_root
from whowaits.facts.positions import CodeFor
from whowaits.facts.scopes import Binding, CallInfo, ClassInfo, last_name, ModuleIndex, parameter_names, Scope
from whowaits.facts.syntax import (
    arguments, child_nodes, concatenated, descendants, identifiers, is_name, is_string, name_of, positional,
    subscript_elements,
)
from whowaits.facts.values import ClsV, Evaluator, Ext, FuncV, Inst, Lit, Value, vague
from whowaits.knowledge.frameworks import (
    DETACHED_STARTS,
    STARTED_BODY,
    STARTED_NAMES,
    SUBCOMMAND_PARSER,
    INPUT_FUNCTIONS,
    MOCK_FIXTURES,
    MOCK_MODULES,
    PERIODIC_TASK_METHODS,
    REGISTRATIONS,
    TASK_STARTS,
    UI_SCRIPT_MODULES,
)
from whowaits.knowledge.patterns import GlobTable, compile_globs
from whowaits.manifests.commands import invocations
from whowaits.manifests.schedule import cron_period_hours, interval_hours

PRAGMA = re.compile(r"#\s*whowaits:\s*context\s*=\s*(blocking|tolerant)\b(?:\s*--\s*(.*))?")

# Roots of modules that are never project code worth a call edge.
_EXTERNAL_ROOTS = frozenset(
    {"os", "sys", "re", "json", "time", "logging", "typing", "asyncio", "math", "random",
     "datetime", "pathlib", "collections", "itertools", "functools", "subprocess", "shutil",
     "dataclasses", "enum", "uuid", "hashlib", "base64", "csv", "io", "copy", "string",
     "textwrap", "traceback", "warnings", "pydantic", "requests", "httpx", "numpy", "pandas"}
)

# Node classes tested by identity (`ast`'s have no subclasses).
_NAMED_KINDS = frozenset({ast.Name, ast.Attribute})
# Expressions the evaluator can make an object of (literals and containers it cannot).
_HANDED_KINDS = frozenset({ast.Name, ast.Attribute, ast.Call, ast.Await, ast.IfExp, ast.BoolOp, ast.NamedExpr, ast.BinOp})
_SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})

_SUBPROCESS = frozenset({"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
                         "subprocess.Popen", "os.system", "asyncio.create_subprocess_exec"})

# What a value handed to a framework or runner refers to: a function, or a class of handlers.
HandedRef = Union[ValueRef, ClassRef]

_REGISTRATIONS = GlobTable((pattern, (index, keyword, kind, name)) for pattern, index, keyword, kind, name in REGISTRATIONS)
_INPUTS = compile_globs(*INPUT_FUNCTIONS)
_DETACHED = compile_globs(*DETACHED_STARTS)
_TASK_STARTS = compile_globs(*TASK_STARTS)
# The last names TASK_STARTS match (`create_task`, `ensure_future`): a call named otherwise is
# not evaluated to be matched against them.
_DETACHED_NAMES = frozenset(start.rsplit(".", 1)[-1] for start in DETACHED_STARTS)
_POOL_SUBMITS = frozenset({"submit", "apply_async"})  # the pool runners (kind "submit") a caller may not wait for
_TASK_METHODS = frozenset(name for pattern in TASK_STARTS for name in pattern.rsplit(".", 1)[-1].strip("{}").split(","))


class ProgramReader:
    def __init__(
        self,
        index: ModuleIndex,
        evaluator: Evaluator,
        code_for: CodeFor,
        text: str,
        loops_of: Callable[[CallInfo], Tuple[LoopFact, ...]],
        ui_region: Callable[[CallInfo], int],
        size_gated: Callable[[CallInfo], bool],
        few_items: Callable[[ast.expr, Scope], bool],
        guards_of: Callable[[CallInfo], Tuple[ParamGuard, ...]],
        prompted: Optional[Set[int]] = None,
    ) -> None:
        self.index = index
        self.prompted = prompted or set()
        self.ev = evaluator
        self.code_for = code_for
        self.loops_of = loops_of
        self.ui_region = ui_region
        self.size_gated = size_gated
        self.few_items = few_items
        self.guards_of = guards_of
        self.tool_use_text = may_spell(text, TOOL_USE)
        self.pragmas: Dict[int, Tuple[str, str]] = {}
        # A pragma names whowaits: a module that does not (nearly all) has no line to search.
        for number, line in enumerate(text.splitlines() if "whowaits" in text else (), start=1):
            match = PRAGMA.search(line)
            if match:
                self.pragmas[number] = (match.group(1), (match.group(2) or "").strip())

    def line(self, node: ast.AST) -> int:
        """The line a node starts on."""
        return self.code_for.span(node).line

    def call_line(self, info: CallInfo) -> int:
        """Evidence lines for calls: the line of their statement."""
        return self.code_for.statement_line(info.stmt, info.node)

    # -- functions and classes -------------------------------------------------------------

    def functions(self) -> Tuple[FunctionFact, ...]:
        out = []
        for func in self.index.functions:
            node = func.node
            assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            def_line = self.line(node)
            decorators = []
            first = def_line
            for expr in node.decorator_list:
                callee = expr.func if isinstance(expr, ast.Call) else expr
                keywords = tuple(a.arg for a in expr.keywords if a.arg) if isinstance(expr, ast.Call) else ()
                dec_line = expr.lineno
                first = min(first, dec_line)
                outer = func.scope.parent or self.index.module_scope  # where decorators are evaluated
                period = self._call_period(expr, outer) if isinstance(expr, ast.Call) else None
                path = self._ref(self.ev.eval(callee, outer)) or self._group_command(callee, outer)
                decorators.append(DecoratorFact(path, keywords, dec_line, period))
            names = tuple(parameter_names(node.args))
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

    def _group_command(self, callee: ast.expr, scope: Scope) -> str:
        """`@cli.command()` where `cli` is a function decorated with `@click.group()`."""
        if not isinstance(callee, ast.Attribute):
            return ""
        base = self.ev.eval(callee.value, scope)
        if not isinstance(base, FuncV):
            return ""
        for dec in base.func.decorators:
            target = dec.func if isinstance(dec, ast.Call) else dec
            value = self.ev.eval(target, base.func.scope.parent or self.index.module_scope)
            if isinstance(value, Ext) and value.path in ("click.group", "click.command"):
                return f"click.Group().{callee.attr}"
        return ""

    def classes(self) -> Tuple[ClassFact, ...]:
        out = []
        for cls in self.index.classes:
            outer = cls.scope.parent or self.index.module_scope
            bases = tuple(self._ref(self.ev.eval(b, outer)) for b in cls.bases)
            out.append(ClassFact(cls.qualname, self.line(cls.node), tuple(b for b in bases if b)))
        return tuple(out)

    @staticmethod
    def _ref(value: Value) -> ValueRef:
        """A value the call graph can resolve: an imported path, or a function or class of
        this module; "" for anything else."""
        if isinstance(value, Ext):
            return value.path
        if isinstance(value, FuncV):
            return LocalRef(value.func.qualname)
        if isinstance(value, ClsV):
            return LocalRef(value.cls.qualname)
        return ""

    # -- function references ---------------------------------------------------------------

    def _function_refs(self, expr: ast.expr, info: CallInfo) -> List[HandedRef]:
        """What a value passed as a function refers to: functions, or classes of handlers."""
        if isinstance(expr, (ast.List, ast.Tuple)):
            refs: List[HandedRef] = []
            for el in expr.elts:
                refs.extend(self._function_refs(el.value if isinstance(el, ast.Starred) else el, info))
            return refs
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            attr = expr.func.attr
            if attr == "as_view":
                base = self._ref(self.ev.eval(expr.func.value, info.scope))
                return [ClassRef(base)] if base else []
            if attr in ("s", "si", "signature"):
                return self._function_refs(expr.func.value, info)
        value = self.ev.eval(expr, info.scope)
        if isinstance(value, (ClsV, Inst)):
            return [ClassRef(LocalRef(value.cls.qualname))]
        if isinstance(value, Ext) and value.path.endswith("()"):
            return [ClassRef(value.path[:-2])]  # an instance of an imported resource class
        ref = self._ref(value)
        return [ref] if ref else []

    # -- edges and registrations -----------------------------------------------------------

    def edges_and_registrations(self) -> Tuple[Tuple[CallEdge, ...], Tuple[RegistrationFact, ...]]:
        edges: List[CallEdge] = []
        registrations: List[RegistrationFact] = []
        started_apart, wrapped_apart = self._started_apart()
        for info in self.index.calls:
            value = self.ev.eval(info.node.func, info.scope)
            loops = self.loops_of(info)
            region = self.ui_region(info)
            line = 0
            callee: CallRef = ""
            runs = self._call_refs(info, value)
            started = self._started_body(info, value)
            if started is not None:  # `Worker(job).start()`: as `Thread(target=worker.run).start()`
                body, started_by = started
                line = self.call_line(info)
                edges.append(CallEdge(info.caller, body, line, loops, ui_region=region, detached=True, guards=self.guards_of(info)))
                registrations.append(RegistrationFact("background", started_by, body, line, info.caller))
            if runs:
                line = self.call_line(info)
                callee = runs[0][0]
                args, keywords = self._arg_paths(info)
                gated = self.size_gated(info)
                prompted = id(info.node) in self.prompted
                apart = started_apart.get(id(info.node), "")
                passes = call_passes(info, self.ev)
                for target, certain in runs:
                    edges.append(CallEdge(info.caller, target, line, loops, ui_region=region, args=args, keywords=keywords, certain=certain,
                                          size_gated=gated, prompted=prompted, detached=bool(apart), guards=self.guards_of(info), passed=passes))
                    if apart and isinstance(target, (str, LocalRef)):
                        registrations.append(RegistrationFact("background", apart, target, line, info.caller))
            if callee:
                # Functions handed to a project function (`run_tracked("x", job)`) are most
                # likely called by it: an edge, kept only if the callee is project code. The
                # position lets a helper that maps its parameter over items say so.
                handed_args = arguments(info.node)
                in_order = [a for a in handed_args if a.keyword is None and not a.star]
                for given in handed_args:
                    if type(given.value) in _NAMED_KINDS and not given.star:
                        passed = self.ev.eval(given.value, info.scope)
                        if isinstance(passed, FuncV):
                            position = next((i for i, a in enumerate(in_order) if a is given), -1)
                            edges.append(CallEdge(info.caller, LocalRef(passed.func.qualname), line, loops,
                                                  ui_region=region, through=callee, through_arg=position, guards=self.guards_of(info)))
            if isinstance(value, Ext) and value.path in _SUBPROCESS and arguments(info.node):
                for script in self._subprocess_targets(info):
                    edges.append(CallEdge(info.caller, script, line or self.call_line(info), loops, ui_region=region, guards=self.guards_of(info)))
            func = info.node.func
            if isinstance(func, ast.Name) and func.id == "map" and arguments(info.node) and self.ev.lookup("map", info.scope) is None:
                small = self._maps_few(info, 0)
                first_arg = arguments(info.node)[0].value
                mapped: Sequence[Union[HandedRef, ArgRef]] = self._function_refs(first_arg, info)
                for ref in mapped or self._param_ref(first_arg, info):
                    if not isinstance(ref, ClassRef):
                        edges.append(CallEdge(info.caller, ref, line or self.call_line(info), loops, fanout="" if small else "map",
                                              guards=self.guards_of(info)))
            if not isinstance(value, Ext):
                continue
            path = value.path
            for index, keyword, kind, name in _REGISTRATIONS.matching(path):
                handed = _arguments(info.node, index, keyword)
                if not handed:
                    continue
                line = line or self.call_line(info)
                period = self._call_period(info.node, info.scope) if kind == "scheduled" else None
                detached = kind == "background" and bool(_DETACHED.match(path))
                refs: List[Union[HandedRef, ArgRef]] = []
                for arg in handed:
                    found: Sequence[Union[HandedRef, ArgRef]] = self._function_refs(arg, info)
                    if kind in ("", "submit"):
                        found = found or self._param_ref(arg, info)
                    refs.extend(found)
                # A class handed over is a handler the framework calls methods of, never a call edge.
                apart = wrapped_apart.get(id(info.node), "") if kind in ("call", "submit") else ""
                subcommand = self._subcommand(info) if kind == "call" else ""
                passes_on = self._passed_on(info, index, keyword) if kind in ("call", "submit") or detached else ()
                for ref in refs:
                    if kind in ("call", "submit"):
                        if not isinstance(ref, ClassRef):
                            parallel = kind == "submit" and any(not item.bounded for item in loops)
                            edges.append(CallEdge(info.caller, ref, line, loops, fanout=name if parallel else "", detached=bool(apart),
                                                  guards=self.guards_of(info), subcommand=subcommand, args=passes_on))
                            if apart and not isinstance(ref, ArgRef):
                                registrations.append(RegistrationFact("background", apart, ref, line, info.caller))
                    elif kind:
                        assert not isinstance(ref, ArgRef)  # only runners ("", "submit") run a parameter
                        registrations.append(RegistrationFact(kind, name, ref, line, info.caller, period))
                        if detached and not isinstance(ref, ClassRef):
                            edges.append(CallEdge(info.caller, ref, line, loops, ui_region=region, detached=True, guards=self.guards_of(info),
                                                  args=passes_on))
                    elif not isinstance(ref, ClassRef):
                        small = index >= 0 and self._maps_few(info, index)
                        edges.append(CallEdge(info.caller, ref, line, loops, fanout="" if small else name, guards=self.guards_of(info)))
                break
            last = path.rsplit(".", 1)[-1]
            if last in PERIODIC_TASK_METHODS and len(arguments(info.node)) > 1:
                line = line or self.call_line(info)
                period = self.schedule_hours(arguments(info.node)[0].value, info.scope)
                for ref in self._function_refs(arguments(info.node)[1].value, info):
                    registrations.append(RegistrationFact("scheduled", "Celery periodic task", ref, line, info.caller, period))
        return tuple(edges), tuple(registrations) + self._beat_schedules()

    def _passed_on(self, info: CallInfo, index: int, keyword: str) -> Tuple[ArgValue, ...]:
        """What a runner passes on to the function it is handed, by position, for that
        function's parameters (a client among them makes its calls sites): `pool.submit(fn,
        judge, a)` and `partial(fn, judge)` call `fn(judge, a)`, `Thread(target=fn, args=(judge,
        a))` too. Keywords are left out: some runners take keywords of their own."""
        call = info.node
        if keyword and any(k.arg in keyword.split(",") for k in call.keywords):
            given = next((k.value for k in call.keywords if k.arg == "args"), None) if keyword == "target" else None
            values = list(given.elts) if isinstance(given, (ast.Tuple, ast.List)) else []
        elif index >= 0 and not any(isinstance(a, ast.Starred) for a in call.args[:index + 1]):
            values = list(call.args[index + 1:])
        else:
            values = []
        out: List[ArgValue] = []
        for value in values:
            if isinstance(value, ast.Starred):
                break
            out.append(self._arg_value(value, info))
        while out and not out[-1]:
            out.pop()
        return tuple(out)

    def _subcommand(self, info: CallInfo) -> str:
        """The subcommand whose parser a registration is called on (`describe` for
        `p.set_defaults(func=cmd)` with `p = sub.add_parser("describe")`), else ""."""
        func = info.node.func
        receiver = func.value if isinstance(func, ast.Attribute) else None
        makers: List[ast.AST] = [receiver] if isinstance(receiver, ast.Call) else []
        if isinstance(receiver, ast.Name):
            makers = [b.node for b in self.ev.lookup(receiver.id, info.scope) or [] if b.kind == "assign" and b.node is not None]
        names = set()
        for maker in makers:
            if not (isinstance(maker, ast.Call) and isinstance(maker.func, ast.Attribute) and maker.func.attr == SUBCOMMAND_PARSER):
                return ""
            given = [a.value for a in arguments(maker) if a.keyword in (None, "name") and not a.star][:1]
            value = self.ev.eval(given[0], info.scope) if given else None
            if not (isinstance(value, Lit) and isinstance(value.value, str)):
                return ""
            names.add(value.value)
        return names.pop() if len(names) == 1 else ""

    def _started_body(self, info: CallInfo, value: Value) -> Optional[Tuple[LocalRef, str]]:
        """The `run` method `x.start()` runs on a thread (or process) of its own, and what that
        is called, when `x` is an instance of a class of this module that inherits `start` from
        one of `STARTED_NAMES`. A class of another module is the call graph's to resolve."""
        start, run = STARTED_BODY
        func = info.node.func
        if not (isinstance(func, ast.Attribute) and func.attr == start and isinstance(value, Ext)):
            return None
        base = next((b for b in STARTED_NAMES if value.path == f"{b}().{start}"), None)
        receiver = self.ev.eval(func.value, info.scope) if base is not None else None
        if base is None or not isinstance(receiver, Inst):
            return None
        body = self.ev.class_member(receiver.cls, run, set())
        return (LocalRef(body.func.qualname), STARTED_NAMES[base]) if isinstance(body, FuncV) else None

    def _started_apart(self) -> Tuple[Dict[int, str], Dict[int, str]]:
        """Calls that run apart from their caller, by node identity, with what starts them:
        the caller goes on without waiting, so they are background work, as a thread's target
        named outright is. First the calls made there: a coroutine started as a task nobody
        keeps (`asyncio.create_task(notify(u))` as a statement of its own; a task kept in a
        name may be awaited later) and the calls of a lambda a thread runs
        (`Thread(target=lambda: job(x))`) or a pool runs for a job nobody waits for; then the
        calls whose function runs there: a wrapper a thread runs (`Thread(target=partial(job,
        x))`), a pool's job whose future nobody keeps, on a pool no `with` block waits for."""
        runs: Dict[int, str] = {}
        wraps: Dict[int, str] = {}
        for info in self.index.calls:
            func = info.node.func
            name = last_name(func)
            if name in _TASK_METHODS and self._dropped(info) and arguments(info.node):
                first = arguments(info.node)[0]
                if first.keyword is not None or first.star or not isinstance(first.value, ast.Call):
                    continue
                value = self.ev.eval(func, info.scope)
                if isinstance(value, Ext) and _TASK_STARTS.match(value.path):
                    runs[id(first.value)] = "asyncio task"
            elif name in _DETACHED_NAMES or (name in _POOL_SUBMITS and self._dropped(info) and not self._pool_block(func, info)):
                # A thread's target; a pool's job whose future nobody keeps, on a pool no
                # `with` block waits for.
                value = self.ev.eval(func, info.scope)
                if not isinstance(value, Ext):
                    continue
                for index, keyword, kind, started in _REGISTRATIONS.matching(value.path):
                    if not (kind == "submit" or _DETACHED.match(value.path)):
                        continue
                    for handed in _arguments(info.node, index, keyword):
                        if isinstance(handed, ast.Lambda):
                            runs.update((id(node), started) for node in descendants(handed.body) if isinstance(node, ast.Call))
                        elif kind == "submit":
                            wraps[id(info.node)] = started
                        elif isinstance(handed, ast.Call):
                            wraps[id(handed)] = started
        return runs, wraps

    def _dropped(self, info: CallInfo) -> bool:
        """Whether a call is a statement of its own: what it returns is dropped."""
        statement = self.index.statements[info.stmt] if info.stmt >= 0 else None
        return isinstance(statement, ast.Expr) and statement.value is info.node

    def _pool_block(self, func: ast.expr, info: CallInfo) -> bool:
        """Whether the pool a job is submitted to is a `with` block's, which waits for its jobs."""
        node = func.value if isinstance(func, ast.Attribute) else func
        return is_name(node) and any(b.kind == "with" for b in self.ev.lookup(name_of(node), info.scope) or [])

    def _maps_few(self, info: CallInfo, position: int) -> bool:
        """`pool.map(fn, ["a", "b", "c"])`: the collection after the function at `position` is a
        small literal one, so the function runs a fixed few times, not once per item of data."""
        given = positional(info.node)
        return position + 1 < len(given) and self.few_items(given[position + 1], info.scope)

    def _param_ref(self, expr: ast.expr, info: CallInfo) -> List[ArgRef]:
        """An `ArgRef` when a runner is handed the N-th parameter of a plain function
        (`def map_parallel(fn, items): pool.imap(fn, items)`): the function callers pass there
        runs the way this runner runs it, which the call graph applies across modules."""
        if not isinstance(expr, ast.Name):
            return []
        bindings = self.ev.lookup(expr.id, info.scope) or []
        if len(bindings) != 1 or bindings[0].kind != "param" or bindings[0].index < 0:
            return []
        func = bindings[0].scope.func
        if func is None or func.cls is not None or func.qualname != info.caller:
            return []
        return [ArgRef(bindings[0].index)]

    def _call_refs(self, info: CallInfo, value: Value) -> List[Tuple[CallRef, bool]]:
        """What a call may run (see `_target_refs`); a receiver a factory or branches bind to
        different classes (`provider = _get_provider(name)`) may run each, none certainly."""
        refs = self._target_refs(info, value)
        if value is None or not isinstance(info.node.func, ast.Attribute) or self._one_receiver(info.node.func, info.scope):
            return refs
        others: List[CallRef] = []
        for alt in self.ev.alternatives(info.node.func, info.scope, limit=32):
            if alt is not None and not isinstance(alt, Lit):
                others.extend(ref for ref, _ in self._target_refs(info, alt))
        others = list(dict.fromkeys(others))
        if len(others) <= 1:
            return refs
        return [(ref, False) for ref in dict.fromkeys([r for r, _ in refs] + others)]

    def _one_receiver(self, func: ast.Attribute, scope: Scope) -> bool:
        """Whether `alternatives` can find at most one value for a chain of attributes (each of
        which gives at most one `_target_refs`): it fans out only at a name with several
        bindings or one bound by a loop or an assignment, and at calls, conditionals and
        subscripts, which such a chain does not hold, and at an attribute of `self` its class
        assigns more than once. Most receivers (`self.x`, an imported module) are this; asking
        `alternatives` at dispatch's limit was a tenth of the pass."""
        node: ast.expr = func
        first = ""  # the attribute right after the chain's name
        while isinstance(node, ast.Attribute):
            first = node.attr
            node = node.value
        if not is_name(node):
            return False
        bindings = self.ev.lookup(name_of(node), scope) or []
        if len(bindings) == 1 and bindings[0].kind == "self":  # unless the class assigns it more than once
            cls = _class_of_self(bindings)
            return cls is None or len(cls.attrs.get(first, ())) <= 1
        return len(bindings) <= 1 and all(b.kind not in ("loop", "assign") for b in bindings)

    def _target_refs(self, info: CallInfo, value: Value) -> List[Tuple[CallRef, bool]]:
        """What a call may run, as references the call graph resolves, each with whether it is
        certain: a function, a class (its `__init__`), an instance (a `LocalInstance`: its
        `__call__`), an imported path; else, with less certainty, each value of a registry or
        loop the callee comes from (`BACKENDS[name]()`, `for h in HANDLERS: h(x)`) and each
        method `getattr(obj, f"run_{x}")` can name."""
        if isinstance(value, FuncV):
            return [(LocalRef(value.func.qualname), True)]
        if isinstance(value, ClsV):
            return [(LocalRef(value.cls.qualname), True)]
        if isinstance(value, Inst):
            return [(LocalInstance(value.cls.qualname), True)]
        if isinstance(value, Ext):
            if sdk_root(value.path) is None and value.path.lstrip(".").split(".")[0] not in _EXTERNAL_ROOTS:
                return [(value.path, True)]
            if vague(value):  # `model: Any`: as good as untyped
                return [(ref, False) for ref in self._param_method(info.node.func, info)]
            return []
        if value is not None:
            return []
        func = info.node.func
        candidates: List[CallRef] = list(self._getattr_refs(func, info)) if isinstance(func, ast.Call) else []
        if not candidates:
            for alt in self.ev.alternatives(func, info.scope, limit=32):
                ref = self._target_refs(info, alt) if alt is not None else []
                candidates.extend(r for r, _ in ref)
        if not candidates:
            candidates = list(self._param_method(func, info))
        return [(ref, False) for ref in dict.fromkeys(candidates)]

    def _param_method(self, func: ast.expr, info: CallInfo) -> List[ParamRef]:
        """A `ParamRef` for a method called on the N-th parameter of F, untyped or `Any`
        (`def handle(self, llm): llm.reply()`, closures included): the call graph fills it in
        from what F's callers pass, in any module."""
        param = param_call(func, self.ev, info.scope)
        return [param] if param is not None else []

    def _getattr_refs(self, call: ast.Call, info: CallInfo) -> List[ValueRef]:
        """`getattr(obj, f"run_{x}")`: every method of obj's class the name pattern matches."""
        name = call.func
        if not (isinstance(name, ast.Name) and name.id == "getattr" and self.ev.lookup("getattr", info.scope) is None):
            return []
        args = [a.value for a in arguments(call) if a.keyword is None]
        if len(args) < 2:
            return []
        pattern = _name_pattern(args[1], self.ev)
        if pattern is None:
            return []
        owner = self.ev.eval(args[0], info.scope)
        if isinstance(owner, (Inst, ClsV)):
            methods = owner.cls.methods
            return [LocalRef(m.qualname) for n, m in sorted(methods.items()) if fnmatch.fnmatchcase(n, pattern)]
        if isinstance(owner, Ext) and sdk_root(owner.path) is None:
            return [f"{owner.path}.{pattern}"]
        return []

    def _arg_paths(self, info: CallInfo) -> Tuple[Tuple[ArgValue, ...], Tuple[KeywordArg, ...]]:
        """Positional and keyword arguments as value paths, for parameters filled in across
        modules ("" for one not known; keywords only when known)."""
        out: List[ArgValue] = []
        keywords: List[KeywordArg] = []
        for arg in arguments(info.node):
            if arg.star:
                break
            if arg.keyword is not None:
                value = self._arg_value(arg.value, info) if type(arg.value) in _HANDED_KINDS else ""
                if value:
                    keywords.append(KeywordArg(arg.keyword, value))
            elif not keywords:
                out.append(self._arg_value(arg.value, info))
        while out and not out[-1]:
            out.pop()
        return tuple(out), tuple(keywords)

    def _arg_value(self, expr: ast.expr, info: CallInfo) -> ArgValue:
        value = self.ev.eval(expr, info.scope)
        if isinstance(value, Ext) and not vague(value):
            return value.path
        if isinstance(value, Inst):
            return LocalInstance(value.cls.qualname)
        # A parameter handed on (`helper(llm)` inside `def run(llm)` or `def run(llm: Any)`):
        # what run's callers pass.
        forwarded = param_of(expr, self.ev, info.scope) if isinstance(expr, ast.Name) else None
        return forwarded or ""

    def _subprocess_targets(self, info: CallInfo) -> List[Union[ScriptRef, ModuleRef]]:
        """`subprocess.run([sys.executable, "scripts/x.py"])`, `os.system("python -m pkg")`."""
        first = arguments(info.node)[0].value
        words: List[str] = []
        if isinstance(first, (ast.List, ast.Tuple)):
            for el in first.elts:
                value = self.ev.eval(el.value if isinstance(el, ast.Starred) else el, info.scope)
                if isinstance(value, Ext) and value.path == "sys.executable":
                    words.append("python")
                elif isinstance(value, Lit) and isinstance(value.value, str):
                    words.append(value.value)
                else:
                    break
            text = " ".join(shlex.quote(w) for w in words)
        else:
            literal = self._text(first, info.scope)
            text = literal or ""
        out: List[Union[ScriptRef, ModuleRef]] = []
        for inv in invocations(text):
            if inv.kind == "script":
                out.append(ScriptRef(inv.target))
            elif inv.kind == "module":
                out.append(ModuleRef(inv.target))
        return out

    def _beat_schedules(self) -> Tuple[RegistrationFact, ...]:
        """Celery beat entries: dicts with a "task" name and a "schedule"."""
        out = []
        for node, caller, ordinal in self.index.dicts:
            keys: Dict[str, ast.expr] = {}
            for el_key, el_value in zip(node.keys, node.values):
                if el_key is not None and is_string(el_key):
                    key = el_key.value
                    if isinstance(key, str):
                        keys[key] = el_value
            task = keys.get("task")
            name = task.value if task is not None and is_string(task) else None
            if "schedule" in keys and isinstance(name, str):
                period = self.schedule_hours(keys["schedule"], self.index.module_scope)
                out.append(RegistrationFact("scheduled", "Celery beat schedule", TaskRef(name),
                                            self.code_for.statement_line(ordinal, keys["task"]), caller, period))
        return tuple(out)

    # -- schedules in code -----------------------------------------------------------------

    def _number(self, expr: ast.expr, scope: Scope) -> Optional[float]:
        value = self.ev.eval(expr, scope)
        if isinstance(value, Lit) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
            return float(value.value)
        return None

    def _text(self, expr: ast.expr, scope: Scope) -> Optional[str]:
        value = self.ev.eval(expr, scope)
        return value.value if isinstance(value, Lit) and isinstance(value.value, str) else None

    def schedule_hours(self, expr: ast.expr, scope: Scope) -> Optional[float]:
        """A schedule value: seconds, `crontab(...)`, `timedelta(...)`, `Cron("...")`, `Period(...)`."""
        seconds = self._number(expr, scope)
        if seconds is not None:
            return seconds / 3600 or None
        if not isinstance(expr, ast.Call):
            return None
        name = _last_segment(self.ev.eval(expr.func, scope))
        kwargs = {a.arg: a.value for a in expr.keywords if a.arg is not None}
        if name == "crontab":
            fields = [self._text(kwargs[k], scope) if k in kwargs else "*"
                      for k in ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")]
            if "minute" in kwargs and fields[0] is None:
                number = self._number(kwargs["minute"], scope)
                fields[0] = str(int(number)) if number is not None else None
            if "hour" in kwargs and fields[1] is None:
                number = self._number(kwargs["hour"], scope)
                fields[1] = str(int(number)) if number is not None else None
            return _cron_hours(fields)
        if name in ("Cron", "CronTrigger.from_crontab") and arguments(expr):
            text = self._text(arguments(expr)[0].value, scope)
            return cron_period_hours(text) if text else None
        if name in ("timedelta", "Period", "schedule", "IntervalTrigger"):
            units = {k: self._number(v, scope) for k, v in kwargs.items() if k in ("weeks", "days", "hours", "minutes", "seconds")}
            if units:
                return _interval_hours(units)
        return None

    def _call_period(self, call: ast.Call, scope: Scope) -> Optional[float]:
        """Schedules passed to a registration: `add_job(f, "interval", minutes=5)`,
        `schedule.every(10).minutes.do(f)`, `@app.function(schedule=Cron(...))`."""
        kwargs = {a.arg: a.value for a in call.keywords if a.arg is not None}
        for key in ("schedule", "run_every", "schedule_interval"):
            if key in kwargs:
                text = self._text(kwargs[key], scope)
                return cron_period_hours(text) if text else self.schedule_hours(kwargs[key], scope)
        given = [a.value for a in arguments(call) if a.keyword is None]
        trigger = next((self._text(p, scope) for p in given if self._text(p, scope) in ("interval", "cron")), None)
        if trigger == "interval":
            units = {k: self._number(v, scope) for k, v in kwargs.items() if k in ("weeks", "days", "hours", "minutes", "seconds")}
            return _interval_hours(units) if units else None
        if trigger == "cron":
            fields = [self._text(kwargs[k], scope) or (str(int(self._number(kwargs[k], scope) or 0)) if self._number(kwargs[k], scope) is not None else None)
                      if k in kwargs else "*" for k in ("minute", "hour", "day", "month", "day_of_week")]
            return _cron_hours(fields)
        return _every_hours(call, self)

    # -- loops driven by a person or by tool turns -----------------------------------------

    def loop_flags(self) -> Tuple[LoopFlags, ...]:
        interactive_loops: Set[int] = set()
        for info in self.index.calls:
            if not info.loops:
                continue
            if reads_input(info, self.ev):
                interactive_loops.update(info.loops)
        out = []
        for loop_id, loop in sorted(self.index.loops.items()):
            if loop.kind not in ("for", "while"):
                continue
            tool_use = self.tool_use_text and _mentions(loop.node, TOOL_USE)
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
        """Whether the module fakes things in tests: imports a mocking library, takes a
        `mocker` / `monkeypatch` fixture, or points the SDK at a local server. Its tests then
        do not call the real API."""
        imported = {target.split(".")[0] if not target.startswith("unittest") else target for target in self.index.imported}
        if imported & MOCK_MODULES or any(t.startswith("unittest.mock") for t in self.index.imported):
            return True
        for func in self.index.functions:
            params = func.node.args
            if any(p.arg in MOCK_FIXTURES for p in list(params.args) + list(params.kwonlyargs)):
                return True
        return self._local_server()

    def _local_server(self) -> bool:
        """`openai.base_url = "http://localhost:8000/v1/"`, `OpenAI(base_url="http://127.0.0.1...")`
        or `os.environ["OPENAI_BASE_URL"] = "http://localhost..."`: the API is a local server."""
        for statement in self.index.statements:
            # The value is evaluated only for a target of one of the two shapes below.
            if not isinstance(statement, ast.Assign) or not any(map(_may_set_base_url, statement.targets)):
                continue
            if not _is_local_url(self._text(statement.value, self.index.module_scope)):
                continue
            for node in statement.targets:
                if isinstance(node, ast.Attribute) and node.attr in _BASE_URL_NAMES:
                    owner = self.ev.eval(node.value, self.index.module_scope)
                    if isinstance(owner, Ext) and sdk_root(owner.path) is not None:
                        return True
                if isinstance(node, ast.Subscript) and len(subscript_elements(node)) == 1 and not isinstance(node.slice, ast.Slice):
                    owner = self.ev.eval(node.value, self.index.module_scope)
                    key = self._text(node.slice, self.index.module_scope) or ""
                    if isinstance(owner, Ext) and owner.path == "os.environ" and key.upper().endswith(("BASE_URL", "API_BASE")):
                        return True
        for info in self.index.calls:
            value = self.ev.eval(info.node.func, info.scope)
            if not (isinstance(value, Ext) and sdk_root(value.path) is not None):
                continue
            for arg in info.node.keywords:
                if arg.arg in _BASE_URL_NAMES and _is_local_url(self._text(arg.value, info.scope)):
                    return True
        return False

    def main_line(self) -> int:
        return self.line(self.index.main_block) if self.index.main_block is not None else 0


_EVERY_UNITS = {"second": 1 / 3600, "minute": 1 / 60, "hour": 1.0, "day": 24.0, "week": 168.0,
                "monday": 168.0, "tuesday": 168.0, "wednesday": 168.0, "thursday": 168.0, "friday": 168.0,
                "saturday": 168.0, "sunday": 168.0}


def _every_hours(call: ast.Call, reader: "ProgramReader") -> Optional[float]:
    """`schedule.every(10).minutes.do(job)`: walk the receiver chain for every(N) and the unit."""
    node: ast.expr = call.func
    unit: Optional[str] = None
    while isinstance(node, (ast.Attribute, ast.Call)):
        if isinstance(node, ast.Attribute):
            name = node.attr.rstrip("s")
            if name in _EVERY_UNITS and unit is None:
                unit = name
            node = node.value
        else:
            assert isinstance(node, ast.Call)
            if isinstance(node.func, ast.Attribute) and node.func.attr == "every":
                args = arguments(node)
                count = reader._number(args[0].value, reader.index.module_scope) if args else 1.0
                if unit is not None and count is not None:
                    return count * _EVERY_UNITS[unit]
                return None
            node = node.func
    return None


def param_of(name: ast.expr, evaluator: Evaluator, scope: Scope, plain: bool = False) -> Optional[ParamRef]:
    """The parameter of the enclosing function (or an outer one) that is a name's only binding;
    with `plain`, only a plain function's (not a method's)."""
    bindings = evaluator.lookup(name_of(name), scope) or []
    if len(bindings) != 1 or bindings[0].kind != "param" or bindings[0].index < 0:
        return None
    owner = bindings[0].scope.func
    if owner is None or bindings[0].scope.kind != "function" or (plain and owner.cls is not None):
        return None
    return ParamRef(owner.qualname, bindings[0].index)


def param_guards(info: CallInfo, evaluator: Evaluator) -> Tuple[ParamGuard, ...]:
    """The branches on the enclosing function's own parameters that a call needs taken
    (`if bulk:`, `if not bulk:`, `else`, `if mode == "batch":`, what follows `if x: return`):
    a caller passing a literal one rejects never runs it."""
    func = info.scope.func
    if info.scope.kind != "function" or func is None or isinstance(func.node, ast.Lambda):
        return ()
    out: List[ParamGuard] = []
    for test, taken in info.conditions:
        for name, kind, compared in _flag_tests(test, taken):
            bindings = evaluator.lookup(name, info.scope) or []
            if len(bindings) != 1 or bindings[0].kind != "param" or bindings[0].scope is not info.scope:
                continue
            value = evaluator.eval(compared, info.scope) if compared is not None else None
            if compared is not None and not isinstance(value, Lit):
                continue
            default = written_literal(bindings[0].node, evaluator, info.scope) if bindings[0].node is not None else ()
            out.append(ParamGuard(name, bindings[0].index, kind, value.value if isinstance(value, Lit) else None, default))
    return tuple(out)


def call_passes(info: CallInfo, evaluator: Evaluator) -> Optional[Passed]:
    """What a call passes, for the callee's branches on its parameters (None with `*args` or
    `**kwargs`: then any parameter may be anything)."""
    count = 0
    names: List[str] = []
    literals: List[LiteralArg] = []
    for arg in arguments(info.node):
        if arg.star:
            return None
        written = written_literal(arg.value, evaluator, info.scope)
        if arg.keyword is not None:
            names.append(arg.keyword)
            literals.extend(LiteralArg(value, -1, arg.keyword) for value in written)
        else:
            literals.extend(LiteralArg(value, count) for value in written)
            count += 1
    return Passed(count, tuple(names), tuple(literals))


def written_literal(node: ast.expr, evaluator: Evaluator, scope: Scope) -> Tuple[LiteralValue, ...]:
    """(its value,) for a literal written out (`False`, `"batch"`, `3`, `-1`); else (). A name is
    not one, even when bound to a literal: the evaluator reads a parameter from this module's
    callers alone, and a branch dropped on that would drop what other modules pass."""
    written = isinstance(node, ast.UnaryOp) or (
        isinstance(node, ast.Constant) and not isinstance(node.value, complex) and not concatenated(node))
    if written:
        value = evaluator.eval(node, scope)
        if isinstance(value, Lit):
            return (value.value,)
    return ()


def _flag_tests(test: ast.expr, taken: bool) -> List[Tuple[str, str, Optional[ast.expr]]]:
    """What a branch's test says of plain names when the branch is `taken` (or not): `bulk`
    truthy, `not bulk` falsy, `mode == X` equal to what X is; each side of `a and b` when
    taken, of `a or b` when not. Other tests say nothing."""
    if isinstance(test, ast.Name):
        return [(test.id, "truthy" if taken else "falsy", None)]
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _flag_tests(test.operand, not taken)
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) == taken:
        return [found for value in test.values for found in _flag_tests(value, taken)]
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name):
        equal = isinstance(test.ops[0], (ast.Eq, ast.Is))
        if equal or isinstance(test.ops[0], (ast.NotEq, ast.IsNot)):
            return [(test.left.id, "equal" if equal == taken else "unequal", test.comparators[0])]
    return []


def param_call(func: ast.expr, evaluator: Evaluator, scope: Scope, plain: bool = False) -> Optional[ParamRef]:
    """A call on an attribute chain rooted at a parameter (see `param_of`), its `rest` the
    chain (`cog.client.messages.create` -> `client.messages.create`)."""
    chain: List[str] = []
    node = func
    while isinstance(node, ast.Attribute):
        chain.append(node.attr)
        node = node.value
    if not is_name(node) or not chain:
        return None
    param = param_of(node, evaluator, scope, plain)
    if param is not None:
        return replace(param, rest=".".join(reversed(chain)))
    bindings = evaluator.lookup(name_of(node), scope) or []
    if len(bindings) == 1 and bindings[0].kind == "assign" and bindings[0].node is not None:
        # `translator = translator_cls(key)`, then `translator.translate(...)`: the class passed.
        made = _made_from(bindings[0].node, evaluator, bindings[0].scope, plain)
        return replace(made, rest=".".join(reversed(chain))) if made is not None else None
    injected = _injected(node, chain[-1], evaluator, scope) if len(chain) > 1 else None
    return replace(injected, rest=".".join(reversed(chain[:-1]))) if injected is not None else None


def _made_from(value: ast.AST, evaluator: Evaluator, scope: Scope, plain: bool = False) -> Optional[ParamRef]:
    """A parameter itself (`client`), or a class passed as one and made (`translator_cls(key)`)."""
    if is_name(value):
        return param_of(value, evaluator, scope, plain)
    if isinstance(value, ast.Call) and is_name(value.func):
        param = param_of(value.func, evaluator, scope, plain)
        return replace(param, called=True) if param is not None else None
    return None


def _class_of_self(bindings: Sequence[Binding]) -> Optional[ClassInfo]:
    """The class of a method whose `self` a name's only binding is, else None."""
    if len(bindings) != 1 or bindings[0].kind != "self":
        return None
    owner = bindings[0].scope.func
    return owner.cls if owner is not None else None


def _injected(receiver: ast.expr, attr: str, evaluator: Evaluator, scope: Scope) -> Optional[ParamRef]:
    """`self.client` in a method, when the class's only assignment of it is `self.client =
    client` (or `= client_cls(key)`, a class passed and made) in its `__init__` with `client` a
    parameter the evaluator knows nothing of (untyped, `Any`): that parameter, so the class's
    constructor calls (`Service(Anthropic())`) say what it is. Nothing else assigns it, so it
    is what the constructor was given."""
    cls = _class_of_self(evaluator.lookup(name_of(receiver), scope) or [])
    assigned = cls.attrs.get(attr, []) if cls is not None else []
    if len(assigned) != 1:
        return None
    value, where = assigned[0]
    param = _made_from(value, evaluator, where)
    return param if param is not None and cls is not None and param.function == f"{cls.qualname}.__init__" else None


def _last_segment(value: Value) -> str:
    if isinstance(value, Ext):
        path = value.path
        return "CronTrigger.from_crontab" if path.endswith("CronTrigger.from_crontab") else path.rsplit(".", 1)[-1]
    return ""


_BASE_URL_NAMES = frozenset({"base_url", "api_base"})
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "::1", "host.docker.internal"})


def _may_set_base_url(node: ast.expr) -> bool:
    """An assignment target `_local_server` reads: `x.base_url` (or `api_base`), or `x[key]`."""
    if isinstance(node, ast.Attribute):
        return node.attr in _BASE_URL_NAMES
    return isinstance(node, ast.Subscript) and len(subscript_elements(node)) == 1 and not isinstance(node.slice, ast.Slice)


def _is_local_url(url: Optional[str]) -> bool:
    """A literal URL of a server on this machine (or its container host)."""
    if not url:
        return False
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname or ""
    except ValueError:
        return False
    return host in _LOCAL_HOSTS or host.endswith(".localhost")


def _name_pattern(node: ast.expr, evaluator: Evaluator) -> Optional[str]:
    """A glob for the names an f-string or concatenation spells (`f"run_{x}"` -> `run_*`);
    None when no fixed part is visible, so nothing is matched blindly."""
    parts: List[str] = []
    found = evaluator.fstring_parts(node)
    if found is not None:
        for part in found:
            parts.append(part if isinstance(part, str) else "*")
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        for side in (node.left, node.right):
            text = side.value if is_string(side) else None
            parts.append(text if isinstance(text, str) else "*")
    else:
        return None
    pattern = "".join(parts)
    return pattern if pattern.strip("*") and re.fullmatch(r"[\w*]+", pattern) else None


def _arguments(call: ast.Call, index: int, keywords: str) -> List[ast.expr]:
    """The function arguments of a registration: each listed keyword present, else the
    positional argument at `index`."""
    wanted = set(keywords.split(",")) if keywords else set()
    found = [arg.value for arg in arguments(call) if arg.keyword is not None and arg.keyword in wanted]
    if found:
        return found
    given = positional(call)
    return [given[index]] if 0 <= index < len(given) else []


def _cron_hours(fields: Sequence[Optional[str]]) -> Optional[float]:
    """The period of a cron schedule given field by field, when every field is known."""
    known = [f for f in fields if f is not None]
    return cron_period_hours(" ".join(known)) if len(known) == len(fields) else None


def _interval_hours(units: Dict[str, Optional[float]]) -> Optional[float]:
    """The period of an interval given unit by unit (`minutes=5`), when every unit is known."""
    known = {unit: value for unit, value in units.items() if value is not None}
    return interval_hours(**known) if len(known) == len(units) else None


def reads_input(info: CallInfo, ev: Evaluator) -> bool:
    """A call that reads what a person types at a terminal (`input()`, `Prompt.ask`, ...)."""
    func = info.node.func
    if isinstance(func, ast.Name) and func.id == "input" and ev.lookup("input", info.scope) is None:
        return True
    value = ev.eval(func, info.scope)
    return isinstance(value, Ext) and bool(_INPUTS.match(value.path))


def prompted_calls(index: ModuleIndex, ev: Evaluator) -> Set[int]:
    """Calls (by node id) whose arguments carry what a person typed at `input()` earlier in the
    same function, through plain assignments and appends (`q = input(); prompt = f"...{q}"`):
    the person is waiting for the answer to what they typed."""
    tainted: Dict[int, Set[str]] = {}
    scopes: Dict[int, Scope] = {}
    inputs: Dict[int, Set[int]] = {}  # scope -> ids of the input calls in it
    for info in index.calls:
        if reads_input(info, ev):
            scopes[id(info.scope)] = info.scope
            inputs.setdefault(id(info.scope), set()).add(id(info.node))
    for key, scope in scopes.items():
        values = [(name, b.node) for name, bound in scope.bindings.items() for b in bound if b.node is not None]
        values += [(name, value) for name, added in scope.appends.items() for value, _, _ in added]
        for name, value in values:
            if _node_ids(value) & inputs[key]:
                tainted.setdefault(key, set()).add(name)
    for key, names in tainted.items():
        by_name, appends = scopes[key].bindings, scopes[key].appends
        for _ in range(6):  # a few assignment (or `messages.append(...)`) hops, then stop
            grown = {name for name, bs in by_name.items() if name not in names
                     and any(b.kind in ("assign", "unpack") and b.node is not None and _typed(b.node) & names for b in bs)}
            grown |= {name for name, added in appends.items() if name not in names
                      and any(_typed(value) & names for value, _, _ in added)}
            if not grown:
                break
            names |= grown
    out: Set[int] = set()
    for info in index.calls:
        carried = tainted.get(id(info.scope))
        if carried and any(_typed(arg.value) & carried for arg in arguments(info.node)):
            out.add(id(info.node))
    return out


class Sequences:
    """Loops whose passes feed each other: a call whose arguments read what an earlier pass
    made of an answer (`draft = improve(draft)`; `idea = ask(ideas)` then `ideas.append(idea)`),
    or what such a call answered earlier in the same pass (a reflection step on the first
    draft), waits for the pass before. Its calls are a sequence, not items one batch could
    carry. Followed through plain assignments and appends in the loop, a few hops; worked out
    once per loop."""

    def __init__(self, index: ModuleIndex) -> None:
        self._calls: Dict[int, List[CallInfo]] = {}  # loop id -> the calls inside it
        for info in index.calls:
            for loop in info.loops:
                self._calls.setdefault(loop, []).append(info)
        self._carried: Dict[int, Set[int]] = {}  # loop id -> ids of the calls it carries

    def loops(self, info: CallInfo) -> Set[int]:
        """The loops around a call that make it one of a sequence."""
        return {loop for loop in info.loops if id(info.node) in self._of(loop)}

    def _of(self, loop: int) -> Set[int]:
        found = self._carried.get(loop)
        if found is None:
            found = self._carried[loop] = self._find(loop)
        return found

    def _find(self, loop: int) -> Set[int]:
        calls = self._calls.get(loop, [])
        scope = calls[0].scope
        values = [(name, b.node) for name, bound in scope.bindings.items() for b in bound
                  if b.node is not None and b.kind in ("assign", "unpack") and loop in b.loops]
        values += [(name, value) for name, added in scope.appends.items() for value, loops, _ in added if loop in loops]
        if not values:
            return set()
        held = [(name, _node_ids(value), _reads(value)) for name, value in values]
        # A name the loop also sets to something owing nothing to an answer (`messages = [...]`
        # at the top of the body, then appended to) starts afresh in each pass.
        resets = [(name, ids, typed) for (name, value), (_, ids, typed) in zip(values, held)
                  if any(b.node is value and b.kind == "assign" for b in scope.bindings.get(name, ()))]
        reads = {id(c.node): set().union(*(_reads(arg.value) for arg in arguments(c.node))) for c in calls}
        answers: Dict[int, Set[str]] = {}
        for c in calls:
            call = id(c.node)
            answered = {name for name, ids, _ in held if call in ids}
            for _ in range(6 if answered else 0):
                grown = {name for name, _, typed in held if name not in answered and typed & answered}
                grown -= {name for name, ids, typed in resets if call not in ids and not typed & answered}
                if not grown:
                    break
                answered |= grown
            answers[call] = answered
        carried = {call for call, answered in answers.items() if reads[call] & answered}
        while True:  # what a call of the sequence answered, read later in the same pass
            more = {call for call in reads if call not in carried and any(reads[call] & answers[k] for k in carried)}
            if not more:
                return carried
            carried |= more


def _reads(node: ast.AST) -> Set[str]:
    """The plain names an expression reads, less those it binds itself (a comprehension's
    `for source in sources`, a lambda's parameters): an attribute or keyword named like a
    variable, or a comprehension's own `source`, is not that variable."""
    read: Set[str] = set()
    bound: Set[str] = set()
    for current in descendants(node):
        if isinstance(current, ast.Name):
            (read if isinstance(current.ctx, ast.Load) else bound).add(current.id)
        elif isinstance(current, ast.arg):
            bound.add(current.arg)
    return read - bound


def _typed(node: ast.AST) -> Set[str]:
    """The identifiers an expression holds (the names it reads, and attribute, keyword and
    parameter names: a name typed at `input()` is followed through any of them), as far as
    it carries their text: not through `open(...)`, whose value is what a file holds
    (`prompts = [l for l in open(path)]` after `path = input()` carries no typed question)."""
    return identifiers(node, _opens)


def _opens(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open"


def _node_ids(node: ast.AST) -> Set[int]:
    """Ids of a node and everything under it."""
    return {id(current) for current in descendants(node)}


TOOL_USE = "tool_use"  # a loop that compares with this block type runs tool turns
# Escapes that can spell a letter, digit or `_` inside a string literal: a backslash before a
# line break (a continuation), an octal digit, `x`, `u`, `U` or `N`.
_SPELLING_ESCAPE = re.compile(r"\\(?:[0-7xuUN]|\r|\n)")


def may_spell(source: str, word: str) -> bool:
    """Whether a string literal in `source` can equal `word`: only if the word is written out,
    or an escape that can spell a character of it is used. A module with neither (nearly all)
    skips walking each loop for the literal."""
    return word in source or _SPELLING_ESCAPE.search(source) is not None


def _mentions(node: ast.AST, text: str) -> bool:
    """Whether a string literal equal to `text` appears inside `node` (nested defs excluded)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if is_string(current) and current.value == text:
            return True
        if type(current) in _SCOPES and current is not node:
            continue
        stack.extend(child_nodes(current))
    return False
