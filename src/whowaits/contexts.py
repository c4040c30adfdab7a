"""Who is waiting: entry points, the project call graph, and contexts propagated to sites.

An entry point is where execution starts for a reason the code shows (a route decorator, a
Celery task, a `__main__` block, a test, a loop around `input()`...). Contexts flow from each
entry point down the call graph; every site keeps each context that reaches it, with the chain
of hops as evidence, and whether it runs once per item of a collection on the way.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections import deque
from dataclasses import dataclass, replace
from typing import Deque, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

from whowaits.core import (
    ArgRef,
    CallEdge,
    CallSite,
    ClassFact,
    ClassRef,
    ContextFact,
    ContextKind,
    DecoratorFact,
    EvidenceStep,
    FileFacts,
    FunctionFact,
    LocalInstance,
    LocalRef,
    LoopFact,
    ModuleRef,
    OperationKind,
    ParamGuard,
    ParamRef,
    Passed,
    RegisteredRef,
    ScriptRef,
    TaskRef,
    ValueRef,
)
from whowaits.index import ProjectIndex, module_name
from whowaits.manifests import Manifests
from whowaits.manifests.resolve import CommandResolver
from whowaits.knowledge.frameworks import (
    BASE_CLASSES,
    BLOCKING_KINDS,
    DECORATORS,
    HTTP_METHODS,
    PERSON_WAITS_ACROSS_THREADS,
    SCHEDULE_KEYWORD_DECORATORS,
    SERVERLESS_HANDLERS,
    STARTED_BODY,
    STARTED_NAMES,
)
from whowaits.knowledge.patterns import GlobTable
from whowaits.knowledge.sdk import BATCH_KINDS

FuncKey = Tuple[str, str]  # (relpath, qualified name | <module> | <main>)

_DECORATORS = GlobTable((p, (ContextKind(kind), name)) for p, kind, name in DECORATORS)
_KEYWORD_DECORATORS = GlobTable((p, (kw, name)) for p, kw, name in SCHEDULE_KEYWORD_DECORATORS)
_BASES = GlobTable((p, (methods, ContextKind(kind), name)) for p, methods, kind, name in BASE_CLASSES)
_PARALLEL = "parallel"


@dataclass(frozen=True)
class Entry:
    """A place execution starts, the context kind it gives, and why whowaits thinks so."""

    key: FuncKey
    kind: ContextKind
    blocking: bool
    why: str  # "Flask route", "pragma: context=tolerant -- nightly"
    line: int
    loop_id: Optional[int] = None  # the entry is one loop of the function (input loop, tool loop)
    prompted: bool = False  # the entry is the calls of the function that carry what a person typed
    region: Optional[int] = None  # the entry is one UI-event branch of a script (`if st.button(...)`)
    origin: Tuple[EvidenceStep, ...] = ()  # where it starts when that is not Python (a manifest)
    where: str = ""  # "path:line trigger" for entries that start in a manifest
    period_hours: Optional[float] = None
    deadline_hours: Optional[float] = None
    from_test: bool = False
    subcommand: str = ""  # the subcommand a manifest's command line names (`python cli.py describe`)

    @property
    def label(self) -> str:
        return self.where or f"{self.key[0]}:{self.line} {self.key[1]} ({self.why})"

    @property
    def start(self) -> Tuple[EvidenceStep, ...]:
        return self.origin or (EvidenceStep(self.key[0], self.line, f"entry: {self.key[1]} ({self.why})"),)


@dataclass(frozen=True)
class ContextOverrides:
    """`[tool.whowaits.contexts]`: functions whose context the configuration declares.

    A pattern is `@dotted.decorator.glob`, `module.glob:function_glob`, a path glob (has a `/`
    or ends in `.py`), or a dotted glob over `module.qualname`.
    """

    blocking: Tuple[str, ...] = ()
    tolerant: Tuple[str, ...] = ()

    def match(self, path: str, module: str, fn: Optional[FunctionFact], resolve) -> Optional[Tuple[bool, str]]:
        for blocking, patterns in ((True, self.blocking), (False, self.tolerant)):
            for pattern in patterns:
                if _override_matches(pattern, path, module, fn, resolve):
                    return blocking, f"config: {'blocking' if blocking else 'tolerant'} = \"{pattern}\""
        return None


def _override_matches(pattern: str, path: str, module: str, fn: Optional[FunctionFact], resolve) -> bool:
    if pattern.startswith("@"):
        return fn is not None and any(
            d.path and fnmatch.fnmatchcase(_decorator_name(d, module, resolve), pattern[1:]) for d in fn.decorators
        )
    if "/" in pattern or pattern.endswith(".py"):
        return fnmatch.fnmatchcase(path, pattern)
    qualname = fn.qualname if fn is not None else ""
    if ":" in pattern:
        mod_glob, _, func_glob = pattern.partition(":")
        return fn is not None and fnmatch.fnmatchcase(module, mod_glob) and fnmatch.fnmatchcase(qualname, func_glob)
    return fn is not None and fnmatch.fnmatchcase(f"{module}.{qualname}", pattern)


def _decorator_name(dec: DecoratorFact, module: str, resolve) -> str:
    """The dotted name a decorator pattern matches: the resolved path of an imported decorator,
    `module.qualname` for one of the decorated function's own module."""
    return f"{module}.{dec.path.qualname}" if isinstance(dec.path, LocalRef) else resolve(dec.path)


_GLOB = re.compile(r"[*?\[]")


def _named(name: str, method: str) -> bool:
    """Whether a method's name is `method`, a name or a glob (`run_*`, from `getattr(self,
    f"run_{x}")`). A plain name is compared as text: `fnmatch` compiles a regex for each
    distinct pattern, and every method called through a receiver is one."""
    return fnmatch.fnmatchcase(name, method) if _GLOB.search(method) else name == method


class CallGraph:
    """Project functions, their resolved call edges, and the entry points among them."""

    def __init__(
        self,
        facts: Dict[str, FileFacts],
        index: ProjectIndex,
        overrides: ContextOverrides = ContextOverrides(),
        manifests: Optional[Manifests] = None,
    ) -> None:
        self.facts = facts
        self.index = index
        self.overrides = overrides
        self.manifests = manifests or Manifests()
        self.functions: Dict[FuncKey, FunctionFact] = {}
        self.classes: Dict[FuncKey, ClassFact] = {}
        for path, f in facts.items():
            for fn in f.functions:
                self.functions[(path, fn.qualname)] = fn
            for cls in f.classes:
                self.classes[(path, cls.qualname)] = cls
        self._methods: Dict[FuncKey, Dict[str, FuncKey]] = {}
        for key, fn in self.functions.items():
            if fn.class_name:
                self._methods.setdefault((key[0], fn.class_name), {})[key[1].rsplit(".", 1)[-1]] = key
        self._subclasses: Optional[Dict[FuncKey, List[FuncKey]]] = None
        self._members: Dict[Tuple[ValueRef, str, bool], Optional[FuncKey]] = {}
        self._members_at: Dict[Tuple[str, bool], Optional[FuncKey]] = {}  # by resolved path
        self._implementations: Dict[Tuple[FuncKey, str], List[FuncKey]] = {}
        self._dispatched: Dict[Tuple[Union[ValueRef, LocalInstance], str], Tuple[Tuple[FuncKey, bool], ...]] = {}
        # Runners of a parameter: (function, position) -> the fan-out it applies to what callers pass.
        runs_param: Dict[Tuple[FuncKey, int], CallEdge] = {}
        for path, f in facts.items():
            for edge in f.edges:
                if isinstance(edge.target, ArgRef) and edge.fanout:
                    runs_param.setdefault(((path, edge.caller), edge.target.index), edge)
        self.edges: Dict[FuncKey, List[Tuple[CallEdge, FuncKey]]] = {}
        # `run` methods of another module's thread classes started here: (body, file, line, by what).
        self._started: Set[Tuple[FuncKey, str, int, str]] = set()
        self._incoming: Optional[Dict[FuncKey, List[Tuple[str, CallEdge]]]] = None
        # `passed` by (function, position, depth), valid as long as `_incoming`: a parameter
        # handed on through a chain of helpers is asked for once per caller of each link.
        self._passed: Dict[Tuple[FuncKey, int, int], Tuple[Tuple[str, str, int], ...]] = {}
        on_params: List[Tuple[str, CallEdge, ParamRef]] = []
        for path, f in facts.items():
            for edge in f.edges:
                target = edge.target
                if isinstance(target, ParamRef):
                    on_params.append((path, edge, target))
                if isinstance(target, (ArgRef, ParamRef)):
                    continue
                if edge.through:
                    through = edge.through
                    helper = self.resolve_function(through, path) if isinstance(through, (str, LocalRef)) else None
                    if helper is None:
                        continue  # a callback handed to library code: the registration table decides
                    runner = runs_param.get((helper, edge.through_arg))
                    if runner is not None and not edge.fanout:
                        edge = replace(edge, fanout=runner.fanout)
                targets = self._edge_targets(target, path)
                for callee, certain in targets:
                    hop = edge if certain or not edge.certain else replace(edge, certain=False)
                    self.edges.setdefault((path, edge.caller), []).append((hop, callee))
                if not targets and isinstance(target, str):
                    for body, started_by in self._started_body(target, path):  # on its own thread, as a thread's target
                        self.edges.setdefault((path, edge.caller), []).append((replace(edge, detached=True), body))
                        self._started.add((body, path, edge.line, started_by))
        self._fill_parameters(on_params)

    def _fill_parameters(self, on_params: List[Tuple[str, CallEdge, ParamRef]]) -> None:
        """Methods called on parameters reach what the callers pass (`llm.reply()` with
        `handle(AsyncClaude())` in another module). Each filled-in edge can pass parameters on,
        so this repeats a few rounds."""
        known = {(caller, edge.line, callee) for caller, edges in self.edges.items() for edge, callee in edges}
        for _ in range(4):
            self._incoming = None
            added = False
            for path, edge, param in on_params:
                for value, caller_path, _line in self.passed((path, param.function), param.index):
                    for callee, _certain in self.dispatch(param.on(value), caller_path):
                        key = ((path, edge.caller), edge.line, callee)
                        if key not in known:
                            known.add(key)
                            self.edges.setdefault(key[0], []).append((replace(edge, certain=False), callee))
                            added = True
            if not added:
                break
        self._incoming = None

    def passed(self, key: FuncKey, position: int, depth: int = 0) -> Tuple[Tuple[str, str, int], ...]:
        """What the project's callers pass for a function's parameter at `position` (counting
        `self`), as (value path, the caller's file, line); parameters handed on are followed."""
        if self._incoming is None:
            self._incoming = {}
            self._passed.clear()
            for caller, edges in self.edges.items():
                for edge, callee in edges:
                    if edge.args or edge.keywords:
                        self._incoming.setdefault(callee, []).append((caller[0], edge))
        found = self._passed.get((key, position, depth))
        if found is None:
            found = self._passed[(key, position, depth)] = self._passed_in(self._incoming, key, position, depth)
        return found

    def _passed_in(self, incoming: Dict[FuncKey, List[Tuple[str, CallEdge]]], key: FuncKey, position: int,
                   depth: int) -> Tuple[Tuple[str, str, int], ...]:
        fn = self.functions.get(key)
        offset = self.offset(key)
        name = fn.params[position] if fn is not None and 0 <= position < len(fn.params) else None
        out: List[Tuple[str, str, int]] = []
        seen: Set[Tuple[str, str, int]] = set()
        for caller_path, edge in incoming.get(key, []):
            at = position - offset
            if 0 <= at < len(edge.args):
                arg = edge.args[at]
            else:  # passed by name (`Service(client=Anthropic())`)
                arg = next((keyword.value for keyword in edge.keywords if keyword.name == name), "")
            if not arg:
                continue
            if isinstance(arg, ParamRef):
                if depth < 3:
                    handed_on = self.passed((caller_path, arg.function), arg.index, depth + 1)
                    out.extend(handed_on)
                    seen.update(handed_on)
                continue
            value = f"{module_name(caller_path)}.{arg.qualname}()" if isinstance(arg, LocalInstance) else arg
            if (value, caller_path, edge.line) not in seen:
                seen.add((value, caller_path, edge.line))
                out.append((value, caller_path, edge.line))
        return tuple(out)

    def _edge_targets(self, target: Union[ValueRef, LocalInstance, ScriptRef, ModuleRef], path: str) -> Sequence[Tuple[FuncKey, bool]]:
        if isinstance(target, (ScriptRef, ModuleRef)):  # a subprocess running project code
            if isinstance(target, ModuleRef):
                relpath = self.index.file_for_module(target.module)
            else:
                name = target.path
                candidates = [posixpath.normpath(name), posixpath.normpath(posixpath.join(posixpath.dirname(path), name))]
                relpath = next((c for c in candidates if c in self.facts), None)
            if relpath is None:
                return []
            keys = [(relpath, "<module>")] + ([(relpath, "<main>")] if self.facts[relpath].main_line else [])
            return [(k, True) for k in keys]
        return self.dispatch(target, path)

    # -- dynamic dispatch ------------------------------------------------------------------

    def dispatch(self, ref: Union[ValueRef, LocalInstance], path: str) -> Sequence[Tuple[FuncKey, bool]]:
        """The project functions a call may run, each with whether it certainly does.

        A function is certain; so are `Cls(...)` (its `__init__`), calling an instance (its
        `__call__`) and a method found through the class's project bases. Overrides in
        subclasses, and implementations of a `Protocol`, are possible: the receiver may be
        any of them (`sampler: SamplerBase`, `backend: LLMBackend`).

        Remembered per reference and file: it reads only the function and class tables, which
        are complete before the first question, and every edge of a file to the same callee
        (and every round of `_fill_parameters`) asks again.
        """
        key = (ref, path)
        found = self._dispatched.get(key)
        if found is None:
            found = self._dispatched[key] = tuple(self._dispatch(ref, path))
        return found

    def _dispatch(self, ref: Union[ValueRef, LocalInstance], path: str) -> List[Tuple[FuncKey, bool]]:
        if isinstance(ref, str):
            if not self.index.in_project(ref, path):  # a library's (`argparse.ArgumentParser`): most calls
                return []
            paths = self.index.resolve_all(ref, path)
            if len(paths) > 1:  # through a factory with several returns: each may run, none surely
                found: Dict[FuncKey, bool] = {}
                for alternative in paths:
                    found.update((key, False) for key, _ in self._dispatch_one(alternative, path) if key not in found)
                return list(found.items())
        return self._dispatch_one(ref, path)

    def _dispatch_one(self, ref: Union[ValueRef, LocalInstance], path: str) -> List[Tuple[FuncKey, bool]]:
        callee = None if isinstance(ref, LocalInstance) else self.resolve_function(ref, path)
        if callee is not None:
            fn = self.functions[callee]
            out = [(callee, True)]
            if fn.class_name:
                method = callee[1].rsplit(".", 1)[-1]
                out += [(k, False) for k in self.implementations((callee[0], fn.class_name), method) if k != callee]
            return out
        if isinstance(ref, LocalInstance):
            instance, cls = True, self.resolve_class(LocalRef(ref.qualname), path)
        else:
            instance = isinstance(ref, str) and ref.endswith("()")
            cls = self.resolve_class(ref[:-2] if isinstance(ref, str) and instance else ref, path)
        method = "__call__" if instance else "__init__"
        if cls is None:
            if not isinstance(ref, str):
                return []  # a name of this module that is no function or class here
            owner, _, method = ref.rpartition(".")
            if not owner.endswith("()"):
                return []
            cls, instance = self.resolve_class(owner[:-2], path), True
            if cls is None:
                return []
        found = self.method_of(cls, method)
        out = [(k, True) for k in found]
        if instance:
            out += [(k, False) for k in self.implementations(cls, method) if k not in found]
        return out

    def _started_body(self, ref: str, path: str) -> List[Tuple[FuncKey, str]]:
        """`worker.start()` on an instance of a project class that inherits `start` from one of
        `STARTED_NAMES`: the `run` it runs on a thread (or process) of its own, and what that is
        called. The facts name it when the class is the caller's module's; this is for one of
        another."""
        start, run = STARTED_BODY
        owner, _, method = ref.rpartition(".")
        if method != start or not owner.endswith("()"):
            return []
        cls = self.resolve_class(owner[:-2], path)
        if cls is None or self.method_of(cls, start):
            return []
        base = next((b for b in self.external_bases(cls) if b in STARTED_NAMES), None)
        return [(body, STARTED_NAMES[base]) for body in self.method_of(cls, run)] if base is not None else []

    def method_of(self, cls: FuncKey, method: str, seen: Optional[Set[FuncKey]] = None) -> List[FuncKey]:
        """The methods a name (or a glob: `run_*`) finds on a class, through its project bases."""
        seen = seen if seen is not None else set()
        if cls in seen:
            return []
        seen.add(cls)
        own = self._methods.get(cls, {})
        found = [k for name, k in sorted(own.items()) if _named(name, method)]
        if found or cls not in self.classes:
            return found
        for base in self.classes[cls].bases:
            parent = self.resolve_class(base, cls[0])
            if parent is not None:
                found = self.method_of(parent, method, seen)
                if found:
                    return found
        return []

    def implementations(self, cls: FuncKey, method: str) -> List[FuncKey]:
        """Methods that may run for `method` on a receiver typed `cls`: overrides in project
        subclasses, and for a `Protocol`, the method of every project class that has all of
        the protocol's methods. Remembered: every call through a base class asks again."""
        key = (cls, method)
        if key not in self._implementations:
            self._implementations[key] = self._find_implementations(cls, method)
        return list(self._implementations[key])

    def _find_implementations(self, cls: FuncKey, method: str) -> List[FuncKey]:
        if self._subclasses is None:
            self._subclasses = {}
            for key, fact in sorted(self.classes.items()):
                for base in fact.bases:
                    parent = self.resolve_class(base, key[0])
                    if parent is not None and parent != key:
                        self._subclasses.setdefault(parent, []).append(key)
        out: List[FuncKey] = []
        todo, seen = list(self._subclasses.get(cls, [])), {cls}
        while todo:
            sub = todo.pop(0)
            if sub in seen:
                continue
            seen.add(sub)
            out.extend(k for name, k in sorted(self._methods.get(sub, {}).items()) if _named(name, method))
            todo.extend(self._subclasses.get(sub, []))
        if any(b.rsplit(".", 1)[-1] == "Protocol" and b.split(".")[0] in ("typing", "typing_extensions")
               for b in self.external_bases(cls)):
            wanted = set(self._methods.get(cls, {}))
            for other, methods in sorted(self._methods.items()):
                if other not in seen and wanted and wanted <= set(methods):
                    out.extend(k for name, k in sorted(methods.items()) if _named(name, method))
        return out

    # -- name resolution -------------------------------------------------------------------

    def _project_member(self, ref: ValueRef, path: str, table: Mapping[FuncKey, object]) -> Optional[FuncKey]:
        """The function or class (`table`) of the project a reference names, if any. Remembered:
        the tables and the index are complete before the first question, and the same names
        are asked for from every edge and every dispatch."""
        key = (ref, path, table is self.functions)
        if key not in self._members:
            self._members[key] = self._find_member(ref, path, table)
        return self._members[key]

    def _find_member(self, ref: ValueRef, path: str, table: Mapping[FuncKey, object]) -> Optional[FuncKey]:
        if isinstance(ref, LocalRef):
            key = (path, ref.qualname)
            return key if key in table else None
        resolved = self.index.resolve(ref, path)
        at = (resolved, table is self.functions)
        if at not in self._members_at:
            self._members_at[at] = self._member_at(resolved, table)
        return self._members_at[at]

    def _member_at(self, resolved: str, table: Mapping[FuncKey, object]) -> Optional[FuncKey]:
        """The member a resolved (absolute) path names: the same from every file."""
        segments = resolved.split(".")
        for cut in range(len(segments) - 1, 0, -1):
            module = ".".join(segments[:cut])
            if "(" in module:
                continue
            target = self.index.file_for_module(module)
            if target is None:
                continue
            qual = ".".join(s[:-2] if s.endswith("()") else s for s in segments[cut:])
            key = (target, qual)
            return key if key in table else None
        return None

    def resolve_function(self, ref: ValueRef, path: str) -> Optional[FuncKey]:
        return self._project_member(ref, path, self.functions)

    def resolve_class(self, ref: ValueRef, path: str) -> Optional[FuncKey]:
        return self._project_member(ref, path, self.classes)

    def external_bases(self, key: FuncKey, seen: Optional[Set[FuncKey]] = None) -> List[str]:
        """Framework base classes of a project class, through project base classes."""
        seen = seen if seen is not None else set()
        if key in seen or key not in self.classes:
            return []
        seen.add(key)
        out = []
        for base in self.classes[key].bases:
            project = self.resolve_class(base, key[0])
            if project is not None:
                out.extend(self.external_bases(project, seen))
            elif isinstance(base, str):
                out.append(self.index.resolve(base, key[0]))
        return out

    def param_sites(self) -> List[CallSite]:
        """Calls on a parameter (`def ask(client): client.messages.create()`), resolved from the
        argument each project caller passes: one site per caller-provided SDK client."""
        from whowaits.facts.calls import classify

        out: List[CallSite] = []
        for path, f in sorted(self.facts.items()):
            for call in f.calls:
                param = call.target
                if not isinstance(param, ParamRef):
                    continue
                seen = set()
                for value, caller_path, line in self.passed((path, param.function), param.index):
                    resolved = self.index.resolve(param.on(value), caller_path)
                    op = classify(resolved, call.request, call.first_arg)
                    if op is not None and resolved not in seen:
                        seen.add(resolved)
                        out.append(CallSite(path, replace(call, target=resolved, via=f"{call.via} (from {caller_path}:{line})"), op))
        return out

    def offset(self, key: FuncKey) -> int:
        """1 when a function's first parameter is the `self` (or `cls`) its callers do not pass."""
        fn = self.functions.get(key)
        return 1 if fn is not None and fn.class_name and fn.params[:1] in (("self",), ("cls",)) else 0

    def rejects(self, edge: Optional[CallEdge], key: FuncKey, guards: Tuple[ParamGuard, ...]) -> Optional[ParamGuard]:
        """The first of `guards` (branches of `key` on its own parameters) that the call `edge`
        into `key` rules out by what it passes (`bulk=False`, or a literal default it leaves);
        None when it may take them all, or when `edge` is None (`key` is where the path starts)."""
        if not guards or edge is None or edge.passed is None:
            return None
        offset = self.offset(key)
        return next((guard for guard in guards if not edge.passed.takes(guard, offset)), None)

    def methods_of(self, key: FuncKey) -> List[FuncKey]:
        return [k for k, fn in self.functions.items() if k[0] == key[0] and fn.class_name == key[1]]

    # -- entry points ----------------------------------------------------------------------

    def manifest_entries(self, wanted: Optional[Set[FuncKey]] = None) -> List[Entry]:
        """Entries that start in CI, cron and deploy files, resolved to project functions (those
        in `wanted`, if given)."""
        resolver = CommandResolver(self.facts, self.index, self.manifests)
        out = []
        self.unresolved: List[Tuple[str, int, str]] = []  # Python commands that reach no analysed code
        for m in self.manifests.entries:
            targets = resolver.resolve(m)
            if not targets and resolver.runs_python(m):
                self.unresolved.append((m.command_path or m.path, m.command_line, (m.command.strip() or m.function).splitlines()[0][:100]))
            # Once per command: `pytest` runs every test function, each an entry of its own.
            command = "; ".join(part.strip() for part in m.command.strip().splitlines() if part.strip())
            for key, how, subcommand in targets:
                if key[1] not in ("<main>", "<module>") and key not in self.functions:
                    continue
                if wanted is not None and key not in wanted:
                    continue
                line = self.facts[key[0]].main_line if key[1] == "<main>" else (
                    self.functions[key].line if key in self.functions else 1)
                origin = (
                    EvidenceStep(m.path, m.line, m.trigger),
                    EvidenceStep(m.command_path or m.path, m.command_line, f"run: {command[:100]}" if command else f"handler: {m.function}"),
                    EvidenceStep(key[0], line or 1, f"{how}: {key[1]}"),
                )
                # One entry per command: steps of a job are separate runs for the routing rules.
                run_at = f"{m.command_path}:{m.command_line}" if m.command_path else f"line {m.command_line}"
                where = f"{m.path}:{m.line} {m.trigger}, run at {run_at}"
                kind = ContextKind(m.kind)
                out.append(Entry(key, kind, BLOCKING_KINDS[kind], m.trigger, line or 1, origin=origin,
                                 where=where, period_hours=m.period_hours, deadline_hours=m.deadline_hours,
                                 from_test=how.startswith("pytest collects"), subcommand=subcommand))
        return out

    def console_script_entries(self) -> List[Entry]:
        out = []
        for name, target in sorted(self.manifests.console_scripts.items()):
            module, _, function = target.partition(":")
            relpath = self.index.file_for_module(module.strip())
            key = (relpath, function.strip()) if relpath else None
            if key in self.functions:
                out.append(Entry(key, ContextKind.OFFLINE_SCRIPT, False, f"console script {name}", self.functions[key].line))
        return out

    def entries(self, wanted: Optional[Set[FuncKey]] = None) -> List[Entry]:
        """Every entry point, in a fixed order; with `wanted`, only those of the functions in it.
        The search for who waits starts only where a call path reaches a site (`_leading_to`):
        in a large project, CI's `pytest` alone makes thousands of entries no path leads from.
        An entry is decided by its own function (and by whether a manifest starts it, which
        concerns the same function), so leaving the others out changes none of those kept."""
        self._imported = self.imported_files()
        manifest = self.manifest_entries(wanted)
        # A script a manifest runs is not also an offline script, unless the manifest names one
        # subcommand of it (`python cli.py version`): the others are run some other way.
        self._started_elsewhere = {e.key for e in manifest if not e.subcommand}
        out: List[Entry] = list(manifest)
        out += [e for e in self.console_script_entries() if e.key not in self._started_elsewhere]
        for key, fn in sorted(self.functions.items()):
            if wanted is not None and key not in wanted:
                continue
            path = key[0]
            if fn.pragma is not None:
                kind, reason = fn.pragma
                why = f"pragma: context={kind}" + (f" -- {reason}" if reason else "")
                out.append(Entry(key, ContextKind.DECLARED, kind == "blocking", why, fn.line))
                continue
            declared = self.overrides.match(path, module_name(path), fn, lambda p, _path=path: self.index.resolve(p, _path))
            if declared is not None:
                out.append(Entry(key, ContextKind.DECLARED, declared[0], declared[1], fn.line))
                continue
            out.extend(self._decorator_entries(key, fn))
            if fn.class_name:
                out.extend(self._method_entries(key, fn))
            elif _is_test_file(path) and fn.qualname.split(".")[-1].startswith("test") and not self.mocked(path):
                out.append(Entry(key, ContextKind.CI_PREMERGE, True, "pytest test", fn.line, from_test=True))
            # The handler-shape guess only where no deploy manifest says which events run it.
            if fn.qualname in SERVERLESS_HANDLERS and fn.params[:2] == ("event", "context") and key not in self._started_elsewhere:
                out.append(Entry(key, ContextKind.HTTP_HANDLER, True, "serverless handler", fn.line))
        for path, f in sorted(self.facts.items()):
            out.extend(self._file_entries(path, f))
        out += [self._registered(key, ContextKind.BACKGROUND, started_by, path, line)
                for key, path, line, started_by in sorted(self._started)]
        return out if wanted is None else [e for e in out if e.key in wanted]

    def _decorator_entries(self, key: FuncKey, fn: FunctionFact) -> Iterable[Entry]:
        for dec in fn.decorators:
            if not isinstance(dec.path, str) or not dec.path:
                continue  # unknown, or a decorator of the same module (no framework's)
            resolved = self.index.resolve(dec.path, key[0])
            for kind, name in _DECORATORS.matching(resolved)[:1]:
                period = dec.period_hours if kind == ContextKind.SCHEDULED else None
                yield Entry(key, kind, BLOCKING_KINDS[kind], name, dec.line, period_hours=period)
            for keyword, name in _KEYWORD_DECORATORS.matching(resolved):
                if keyword in dec.keywords:
                    yield Entry(key, ContextKind.SCHEDULED, False, name, dec.line, period_hours=dec.period_hours)

    def _method_entries(self, key: FuncKey, fn: FunctionFact) -> Iterable[Entry]:
        method = fn.qualname.split(".")[-1]
        cls_key = (key[0], fn.class_name)
        bases = self.external_bases(cls_key)
        mocked = self.mocked(key[0])
        for base in bases:
            for methods, kind, name in _BASES.matching(base):
                if kind == ContextKind.CI_PREMERGE and mocked:
                    continue
                if any(fnmatch.fnmatchcase(method, m) for m in methods):
                    yield Entry(key, kind, BLOCKING_KINDS[kind], name, fn.line, from_test=kind == ContextKind.CI_PREMERGE)
                    return
        if _is_test_file(key[0]) and method.startswith("test") and fn.class_name.split(".")[-1].startswith("Test") and not mocked:
            yield Entry(key, ContextKind.CI_PREMERGE, True, "pytest test", fn.line, from_test=True)

    def mocked(self, path: str) -> bool:
        """Whether the tests of a file fake the API: the file does, or a `conftest.py` in its
        folder or above does (fixtures there replace the client for every test below)."""
        if self.facts[path].mocks:
            return True
        folder = posixpath.dirname(path)
        while True:
            conftest = posixpath.join(folder, "conftest.py") if folder else "conftest.py"
            if conftest in self.facts and self.facts[conftest].mocks:
                return True
            if not folder:
                return False
            folder = posixpath.dirname(folder)

    def imported_files(self) -> Set[str]:
        """Files some other analysed file imports (so their top level is not a script)."""
        out: Set[str] = set()
        for path, f in self.facts.items():
            for name in f.imports:
                target = self.index.file_for_module(self.index.absolute(name, path))
                if target is not None and target != path:
                    out.add(target)
        return out

    def _file_entries(self, path: str, f: FileFacts) -> Iterable[Entry]:
        declared = self.overrides.match(path, module_name(path), None, None)
        if declared is not None:
            for key in ((path, "<main>"), (path, "<module>")):
                yield Entry(key, ContextKind.DECLARED, declared[0], declared[1], f.main_line or 1)
            return
        if f.main_line and (path, "<main>") not in self._started_elsewhere:
            yield Entry((path, "<main>"), ContextKind.OFFLINE_SCRIPT, False, "`if __name__ == \"__main__\"` script", f.main_line)
        if f.ui_script:
            # Each widget branch runs in its own rerun: a separate interaction, a separate entry.
            regions = {c.ui_region for c in f.calls if c.function == "<module>"}
            regions |= {e.ui_region for e in f.edges if e.caller == "<module>"}
            for region in sorted(regions) or [0]:
                why = f"Streamlit script, widget at line {region}" if region else "Streamlit script"
                yield Entry((path, "<module>"), ContextKind.INTERACTIVE_UI, True, why, region or 1, region=region)
        elif (path not in self._imported and not (_is_test_file(path) and _holds_tests(path, f)) and not path.endswith("__init__.py")
              and (path, "<module>") not in self._started_elsewhere):
            yield Entry((path, "<module>"), ContextKind.OFFLINE_SCRIPT, False, "top-level code of a script no module imports", 1)
        for reg in f.registrations:
            for target in self._registration_targets(reg.target, path):
                yield self._registered(target, ContextKind(reg.kind), reg.name, path, reg.line, reg.period_hours)
        prompted = {c.function: c.span.line for c in f.calls if c.prompted}
        for edge in f.edges:
            if edge.prompted:
                prompted.setdefault(edge.caller, edge.line)
        for function, line in sorted(prompted.items()):
            if function in ("<module>", "<main>") or (path, function) in self.functions:
                yield Entry((path, function), ContextKind.INTERACTIVE_CLI, True, "answers what a person typed at input()", line, prompted=True)
        for flags in f.loop_flags:
            if flags.tool_use:
                yield Entry((path, flags.function), ContextKind.TOOL_LOOP, True, "tool-use loop", flags.line, flags.loop_id)
            elif flags.interactive:
                yield Entry((path, flags.function), ContextKind.INTERACTIVE_CLI, True, "loop reading input()", flags.line, flags.loop_id)

    def _registered(self, target: FuncKey, kind: ContextKind, name: str, path: str, line: int,
                    period_hours: Optional[float] = None) -> Entry:
        """The entry of a function a call at `path:line` hands to a framework or scheduler, or
        starts on a thread of its own (`name` says which)."""
        return Entry(target, kind, BLOCKING_KINDS[kind], f"{name} at {path}:{line}", self.functions[target].line,
                     period_hours=period_hours)

    def _registration_targets(self, ref: RegisteredRef, path: str) -> List[FuncKey]:
        if isinstance(ref, TaskRef):
            module, _, name = ref.name.rpartition(".")
            target = self.index.file_for_module(module) if module else None
            key = (target, name) if target else None
            return [key] if key in self.functions else []
        if isinstance(ref, ClassRef):
            cls = self.resolve_class(ref.cls, path)
            if cls is None:
                return []
            verbs = HTTP_METHODS | {f"on_{m}" for m in HTTP_METHODS}
            return [k for k in self.methods_of(cls) if k[1].split(".")[-1] in verbs]
        key = self.resolve_function(ref, path)
        return [key] if key is not None else []


def _waits_across(entry: Entry, key: FuncKey) -> bool:
    """Whether the person an entry answers waits for a thread started at `key`: only when the
    callback itself starts it (a button's command, a bot handler, an input loop), not a thread
    started further down (a monitor a constructor launches) or by a whole script's top level."""
    if entry.kind not in PERSON_WAITS_ACROSS_THREADS or key != entry.key:
        return False
    return key[1] not in ("<module>", "<main>") or bool(entry.region)


def _is_test_file(path: str) -> bool:
    name = os.path.basename(path)
    parts = path.split("/")[:-1]
    return (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
            or "tests" in parts or "test" in parts)


def _holds_tests(path: str, f: FileFacts) -> bool:
    """Whether a file named like a test module is one: a conftest, or a file with something a
    test runner collects (`test*` functions, `Test*` classes). `tools/test_models.py` holding
    top-level code only is a script run by hand under a test-like name."""
    return os.path.basename(path) == "conftest.py" or any(
        fn.qualname.rsplit(".", 1)[-1].startswith("test") for fn in f.functions) or any(
        cls.qualname.rsplit(".", 1)[-1].startswith("Test") for cls in f.classes)


def _bulk(loops: Iterable[LoopFact], path: str, excluded: Set[Tuple[str, int]]) -> Tuple[str, bool]:
    """The first loop that makes a call per item of a collection, and whether it fans out."""
    for loop in reversed(tuple(loops)):  # the loop closest to the call
        if loop.kind == "while" or loop.bounded or (path, loop.loop_id) in excluded:
            continue
        where = f"{path}:{loop.span.line}"
        if loop.fanout:
            return f"fanned out per item ({loop.kind}) at {where}", True
        return f"per item of the {loop.kind} at {where}", False
    return "", False


def _leading_to(callers: Mapping[FuncKey, List[FuncKey]], targets: Set[FuncKey]) -> Set[FuncKey]:
    """The functions from which some call path reaches one of `targets` (themselves included),
    given each function's callers (`_callers`).

    The search from each entry point only follows these: in a large project most of the call
    graph (hundreds of tests, scripts and handlers) never leads to an LLM call, and walking it
    once per entry point was most of the run.
    """
    found = set(targets)
    todo = list(targets)
    while todo:
        for caller in callers.get(todo.pop(), ()):
            if caller not in found:
                found.add(caller)
                todo.append(caller)
    return found


def _callers(graph: CallGraph) -> Dict[FuncKey, List[FuncKey]]:
    callers: Dict[FuncKey, List[FuncKey]] = {}
    for caller, edges in graph.edges.items():
        for _, callee in edges:
            callers.setdefault(callee, []).append(caller)
    return callers


# Batch operations on what a person typed (`batch_id = input()`, then a poll or the results):
# an id or a path typed to start a script, not a question awaiting its answer.
_FOLLOW_UPS = BATCH_KINDS - {OperationKind.BATCH_SUBMIT}


def infer(graph: CallGraph, sites: Tuple[CallSite, ...]) -> Tuple[CallSite, ...]:
    """Attach every context that reaches each site; sites no entry reaches stay `unknown`."""
    facts = graph.facts
    excluded = {(path, fl.loop_id) for path, f in facts.items() for fl in f.loop_flags}
    by_function: Dict[FuncKey, List[int]] = {}
    for i, site in enumerate(sites):
        by_function.setdefault((site.path, site.call.function), []).append(i)
    contexts: List[List[ContextFact]] = [[] for _ in sites]
    callers = _callers(graph)
    leads = _leading_to(callers, set(by_function))
    # A function answers what a person typed when the text reaches a request (a generation, a
    # submit, a helper it is handed to), not when a typed id only names the batch to collect.
    asked = {(s.path, s.call.function) for s in sites if s.call.prompted and s.op.kind not in _FOLLOW_UPS}
    asked |= {key for key, edges in graph.edges.items() if any(edge.prompted for edge, _ in edges)}
    entries = [entry for entry in graph.entries(leads) if not entry.prompted or entry.key in asked]
    declared = {entry.key for entry in entries if entry.kind == ContextKind.DECLARED}
    batching = _leading_to(callers, {(s.path, s.call.function) for s in sites if s.op.kind is OperationKind.BATCH_SUBMIT})
    routed_at: Dict[FuncKey, Set[Tuple[int, FuncKey]]] = {}

    def routed(key: FuncKey) -> Set[Tuple[int, FuncKey]]:
        """The edges of `key` (by identity, with their callee) that are the code's choice not
        to batch: the call may run several implementations and another of them submits a
        batch (`processor.run()`, the processor a batch or an online one as configured), so
        nothing below this one is bulk work to move there. The reasoning of a size-gated
        router, with the code's own switch for the size. Worked out once per function."""
        found = routed_at.get(key)
        if found is None:
            edges = graph.edges.get(key, [])
            batches: Set[Tuple[int, object]] = {(edge.line, edge.target) for edge, callee in edges if callee in batching}
            found = routed_at[key] = {(id(edge), callee) for edge, callee in edges
                                      if callee not in batching and (edge.line, edge.target) in batches}
        return found

    # What makes a call or an edge per item depends on it alone, not on the entry or the path
    # that reached it: worked out once each (the search meets the same edge from many entries).
    bulk_of: Dict[int, Tuple[str, bool]] = {}

    def per_item_of(holder: Union[CallSite, CallEdge], loops: Tuple[LoopFact, ...], path: str) -> Tuple[str, bool]:
        found = bulk_of.get(id(holder))
        if found is None:
            found = bulk_of[id(holder)] = _bulk(loops, path, excluded)
        return found

    # Functions with a call in a branch on their own parameters (`if bulk:`): reached through
    # a call that passes a literal the branch rejects, that call does not run.
    guarded = {(s.path, s.call.function) for s in sites if s.call.guards}
    guarded |= {key for key, edges in graph.edges.items() if any(edge.guards for edge, _ in edges)}


    for entry in entries:
        if entry.key not in leads:
            continue
        # State per hop: the per-item fact so far, whether it fans out, whether a `while` loop
        # is on the way, whether every hop is certain, and whether a router chose this path for
        # a small group or instead of a batch (`routed`; then nothing below it is bulk).
        # The thread too: a wait on a thread started along the way does not hold up the path
        # that started it, so WW101 pairs a submit only with waits on its own thread.
        # And the call that entered the function, where the function branches on what it passes.
        queue: Deque[Tuple[FuncKey, Tuple[EvidenceStep, ...], str, bool, bool, bool, bool, str, Optional[CallEdge]]] = deque(
            [(entry.key, entry.start, "", False, False, True, False, "", None)])
        seen: Set[Tuple[FuncKey, bool, bool, bool, bool, str, Optional[Passed]]] = {(entry.key, False, False, True, False, "", None)}
        reached: Set[Tuple[int, bool, bool, bool, str]] = set()
        while queue:
            key, chain, bulk, fan, looped, certain, gated, thread, via = queue.popleft()
            loop_filter = entry.loop_id if key == entry.key else None
            region = entry.region if key == entry.key else None
            prompted_only = entry.prompted and key == entry.key
            for i in by_function.get(key, []):
                site = sites[i]
                if loop_filter is not None and loop_filter not in {item.loop_id for item in site.call.loops}:
                    continue
                if prompted_only and not site.call.prompted:
                    continue
                if region is not None and site.call.ui_region != region:
                    continue
                if graph.rejects(via, key, site.call.guards) is not None:
                    continue
                own, own_fan = per_item_of(site, site.call.loops, site.path)
                per_item, fanout = (bulk, fan) if bulk else (own, own_fan)
                if gated or site.call.size_gated:
                    per_item, fanout = "", False
                if (i, bool(per_item), fanout, certain, thread) in reached:
                    continue
                reached.add((i, bool(per_item), fanout, certain, thread))
                step = EvidenceStep(site.path, site.line, f"calls {site.op.method}")
                contexts[i].append(
                    ContextFact(entry.kind, entry.blocking, entry.label, chain + (step,), per_item, fanout, looped,
                                entry.period_hours, entry.deadline_hours, entry.from_test, certain, thread)
                )
            for edge, callee in graph.edges.get(key, []):
                if callee not in leads:
                    continue
                if loop_filter is not None and loop_filter not in {item.loop_id for item in edge.loops}:
                    continue
                if region is not None and edge.ui_region != region:
                    continue
                if prompted_only and not edge.prompted:
                    continue
                if edge.detached and not _waits_across(entry, key):
                    continue  # a thread started from a request handler, a job or a constructor
                if callee in declared and callee != entry.key:
                    continue  # a pragma on the callee wins over what flows into it
                if graph.rejects(via, key, edge.guards) is not None:
                    continue  # `if bulk:` in a function called with `bulk=False`
                if edge.subcommand and entry.subcommand and edge.subcommand != entry.subcommand:
                    continue  # the handler of another subcommand than the command line names
                own, own_fan = per_item_of(edge, edge.loops, key[0])
                if edge.fanout and (edge.fanout != "map" or not own):
                    parallel = edge.fanout != "map"
                    how = f"fanned out via {edge.fanout}" if parallel else "per item via map()"
                    own, own_fan = f"{how} at {key[0]}:{edge.line}", parallel
                next_bulk, next_fan = (bulk, fan) if bulk else (own, own_fan)
                chosen = (id(edge), callee) in routed(key)
                next_certain, next_gated = certain and edge.certain, gated or edge.size_gated or chosen
                if next_gated:
                    next_bulk, next_fan = "", False
                next_thread = f"{callee[0]}:{callee[1]}" if edge.detached else thread
                state = (callee, bool(next_bulk), next_fan, next_certain, next_gated, next_thread,
                         edge.passed if callee in guarded else None)
                if state in seen:
                    continue
                seen.add(state)
                note = f"calls {callee[1]}" + (f" ({own})" if own else "") + ("" if edge.certain else " (may dispatch here)")
                note += "; the same call may batch instead" if chosen else ""
                hop = EvidenceStep(key[0], edge.line, note)
                # The loop an entry point is (an input or tool loop) is not polling on its own.
                own_loops = [item for item in edge.loops if item.kind == "while" and not (key == entry.key and item.loop_id == entry.loop_id)]
                queue.append((callee, chain + (hop,), next_bulk, next_fan, looped or bool(own_loops), next_certain,
                              next_gated, next_thread, edge))

    out = []
    for site, found in zip(sites, contexts):
        # One context per entry and way of reaching the site (once, per item, fanned out),
        # preferring a per-item chain over a plain one.
        # A possible (dispatched) chain is kept beside a certain one only when it says more.
        best: Dict[Tuple[str, bool, bool, str], ContextFact] = {}
        for ctx in found:
            slot = (ctx.entry, ctx.fanout, ctx.certain, ctx.thread)
            if slot not in best or (ctx.per_item and not best[slot].per_item):
                best[slot] = ctx
        for (entry_label, fanout, certain, thread), ctx in list(best.items()):
            sure = best.get((entry_label, fanout, True, thread))
            if not certain and sure is not None and (sure.per_item or not ctx.per_item):
                del best[(entry_label, fanout, certain, thread)]
        if site.op.kind == OperationKind.TOOL_RUNNER:
            best[("tool_runner", False, True, "")] = ContextFact(
                ContextKind.TOOL_LOOP, True, f"{site.path}:{site.line} tool_runner (agent loop by construction)",
                (EvidenceStep(site.path, site.line, "tool_runner runs a tool loop"),),
            )
        out.append(replace(site, contexts=tuple(sorted(best.values(), key=lambda c: (c.entry, c.kind)))))
    return tuple(out)
