"""The project index: module names for files, and call targets resolved across modules.

A call target such as `.llm.client.messages.create` (from `from .llm import client`) names a
value in another project module. The index maps the module part to a file and replaces the
longest prefix that file exports (`client` -> `anthropic.Anthropic()`), repeating until the
path no longer names a project module. Then `classify` decides what operation it is.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Dict, List, Optional, Set, Tuple

from whowaits.core import MAX_ALTERNATIVES, CallSite, ExportValue, FileFacts, LocalInstance, RawCall, RequestFacts, Span
from whowaits.facts.calls import classify, sdk_root

_MAX_HOPS = 12


def module_name(relpath: str) -> str:
    """Dotted module name of a file relative to the root (`src/` layouts stripped)."""
    parts = relpath[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts)


class ProjectIndex:
    """Modules of the project and the values they export."""

    def __init__(self, facts: Dict[str, FileFacts]) -> None:
        self.facts = facts
        self.modules: Dict[str, str] = {}  # dotted name -> relpath
        self._suffixes: Dict[str, List[str]] = {}  # every dotted suffix -> relpaths
        for relpath in sorted(facts):
            name = module_name(relpath)
            self.modules[name] = relpath
            full = ".".join(p for p in relpath[:-3].split("/") if p != "__init__")
            self.modules.setdefault(full, relpath)  # `src` can itself be a package: `src.app.x`
            parts = name.split(".")
            for i in range(len(parts)):
                self._suffixes.setdefault(".".join(parts[i:]), []).append(relpath)
        # The first names module names and their suffixes start with: a path starting with any
        # other name (`argparse.ArgumentParser`, most of what a project calls) is not the project's.
        self._roots = frozenset(name.split(".", 1)[0] for table in (self.modules, self._suffixes) for name in table)
        self._exports: Dict[str, Dict[str, List[ExportValue]]] = {}
        for path, f in facts.items():
            table = self._exports[path] = {}
            for key, value in f.exports:
                table.setdefault(key, []).append(value)
        self._constants = {path: dict(f.constants) for path, f in facts.items() if f.constants}
        self._env = {path: dict(f.env_constants) for path, f in facts.items() if f.env_constants}
        self._resolved: Dict[str, Tuple[str, ...]] = {}  # absolute path -> what `resolve_all` makes of it
        self._branched: Dict[Tuple[Tuple[str, ...], int], Tuple[str, ...]] = {}

    def file_for_module(self, dotted: str) -> Optional[str]:
        """The file a module name refers to: exact, else the one file whose name ends with it.

        The suffix match covers scripts run from a sub-folder and packages under another folder;
        an ambiguous suffix resolves to nothing rather than to a guess.
        """
        if dotted in self.modules:
            return self.modules[dotted]
        candidates = self._suffixes.get(dotted, [])
        return candidates[0] if len(candidates) == 1 else None

    def in_project(self, target: str, relpath: str) -> bool:
        """Whether a value path may name something of the project: its first name (once
        relative imports are made absolute) starts some module's name. When it does not, no
        prefix of it is a project module, so nothing resolves it and no module exports it."""
        return self.absolute(target, relpath).split(".", 1)[0] in self._roots

    def absolute(self, target: str, relpath: str) -> str:
        """Turn a relative target (`..pkg.x`) into an absolute dotted one for `relpath`."""
        if not target.startswith("."):
            return target
        level = len(target) - len(target.lstrip("."))
        package = module_name(relpath).split(".")
        if not relpath.endswith("__init__.py"):
            package = package[:-1]
        base = package[: len(package) - (level - 1)] if level > 1 else package
        rest = target[level:]
        return ".".join([p for p in base if p] + ([rest] if rest else []))

    def resolve(self, target: str, relpath: str) -> str:
        """Replace project-module prefixes with what those modules export, hop by hop; where a
        factory exports several values, the first (`resolve_all` has them all)."""
        return self.resolve_all(target, relpath)[0]

    def resolve_all(self, target: str, relpath: str) -> Tuple[str, ...]:
        """Every path `target` may resolve to, `resolve`'s first: a factory that returns a
        different client class per provider leads to each. Remembered per absolute path: the
        call graph asks for the same names from every file."""
        start = self.absolute(target, relpath)
        found = self._resolved.get(start)
        if found is None:
            found = self._resolved[start] = tuple(self._resolve_absolute(start, 0))
        return found

    def _resolve_absolute(self, current: str, hops: int) -> List[str]:
        while hops < _MAX_HOPS and sdk_root(current) is None:
            steps = self._steps(current)
            if not steps:
                break
            hops += 1
            if len(steps) > 1:
                return list(self._branches(tuple(steps), hops))
            current = steps[0]
        return [current]

    def _branches(self, steps: Tuple[str, ...], hops: int) -> Tuple[str, ...]:
        """Where a factory exports several values: the paths each resolves to, in order, at most
        MAX_ALTERNATIVES. Remembered by the branch and the hops left, so factories whose values
        are other factories (the same ones again at every hop) cost their number, not its power."""
        key = (steps, hops)
        found = self._branched.get(key)
        if found is None:
            out: List[str] = []
            for step in steps:
                out.extend(p for p in self._resolve_absolute(step, hops) if p not in out)
                if len(out) >= MAX_ALTERNATIVES:
                    break
            found = self._branched[key] = tuple(out[:MAX_ALTERNATIVES])
        return found

    def constant(self, target: str, relpath: str) -> Tuple[Optional[str], Optional[str]]:
        """The literal string a value path names in another project module (`config.MODEL`,
        `settings.model`), following re-exports, and the environment variable it is the default
        of, if any; (None, None) when it is not a literal there."""
        current = self.absolute(target, relpath)
        for _ in range(_MAX_HOPS):  # a constant first: `os.getenv(...)` is also an exported value
            segments = current.split(".")
            for cut in range(len(segments) - 1, 0, -1):
                module = ".".join(segments[:cut])
                owner = None if "(" in module else self.file_for_module(module)
                if owner is not None:
                    key = ".".join(segments[cut:])
                    if key in self._constants.get(owner, {}):
                        return self._constants[owner][key], self._env.get(owner, {}).get(key)
                    break
            steps = self._steps(current)
            if not steps:
                return None, None
            current = steps[0]
        return None, None

    def _steps(self, path: str) -> List[str]:
        """The path with its longest exported prefix replaced, once per exported value (none
        when no project module exports a prefix of it)."""
        segments = path.split(".")
        for cut in range(len(segments) - 1, 0, -1):
            module = ".".join(segments[:cut])
            if "(" in module:
                continue
            relpath = self.file_for_module(module)
            if relpath is None:
                continue
            rest = segments[cut:]
            exports = self._exports.get(relpath, {})
            for take in range(len(rest), 0, -1):
                key = ".".join(rest[:take])
                if key in exports:
                    return [".".join([self._exported(value, relpath)] + rest[take:]) for value in exports[key]]
                if key.endswith("()") and key[:-2] in exports:  # an exported class or factory, called
                    return [".".join([self._exported(value, relpath) + "()"] + rest[take:]) for value in exports[key[:-2]]]
            return []
        return []

    def _exported(self, value: ExportValue, relpath: str) -> str:
        """An exported value as an absolute path: an instance of the module's own class is
        `module.Class()`, as the call graph names a class called."""
        if isinstance(value, LocalInstance):
            return f"{module_name(relpath)}.{value.qualname}()"
        return self.absolute(value, relpath)


def build_sites(facts: Dict[str, FileFacts]) -> Tuple[ProjectIndex, Tuple[CallSite, ...]]:
    """Every raw call that resolves to an LLM operation, in path and position order."""
    index = ProjectIndex(facts)
    sites: List[CallSite] = []
    seen: Set[Tuple[str, Span, str, str, str]] = set()
    for relpath in sorted(facts):
        for call in facts[relpath].calls:
            target = call.target
            if not isinstance(target, str):
                continue  # a call on a parameter: the call graph resolves it from the callers
            call = _with_models(call, index, relpath)
            resolved = index.resolve(target, relpath)
            op = classify(resolved, call.request, call.first_arg)
            # A receiver that may be either of one provider's clients (`OpenAI()` or
            # `AzureOpenAI()` by configuration) is one site: the first client names it.
            if op is not None and (relpath, call.span, op.provider, op.kind, op.method) not in seen:
                seen.add((relpath, call.span, op.provider, op.kind, op.method))
                sites.append(CallSite(relpath, call, op))
    return index, tuple(sites)


def _with_models(call: RawCall, index: ProjectIndex, relpath: str) -> RawCall:
    """The call with models named through another module's constants filled in."""

    def fill(request: RequestFacts) -> RequestFacts:
        if request.model is not None or request.model_ref is None:
            return request
        model, env = index.constant(request.model_ref, relpath)
        return replace(request, model=model, model_env=env) if model is not None else request

    batch = call.batch
    if batch is not None and any(r.params is not None and r.params.model_ref for r in batch.requests):
        requests = tuple(replace(r, params=fill(r.params)) if r.params is not None else r for r in batch.requests)
        batch = replace(batch, requests=requests)
    request = fill(call.request)
    if request is call.request and batch is call.batch:
        return call
    return replace(call, request=request, batch=batch)
