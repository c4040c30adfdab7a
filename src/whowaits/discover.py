"""Find the files to analyse: walk folders, honour ignore files, and pre-filter by text.

The pre-filter is the first speed lever: only files whose bytes mention an LLM SDK, plus the
project files that import those modules (transitively), are parsed at all.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from whowaits.core import SourceFile
from whowaits.knowledge.providers import PROVIDERS
from whowaits.knowledge.sdk import CLIENT_CLASSES, METHOD_TAILS, SDK_MODULES

# Folders nobody wants linted (the same spirit as ruff's defaults).
DEFAULT_EXCLUDES: Tuple[str, ...] = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".mypy_cache",
    ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache", ".svn", ".tox",
    ".venv", ".vscode", "__pypackages__", "__pycache__", "_build", "buck-out", "build", "dist",
    "node_modules", "site-packages", "venv", ".whowaits_cache",
)
ROOT_MARKERS: Tuple[str, ...] = ("pyproject.toml", "whowaits.toml", "setup.py", "setup.cfg", ".git")


class _Mention:
    """A regex over words and method shapes, behind a plain substring test for each: `in` on
    bytes runs at memory speed, the regex (an alternation with word boundaries, which Python
    cannot scan for quickly) only on the few files that hold one of them."""

    def __init__(self, words: Set[str], shapes: Set[str]) -> None:
        self.anchors = tuple(sorted({w.encode() for w in words} | {b"." + s.encode() for s in shapes}))
        self.pattern = re.compile(
            rb"\b(?:" + b"|".join(re.escape(w.encode()) for w in sorted(words)) + rb")\b"
            + rb"|\.(?:" + b"|".join(re.escape(s.encode()) for s in sorted(shapes)) + rb")\b"
        )

    def search(self, data: bytes) -> "Optional[re.Match[bytes]]":
        if not any(anchor in data for anchor in self.anchors):
            return None
        return self.pattern.search(data)


def _sdk_mention() -> _Mention:
    """An SDK named, or an SDK-shaped method called on any receiver (a client passed in as a
    parameter), derived from the provider records: each SDK module's own name (its last part
    for a namespace package: `google.genai` -> `genai`), the services of clients that carry one
    (`boto3.client("bedrock-runtime")`), the host of each provider's HTTP endpoints, and the
    last two parts of every dotted method path."""
    words: Set[str] = set()
    for provider in PROVIDERS.values():
        for module in provider.modules:
            services = {c.service for c in provider.clients if c.module == module and c.service}
            words |= services or {module.split(".")[-1]}
        if any(c.endpoints for c in provider.clients):
            words.add(provider.hosts[0])
    shapes = {".".join(tail.split(".")[-2:]) for tail in METHOD_TAILS if "." in tail and "(" not in tail}
    return _Mention(words, shapes)


SDK_MENTION = _sdk_mention()


@dataclass(frozen=True)
class Unreadable:
    """A path that was found but cannot be read (broken symlink, permissions)."""

    relpath: str
    reason: str


def find_root(paths: Sequence[str]) -> str:
    """The project root: the nearest folder at or above the given paths holding a project marker.

    Without one, the given folder itself (for a file, its folder; for several paths, the
    folder they share). Never the working folder for its own sake: a tree checked from an
    ancestor must not pick up that ancestor's manifests, cache or files.
    """
    folders = []
    for given in paths or ["."]:
        current = os.path.abspath(given)
        folders.append(current if os.path.isdir(current) else os.path.dirname(current))
    start = os.path.commonpath(folders)
    return nearest_holding(start, ROOT_MARKERS) or start


def nearest_holding(start: str, markers: Sequence[str]) -> Optional[str]:
    """The nearest folder at or above `start` that holds one of `markers`, or None."""
    probe = os.path.abspath(start)
    while True:
        if any(os.path.exists(os.path.join(probe, marker)) for marker in markers):
            return probe
        parent = os.path.dirname(probe)
        if parent == probe:
            return None
        probe = parent


def inside(root: str, path: str) -> bool:
    """`path`, symlinks resolved, lies in `root` (also resolved): the walk never leaves it."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


class _GitIgnore:
    """The subset of gitignore that matters for source trees: globs, `/` anchors, `!`, dir-only."""

    def __init__(self, base: str, lines: Iterable[str]) -> None:
        self.base = base
        # (pattern's matcher, matcher of what follows a leading `**/`, negate, dir_only, anchored):
        # compiled once, since every file of the folder is tested against every rule.
        self.rules: List[Tuple[Matcher, Optional[Matcher], bool, bool, bool]] = []
        for raw in lines:
            line = raw.rstrip("\n").rstrip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            if negate:
                line = line[1:]
            dir_only = line.endswith("/")
            line = line.strip("/") if dir_only else line
            anchored = "/" in line.rstrip("/")
            line = line.lstrip("/")
            if line:
                tail = _glob(line[3:]) if line.startswith("**/") else None
                self.rules.append((_glob(line), tail, negate, dir_only, anchored))

    def decide(self, relpath: str, is_dir: bool) -> Optional[bool]:
        """True = ignored, False = re-included, None = no rule matched."""
        result: Optional[bool] = None
        name = relpath.rsplit("/", 1)[-1]
        for matches, tail, negate, dir_only, anchored in self.rules:
            if dir_only and not is_dir:
                continue
            if matches(relpath if anchored else name) or (tail is not None and tail(name)):
                result = not negate
        return result


Matcher = Callable[[str], Optional["re.Match[str]"]]


def _glob(pattern: str) -> Matcher:
    """`fnmatch.fnmatchcase(subject, pattern)` as one compiled regex's match."""
    return re.compile(fnmatch.translate(pattern)).match


def walk(
    root: str,
    paths: Sequence[str],
    excludes: Sequence[str] = (),
    accept: Callable[[str], bool] = lambda relpath: relpath.endswith(".py"),
) -> Tuple[List[SourceFile], List[Unreadable]]:
    """Every file `accept`s (by default `.py` files) under `paths`; named files always count."""
    files: Dict[str, SourceFile] = {}
    problems: List[Unreadable] = []
    root = os.path.abspath(root)

    prefix = os.path.join(root, "")

    def rel(path: str) -> str:
        # os.walk joins onto the absolute root, so the common case is a prefix to cut.
        relpath = path[len(prefix):] if path.startswith(prefix) else os.path.relpath(path, root)
        return relpath.replace(os.sep, "/")

    def excluded(relpath: str, name: str) -> bool:
        return name in DEFAULT_EXCLUDES or any(
            fnmatch.fnmatchcase(relpath, pat.rstrip("/")) or fnmatch.fnmatchcase(name, pat.rstrip("/"))
            or relpath.startswith(pat.rstrip("/") + "/")
            for pat in excludes
        )

    def add(path: str, named: bool = False) -> None:
        if not os.path.exists(path):
            problems.append(Unreadable(rel(path), "broken symlink" if os.path.islink(path) else "no such file"))
        elif not os.path.isfile(path):
            problems.append(Unreadable(rel(path), "not a regular file"))
        elif not os.access(path, os.R_OK):
            problems.append(Unreadable(rel(path), "permission denied"))
        elif not named and os.path.islink(path) and not inside(root, path):
            problems.append(Unreadable(rel(path), "symlink to a file outside the project root"))
        else:
            files.setdefault(rel(path), SourceFile(os.path.abspath(path), rel(path)))

    for given in paths:
        given = os.path.abspath(given)
        if not os.path.isdir(given):
            add(given, named=True)
            continue
        ignores: Dict[str, _GitIgnore] = {}

        def unlistable(exc: OSError) -> None:
            where = exc.filename if isinstance(exc.filename, str) else given
            problems.append(Unreadable(rel(where), f"cannot list folder: {exc.strerror or exc}"))

        for dirpath, dirnames, filenames in os.walk(given, onerror=unlistable):
            gi = os.path.join(dirpath, ".gitignore")
            if os.path.isfile(gi):
                try:
                    with open(gi, encoding="utf-8", errors="replace") as fh:
                        ignores[dirpath] = _GitIgnore(dirpath, fh)
                except OSError:
                    pass

            def ignored(path: str, is_dir: bool) -> bool:
                decision: Optional[bool] = None
                for base, rules in ignores.items():
                    if path.startswith(base + os.sep):
                        sub = path[len(base) + 1:].replace(os.sep, "/")
                        verdict = rules.decide(sub, is_dir)
                        if verdict is not None:
                            decision = verdict
                return bool(decision)

            kept = []
            for d in sorted(dirnames):
                full = os.path.join(dirpath, d)
                if excluded(rel(full), d) or ignored(full, True) or os.path.islink(full):
                    continue
                kept.append(d)
            dirnames[:] = kept
            for f in sorted(filenames):
                full = os.path.join(dirpath, f)
                if not accept(rel(full)):
                    continue
                if excluded(rel(full), f) or ignored(full, False):
                    continue
                add(full)
    return sorted(files.values(), key=lambda s: s.relpath), problems


def module_stem(relpath: str) -> str:
    """The import name a file is most likely known by (`pkg/llm.py` -> `llm`)."""
    stem = relpath.rsplit("/", 1)[-1][:-3]
    if stem == "__init__":
        parts = relpath.split("/")
        return parts[-2] if len(parts) > 1 else stem
    return stem


_IMPORT_LINE = re.compile(
    rb"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+\(?([\w., \t]*)|import[ \t]+([\w., \t]+))", re.MULTILINE
)


def imported_stems(data: bytes) -> Set[str]:
    """Last names of the modules (and members, which may be modules) a file's imports name."""
    out: Set[str] = set()
    for match in _IMPORT_LINE.finditer(data):
        module, names, plain = match.groups()
        words = []
        if plain is not None:
            words = [w.split()[0] for w in plain.split(b",") if w.strip()]
        else:
            words = [module] + [w.split()[0] for w in names.split(b",") if w.strip()]
        out.update(w.rstrip(b".").rsplit(b".", 1)[-1].decode("ascii", "replace") for w in words if w.strip(b"."))
    return out


def prefilter(contents: Dict[str, bytes]) -> Set[str]:
    """Files that mention an LLM SDK, plus files that import those modules (to a fixpoint),
    plus the project modules all of those import.

    Callers lead to entry points; callees matter too: a helper module that never mentions an
    SDK (`common.map_parallel(fn, items)` over a thread pool) still decides whether a call
    runs once per item. The import check is a text match on the module's last name, so it
    over-includes rather than misses; the parse decides.

    The SDK's own source, when the tree holds it (the SDK's repository, a vendored copy), is
    left out: see `sdk_package_files`.
    """
    sdk_own = sdk_package_files(contents)
    project = {path: data for path, data in contents.items() if path not in sdk_own}
    selected = _importers({path for path, data in project.items() if SDK_MENTION.search(data)}, project)
    selected |= {path for path in project if path.rsplit("/", 1)[-1] == "conftest.py"}  # fixtures that fake the API
    by_stem: Dict[str, List[str]] = {}
    for path in project:
        by_stem.setdefault(module_stem(path), []).append(path)
    frontier = set(selected)
    for _ in range(6):  # callees of callees: `common.map_parallel` wraps `pool.imap`
        stems = set().union(*(imported_stems(project[p]) for p in frontier)) if frontier else set()
        frontier = {p for stem in stems for p in by_stem.get(stem, ()) if p not in selected}
        if not frontier:
            break
        selected |= frontier
    return selected


def sdk_package_files(contents: Dict[str, bytes]) -> Set[str]:
    """Files of an SDK's own source in the tree (the SDK's repository, a vendored copy).

    That is a top-level package named like an SDK module (`anthropic/`, `google/genai/`) that
    defines one of the SDK's client classes (`class Anthropic`): such a package shadows the SDK
    and is it. Its calls are the provider's plumbing, its API is what the provider records
    describe, and following its internals would only cost time. A folder of that name inside a
    project package (`app/providers/openai/`), or one that only uses the SDK (an examples
    folder), is the project's own.
    """
    packages: Dict[str, Tuple["re.Pattern[bytes]", List[str]]] = {}  # folder -> (its client classes, its files)
    for path in contents:
        folders = path.split("/")[:-1]
        for root, defines in _CLIENT_DEFINITIONS.items():
            for i in range(len(folders) - len(root) + 1):
                if tuple(folders[i:i + len(root)]) != root:
                    continue
                parent = "/".join(folders[:i])
                package = "/".join(folders[:i + len(root)])
                if (parent + "/__init__.py").lstrip("/") not in contents and package + "/__init__.py" in contents:
                    packages.setdefault(package, (defines, []))[1].append(path)
    out: Set[str] = set()
    for defines, files in packages.values():
        if any(defines.search(contents[f]) for f in files):
            out.update(files)
    return out


# SDK module path (`("google", "genai")`) -> `class <one of its client classes>`, from the
# provider records; an SDK without a client class of its own (boto3's are services) has none.
_CLIENT_DEFINITIONS: Dict[Tuple[str, ...], "re.Pattern[bytes]"] = {
    tuple(module.split(".")): re.compile(
        rb"^[ \t]*class[ \t]+(?:" + b"|".join(re.escape(n.encode()) for n in sorted(names)) + rb")\b", re.MULTILINE)
    for module in SDK_MODULES
    if (names := {name for root, name in CLIENT_CLASSES if root == module and name.isidentifier()})
}


# A line that imports (`import a.b as c`, `from .a.b import c, d`), and how a file names another
# it runs as a process: `subprocess.run([sys.executable, "jobs/step.py"])`, `python -m jobs.step`.
_IMPORT_STATEMENT = re.compile(rb"^[^\S\n]*(?:from[^\S\n]+[\w.]+[^\S\n]+import\b|import[^\S\n]+)[^\n]*", re.MULTILINE)
_RUN_SCRIPT = re.compile(rb"""["'/\\]([\w\x80-\xff]+)\.py\b""")
_RUN_MODULE = re.compile(rb"""-m\s*["',\s]+([\w\x80-\xff.]+)""")
_WORD = re.compile(rb"[\w\x80-\xff]+")  # a module name's bytes: UTF-8 letters count


def _import_words(data: bytes) -> Set[bytes]:
    """Every word on a file's import lines, and the module and script names it runs: a module is
    imported or run by the file when its stem is one of them (a text match, so it over-includes:
    `import x as llm` names `llm` too; the parse decides)."""
    words: Set[bytes] = set()
    for line in _IMPORT_STATEMENT.findall(data):
        words.update(_WORD.findall(line))
    words.update(_RUN_SCRIPT.findall(data))
    for dotted in _RUN_MODULE.findall(data):
        words.update(dotted.split(b"."))
    return words


def _importers(selected: Set[str], contents: Dict[str, bytes]) -> Set[str]:
    """`selected` and the files that import or run one of them, to a fixpoint."""
    words: Dict[str, Set[bytes]] = {}
    frontier = set(selected)
    for _ in range(6):
        stems = {s.encode() for s in (module_stem(p) for p in frontier) if s.isidentifier()} - {b"__init__"}
        if not stems:
            break
        if not words:
            words = {path: _import_words(data) for path, data in contents.items() if path not in selected}
        frontier = {path for path, named in words.items() if path not in selected and not stems.isdisjoint(named)}
        if not frontier:
            break
        selected |= frontier
    # Modules that name a model in a constant (`MODEL = "claude-..."`, or as the default of an
    # environment variable): a call elsewhere that passes `model=config.MODEL` is priced with it.
    # They add no importers of their own.
    named, constant = _model_constant()
    selected |= {path for path, data in contents.items() if named.search(data) and constant.search(data)}
    return selected


@lru_cache(maxsize=1)
def _model_constant() -> "Tuple[re.Pattern[bytes], re.Pattern[bytes]]":
    """(a model id's prefix anywhere, a model id as a constant's value): the first is a plain
    alternation that rejects nearly every file before the line-anchored second one runs."""
    from whowaits.cost import model_prefixes

    prefixes = b"|".join(re.escape(p.encode()) for p in model_prefixes())
    literal = rb"""[rRbBuU]?["'](?:""" + prefixes + rb")"
    return re.compile(rb"""["'](?:""" + prefixes + rb")"), re.compile(
        rb"^[ \t]*[A-Za-z_][\w.]*[ \t]*(?::[^=\n]+)?=[ \t]*" + literal
        + rb"""|(?:getenv|environ\.get|environ\.setdefault)\(\s*["'][^"'\n]*["']\s*,\s*""" + literal,
        re.MULTILINE,
    )
