"""From a manifest's command to the project code it runs.

`python path/x.py` runs that file's `__main__` block and top level; `python -m pkg.mod` the
module (or the package's `__main__.py`); a console script its declared function; `pytest
[paths]` the test functions under those paths; `make target` the target's recipe, one level.
"""

from __future__ import annotations

import os
import posixpath
from typing import Dict, List, NamedTuple, Tuple

from whowaits.core import FileFacts, ManifestEntry
from whowaits.index import ProjectIndex
from whowaits.manifests import Manifests
from whowaits.manifests.commands import Invocation, invocations

FuncKey = Tuple[str, str]


class Target(NamedTuple):
    """A function a command runs, how it reaches it, and the subcommand it names there (the
    word after the script, module or console script; "" when none is known)."""

    key: FuncKey
    how: str
    subcommand: str = ""


def _relative(path: str) -> str:
    """`./a/../b.py` -> `b.py`; paths that climb out of the project stay unresolvable."""
    path = posixpath.normpath(path)
    return "" if path.startswith("..") else path


class CommandResolver:
    def __init__(self, facts: Dict[str, FileFacts], index: ProjectIndex, manifests: Manifests) -> None:
        self.facts = facts
        self.index = index
        self.manifests = manifests

    def runs_python(self, entry: ManifestEntry) -> bool:
        """Whether a command visibly runs Python (a script, a module or pytest), or the
        manifest names a Python handler."""
        return entry.function.split(":")[0].endswith(".py") or any(inv.kind in ("script", "module", "pytest") for inv in invocations(entry.command, entry.cwd))

    def resolve(self, entry: ManifestEntry) -> List[Target]:
        if entry.function:
            relpath, _, function = entry.function.partition(":")
            facts = self.facts.get(relpath)
            if facts is not None and any(fn.qualname == function for fn in facts.functions):
                return [Target((relpath, function), "handler")]
            return []
        out: List[Target] = []
        for inv in invocations(entry.command, entry.cwd):
            out.extend(self._resolve(inv, make_depth=0))
        return out

    def _resolve(self, inv: Invocation, make_depth: int) -> List[Target]:
        if inv.kind == "script":
            path = _relative(posixpath.join(inv.cwd, inv.target)) if not inv.target.startswith("/") else ""
            return self._script(path, f"runs {path}", inv.subcommand)
        if inv.kind == "module":
            relpath = self._module_file(inv.target, inv.cwd)
            return self._script(relpath, f"runs python -m {inv.target}", inv.subcommand) if relpath else []
        if inv.kind == "console":
            target = self.manifests.console_scripts.get(inv.target)
            if not target or ":" not in target:
                return []
            module, _, function = target.partition(":")
            relpath = self._module_file(module, "")
            key = (relpath, function.strip()) if relpath else None
            if key and any(fn.qualname == key[1] for fn in self.facts[key[0]].functions):
                return [Target(key, f"runs console script {inv.target} = {target}", inv.subcommand)]
            return []
        if inv.kind == "pytest":
            return self._tests(inv)
        if inv.kind == "make" and make_depth == 0:
            targets = self.manifests.makefiles.get(inv.cwd) or self.manifests.makefiles.get("", {})
            found = targets.get(inv.target)
            if not found:
                return []
            out: List[Target] = []
            for sub in invocations(found[1], inv.cwd):
                out.extend(t._replace(how=f"make {inv.target}: {t.how}") for t in self._resolve(sub, make_depth + 1))
            return out
        return []

    def _script(self, relpath: str, note: str, subcommand: str) -> List[Target]:
        facts = self.facts.get(relpath)
        if facts is None:
            return []
        out: List[Target] = [Target((relpath, "<module>"), note, subcommand)]
        if facts.main_line:
            out.append(Target((relpath, "<main>"), note, subcommand))
        return out

    def _module_file(self, module: str, cwd: str) -> str:
        for candidate in (posixpath.join(cwd, module.replace(".", "/")).replace("/", ".") if cwd else "", module):
            if not candidate:
                continue
            relpath = self.index.file_for_module(candidate)
            if relpath is None:
                continue
            if relpath.endswith("__init__.py"):
                main = relpath[: -len("__init__.py")] + "__main__.py"
                return main if main in self.facts else relpath
            return relpath
        return ""

    def _tests(self, inv: Invocation) -> List[Target]:
        prefixes = [posixpath.normpath(posixpath.join(inv.cwd, p)) for p in inv.paths] or [inv.cwd]
        out: List[Target] = []
        for relpath, facts in sorted(self.facts.items()):
            name = os.path.basename(relpath)
            if not (name.startswith("test_") or name.endswith("_test.py")):
                continue
            if not any(p in ("", ".") or relpath == p or relpath.startswith(p.rstrip("/") + "/") for p in prefixes):
                continue
            for fn in facts.functions:
                if fn.qualname.split(".")[-1].startswith("test"):
                    out.append(Target((relpath, fn.qualname), f"pytest collects {relpath}::{fn.qualname}"))
        return out
