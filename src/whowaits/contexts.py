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
from collections import deque
from dataclasses import dataclass, replace
from typing import Dict, Iterable, List, Optional, Set, Tuple

from whowaits.core import (
    CallEdge,
    CallSite,
    ClassFact,
    ContextFact,
    EvidenceStep,
    FileFacts,
    FunctionFact,
    LoopFact,
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
)
from whowaits.knowledge.patterns import compile_globs

FuncKey = Tuple[str, str]  # (relpath, qualified name | <module> | <main>)

_DECORATORS = [(compile_globs(p), kind, name) for p, kind, name in DECORATORS]
_KEYWORD_DECORATORS = [(compile_globs(p), kw, name) for p, kw, name in SCHEDULE_KEYWORD_DECORATORS]
_BASES = [(compile_globs(p), methods, kind, name) for p, methods, kind, name in BASE_CLASSES]
_PARALLEL = "parallel"


@dataclass(frozen=True)
class Entry:
    """A place execution starts, the context kind it gives, and why whowaits thinks so."""

    key: FuncKey
    kind: str
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
            d.path and fnmatch.fnmatchcase(resolve(d.path), pattern[1:]) for d in fn.decorators
        )
    if "/" in pattern or pattern.endswith(".py"):
        return fnmatch.fnmatchcase(path, pattern)
    qualname = fn.qualname if fn is not None else ""
    if ":" in pattern:
        mod_glob, _, func_glob = pattern.partition(":")
        return fn is not None and fnmatch.fnmatchcase(module, mod_glob) and fnmatch.fnmatchcase(qualname, func_glob)
    return fn is not None and fnmatch.fnmatchcase(f"{module}.{qualname}", pattern)


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
        self.edges: Dict[FuncKey, List[Tuple[CallEdge, FuncKey]]] = {}
        for path, f in facts.items():
            for edge in f.edges:
                if edge.through and self.resolve_function(edge.through, path) is None:
                    continue  # a callback handed to library code: the registration table decides
                for callee in self._edge_targets(edge.target, path):
                    self.edges.setdefault((path, edge.caller), []).append((edge, callee))

    def _edge_targets(self, target: str, path: str) -> List[FuncKey]:
        if target.startswith(("script:", "module:")):  # a subprocess running project code
            kind, _, name = target.partition(":")
            if kind == "module":
                relpath = self.index.file_for_module(name)
            else:
                candidates = [posixpath.normpath(name), posixpath.normpath(posixpath.join(posixpath.dirname(path), name))]
                relpath = next((c for c in candidates if c in self.facts), None)
            if relpath is None:
                return []
            return [(relpath, "<module>")] + ([(relpath, "<main>")] if self.facts[relpath].main_line else [])
        callee = self.resolve_function(target, path)
        return [callee] if callee is not None else []

    # -- name resolution -------------------------------------------------------------------

    def _project_member(self, ref: str, path: str, table: Dict[FuncKey, object]) -> Optional[FuncKey]:
        if ref.startswith("local:"):
            key = (path, ref[6:])
            return key if key in table else None
        resolved = self.index.resolve(ref, path)
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

    def resolve_function(self, ref: str, path: str) -> Optional[FuncKey]:
        return self._project_member(ref, path, self.functions)  # type: ignore[arg-type]

    def resolve_class(self, ref: str, path: str) -> Optional[FuncKey]:
        return self._project_member(ref, path, self.classes)  # type: ignore[arg-type]

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
            else:
                out.append(self.index.resolve(base, key[0]))
        return out

    def param_sites(self) -> List[CallSite]:
        """Calls on a parameter (`def ask(client): client.messages.create()`), resolved from the
        argument each project caller passes: one site per caller-provided SDK client."""
        from whowaits.facts.calls import classify

        incoming: Dict[FuncKey, List[Tuple[str, CallEdge]]] = {}
        for caller, edges in self.edges.items():
            for edge, callee in edges:
                if edge.args:
                    incoming.setdefault(callee, []).append((caller[0], edge))
        out: List[CallSite] = []
        for path, f in sorted(self.facts.items()):
            for call in f.calls:
                if not call.target.startswith("@param:"):
                    continue
                _, function, index, rest = call.target.split(":", 3)
                seen = set()
                for caller_path, edge in incoming.get((path, function), []):
                    position = int(index)
                    if position >= len(edge.args) or not edge.args[position]:
                        continue
                    value = edge.args[position]
                    if value.startswith("local-inst:"):
                        value = f"{module_name(caller_path)}.{value[len('local-inst:'):]}()"
                    resolved = self.index.resolve(f"{value}.{rest}", caller_path)
                    op = classify(resolved, call.request, call.first_arg)
                    if op is not None and resolved not in seen:
                        seen.add(resolved)
                        out.append(CallSite(path, replace(call, target=resolved, via=f"{call.via} (from {caller_path}:{edge.line})"), op))
        return out

    def callers_of(self, key: FuncKey) -> List[Tuple[FuncKey, int]]:
        """Every project function that calls `key`, with the line of the call."""
        out = []
        for caller, edges in sorted(self.edges.items()):
            for edge, callee in edges:
                if callee == key:
                    out.append((caller, edge.line))
        return out

    def methods_of(self, key: FuncKey) -> List[FuncKey]:
        return [k for k, fn in self.functions.items() if k[0] == key[0] and fn.class_name == key[1]]

    # -- entry points ----------------------------------------------------------------------

    def manifest_entries(self) -> List[Entry]:
        """Entries that start in CI, cron and deploy files, resolved to project functions."""
        resolver = CommandResolver(self.facts, self.index, self.manifests)
        out = []
        self.unresolved: List[Tuple[str, int, str]] = []  # Python commands that reach no analysed code
        for m in self.manifests.entries:
            targets = resolver.resolve(m)
            if not targets and resolver.runs_python(m):
                self.unresolved.append((m.path, m.command_line, (m.command.strip() or m.function).splitlines()[0][:100]))
            for key, how in targets:
                if key[1] not in ("<main>", "<module>") and key not in self.functions:
                    continue
                line = self.facts[key[0]].main_line if key[1] == "<main>" else (
                    self.functions[key].line if key in self.functions else 1)
                command = "; ".join(part.strip() for part in m.command.strip().splitlines() if part.strip())
                origin = (
                    EvidenceStep(m.path, m.line, m.trigger),
                    EvidenceStep(m.path, m.command_line, f"run: {command[:100]}" if command else f"handler: {m.function}"),
                    EvidenceStep(key[0], line or 1, f"{how}: {key[1]}"),
                )
                # One entry per command: steps of a job are separate runs for the routing rules.
                where = f"{m.path}:{m.line} {m.trigger}, run at line {m.command_line}"
                out.append(Entry(key, m.kind, BLOCKING_KINDS[m.kind], m.trigger, line or 1, origin=origin,
                                 where=where, period_hours=m.period_hours, deadline_hours=m.deadline_hours,
                                 from_test=how.startswith("pytest collects")))
        return out

    def console_script_entries(self) -> List[Entry]:
        out = []
        for name, target in sorted(self.manifests.console_scripts.items()):
            module, _, function = target.partition(":")
            relpath = self.index.file_for_module(module.strip())
            key = (relpath, function.strip()) if relpath else None
            if key in self.functions:
                out.append(Entry(key, "offline_script", False, f"console script {name}", self.functions[key].line))  # type: ignore[index]
        return out

    def entries(self) -> List[Entry]:
        self._imported = self.imported_files()
        manifest = self.manifest_entries()
        self._started_elsewhere = {e.key for e in manifest}
        out: List[Entry] = list(manifest)
        out += [e for e in self.console_script_entries() if e.key not in self._started_elsewhere]
        for key, fn in sorted(self.functions.items()):
            path = key[0]
            if fn.pragma is not None:
                kind, reason = fn.pragma
                why = f"pragma: context={kind}" + (f" -- {reason}" if reason else "")
                out.append(Entry(key, "declared", kind == "blocking", why, fn.line))
                continue
            declared = self.overrides.match(path, module_name(path), fn, lambda p, _path=path: self.index.resolve(p, _path))
            if declared is not None:
                out.append(Entry(key, "declared", declared[0], declared[1], fn.line))
                continue
            out.extend(self._decorator_entries(key, fn))
            if fn.class_name:
                out.extend(self._method_entries(key, fn))
            elif _is_test_file(path) and fn.qualname.split(".")[-1].startswith("test") and not self.facts[path].mocks:
                out.append(Entry(key, "ci_premerge", True, "pytest test", fn.line, from_test=True))
            # The handler-shape guess only where no deploy manifest says which events run it.
            if fn.qualname in SERVERLESS_HANDLERS and fn.params[:2] == ("event", "context") and key not in self._started_elsewhere:
                out.append(Entry(key, "http_handler", True, "serverless handler", fn.line))
        for path, f in sorted(self.facts.items()):
            out.extend(self._file_entries(path, f))
        return out

    def _decorator_entries(self, key: FuncKey, fn: FunctionFact) -> Iterable[Entry]:
        for dec in fn.decorators:
            if not dec.path or dec.path.startswith("local:"):
                continue
            resolved = self.index.resolve(dec.path, key[0])
            for pattern, kind, name in _DECORATORS:
                if pattern.match(resolved):
                    period = dec.period_hours if kind == "scheduled" else None
                    yield Entry(key, kind, BLOCKING_KINDS[kind], name, dec.line, period_hours=period)
                    break
            for pattern, keyword, name in _KEYWORD_DECORATORS:
                if pattern.match(resolved) and keyword in dec.keywords:
                    yield Entry(key, "scheduled", False, name, dec.line, period_hours=dec.period_hours)

    def _method_entries(self, key: FuncKey, fn: FunctionFact) -> Iterable[Entry]:
        method = fn.qualname.split(".")[-1]
        cls_key = (key[0], fn.class_name)
        bases = self.external_bases(cls_key)
        mocked = self.facts[key[0]].mocks
        for base in bases:
            for pattern, methods, kind, name in _BASES:
                if kind == "ci_premerge" and mocked:
                    continue
                if pattern.match(base) and any(fnmatch.fnmatchcase(method, m) for m in methods):
                    yield Entry(key, kind, BLOCKING_KINDS[kind], name, fn.line, from_test=kind == "ci_premerge")
                    return
        if _is_test_file(key[0]) and method.startswith("test") and fn.class_name.split(".")[-1].startswith("Test") and not mocked:
            yield Entry(key, "ci_premerge", True, "pytest test", fn.line, from_test=True)

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
                yield Entry(key, "declared", declared[0], declared[1], f.main_line or 1)
            return
        if f.main_line and (path, "<main>") not in self._started_elsewhere:
            yield Entry((path, "<main>"), "offline_script", False, "`if __name__ == \"__main__\"` script", f.main_line)
        if f.ui_script:
            # Each widget branch runs in its own rerun: a separate interaction, a separate entry.
            regions = {c.ui_region for c in f.calls if c.function == "<module>"}
            regions |= {e.ui_region for e in f.edges if e.caller == "<module>"}
            for region in sorted(regions) or [0]:
                why = f"Streamlit script, widget at line {region}" if region else "Streamlit script"
                yield Entry((path, "<module>"), "interactive_ui", True, why, region or 1, region=region)
        elif (path not in self._imported and not _is_test_file(path) and not path.endswith("__init__.py")
              and (path, "<module>") not in self._started_elsewhere):
            yield Entry((path, "<module>"), "offline_script", False, "top-level code of a script no module imports", 1)
        for reg in f.registrations:
            for target in self._registration_targets(reg.target, path):
                fn = self.functions[target]
                yield Entry(target, reg.kind, BLOCKING_KINDS[reg.kind], f"{reg.name} at {path}:{reg.line}", fn.line,
                            period_hours=reg.period_hours)
        prompted = {c.function: c.span.line for c in f.calls if c.prompted}
        for edge in f.edges:
            if edge.prompted:
                prompted.setdefault(edge.caller, edge.line)
        for function, line in sorted(prompted.items()):
            if function in ("<module>", "<main>") or (path, function) in self.functions:
                yield Entry((path, function), "interactive_cli", True, "answers what a person typed at input()", line, prompted=True)
        for flags in f.loop_flags:
            if flags.tool_use:
                yield Entry((path, flags.function), "tool_loop", True, "tool-use loop", flags.line, flags.loop_id)
            elif flags.interactive:
                yield Entry((path, flags.function), "interactive_cli", True, "loop reading input()", flags.line, flags.loop_id)

    def _registration_targets(self, ref: str, path: str) -> List[FuncKey]:
        if ref.startswith("task:"):
            dotted = ref[5:]
            module, _, name = dotted.rpartition(".")
            target = self.index.file_for_module(module) if module else None
            key = (target, name) if target else None
            return [key] if key in self.functions else []  # type: ignore[list-item]
        if ref.startswith("class:"):
            cls = self.resolve_class(ref[6:], path)
            if cls is None:
                return []
            verbs = HTTP_METHODS | {f"on_{m}" for m in HTTP_METHODS}
            return [k for k in self.methods_of(cls) if k[1].split(".")[-1] in verbs]
        key = self.resolve_function(ref, path)
        return [key] if key is not None else []


def _is_test_file(path: str) -> bool:
    name = os.path.basename(path)
    parts = path.split("/")[:-1]
    return name.startswith("test_") or name.endswith("_test.py") or "tests" in parts or "test" in parts


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


def infer(graph: CallGraph, sites: Tuple[CallSite, ...]) -> Tuple[CallSite, ...]:
    """Attach every context that reaches each site; sites no entry reaches stay `unknown`."""
    facts = graph.facts
    excluded = {(path, fl.loop_id) for path, f in facts.items() for fl in f.loop_flags}
    by_function: Dict[FuncKey, List[int]] = {}
    for i, site in enumerate(sites):
        by_function.setdefault((site.path, site.call.function), []).append(i)
    contexts: List[List[ContextFact]] = [[] for _ in sites]
    entries = graph.entries()
    declared = {entry.key for entry in entries if entry.kind == "declared"}

    for entry in entries:
        queue = deque([(entry.key, entry.start, "", False, False)])
        seen: Set[Tuple[FuncKey, bool, bool]] = {(entry.key, False, False)}
        reached: Set[Tuple[int, bool, bool]] = set()
        while queue:
            key, chain, bulk, fan, looped = queue.popleft()
            loop_filter = entry.loop_id if key == entry.key else None
            region = entry.region if key == entry.key else None
            prompted_only = entry.prompted and key == entry.key
            for i in by_function.get(key, []):
                site = sites[i]
                if loop_filter is not None and loop_filter not in {l.loop_id for l in site.call.loops}:
                    continue
                if prompted_only and not site.call.prompted:
                    continue
                if region is not None and site.call.ui_region != region:
                    continue
                own, own_fan = _bulk(site.call.loops, site.path, excluded)
                per_item, fanout = (bulk, fan) if bulk else (own, own_fan)
                if (i, bool(per_item), fanout) in reached:
                    continue
                reached.add((i, bool(per_item), fanout))
                step = EvidenceStep(site.path, site.line, f"calls {site.op.method}")
                contexts[i].append(
                    ContextFact(entry.kind, entry.blocking, entry.label, chain + (step,), per_item, fanout, looped,
                                entry.period_hours, entry.deadline_hours, entry.from_test)
                )
            for edge, callee in graph.edges.get(key, []):
                if loop_filter is not None and loop_filter not in {l.loop_id for l in edge.loops}:
                    continue
                if region is not None and edge.ui_region != region:
                    continue
                if prompted_only and not edge.prompted:
                    continue
                if edge.detached and entry.kind not in PERSON_WAITS_ACROSS_THREADS:
                    continue  # a thread started from a request handler or a job: nobody waits on it
                if callee in declared and callee != entry.key:
                    continue  # a pragma on the callee wins over what flows into it
                own, own_fan = _bulk(edge.loops, key[0], excluded)
                if edge.fanout and (edge.fanout != "map" or not own):
                    parallel = edge.fanout != "map"
                    how = f"fanned out via {edge.fanout}" if parallel else "per item via map()"
                    own, own_fan = f"{how} at {key[0]}:{edge.line}", parallel
                next_bulk, next_fan = (bulk, fan) if bulk else (own, own_fan)
                state = (callee, bool(next_bulk), next_fan)
                if state in seen:
                    continue
                seen.add(state)
                note = f"calls {callee[1]}" + (f" ({own})" if own else "")
                hop = EvidenceStep(key[0], edge.line, note)
                # The loop an entry point is (an input or tool loop) is not polling on its own.
                own_loops = [l for l in edge.loops if l.kind == "while" and not (key == entry.key and l.loop_id == entry.loop_id)]
                queue.append((callee, chain + (hop,), next_bulk, next_fan, looped or bool(own_loops)))

    out = []
    for site, found in zip(sites, contexts):
        # One context per entry and way of reaching the site (once, per item, fanned out),
        # preferring a per-item chain over a plain one.
        best: Dict[Tuple[str, bool], ContextFact] = {}
        for ctx in found:
            key = (ctx.entry, ctx.fanout)
            if key not in best or (ctx.per_item and not best[key].per_item):
                best[key] = ctx
        if site.op.kind == "tool_runner":
            best[("tool_runner", False)] = ContextFact(
                "tool_loop", True, f"{site.path}:{site.line} tool_runner (agent loop by construction)",
                (EvidenceStep(site.path, site.line, "tool_runner runs a tool loop"),),
            )
        out.append(replace(site, contexts=tuple(sorted(best.values(), key=lambda c: (c.entry, c.kind)))))
    return tuple(out)
