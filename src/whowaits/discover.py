"""Find the files to analyse: walk folders, honour ignore files, and pre-filter by text.

The pre-filter is the first speed lever: only files whose bytes mention an LLM SDK, plus the
project files that import those modules (transitively), are parsed at all.
"""

from __future__ import annotations

import fnmatch
import functools
import operator
import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

from whowaits.core import SourceFile

# Folders nobody wants linted (the same spirit as ruff's defaults).
DEFAULT_EXCLUDES: Tuple[str, ...] = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".mypy_cache",
    ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache", ".svn", ".tox",
    ".venv", ".vscode", "__pypackages__", "__pycache__", "_build", "buck-out", "build", "dist",
    "node_modules", "site-packages", "venv", ".whowaits_cache",
)
ROOT_MARKERS: Tuple[str, ...] = ("pyproject.toml", "whowaits.toml", "setup.py", "setup.cfg", ".git")


class _Screened:
    """A regex run only on bytes that pass one of its screens, each implied by every match.

    Python's regex engine scans an alternation of words at about 20 MB/s, while `in` on bytes
    runs at memory speed, and so does a regex every match of which starts with the same byte or
    two (the engine jumps from one occurrence of them to the next, and most fail right after).
    So a screen is a substring (a word every match of one branch holds) or such a regex, one
    pass for a whole group (`.` before the SDK's method paths, `ai` in `openai`, `genai`...,
    the hyphen after a model family). Every file of a tree is screened, so the screens are few.
    Passing a screen never decides anything: the regex does.

    Built on first use: a run served from the run cache reads no file, and the tables the
    regex comes from (the provider records) cost an import."""

    def __init__(self, build: "Callable[[], Screens]") -> None:
        self._build = build

    @functools.cached_property
    def _parts(self) -> "Screens":
        return self._build()

    def search(self, data: bytes) -> "Optional[re.Match[bytes]]":
        pattern, words, quick = self._parts
        for word in words:
            if word in data:
                return pattern.search(data)
        for screen in quick:
            if screen.search(data):
                return pattern.search(data)
        return None


# (the regex, the substrings that screen it, the regexes that screen it)
Screens = Tuple["re.Pattern[bytes]", Tuple[bytes, ...], Tuple["re.Pattern[bytes]", ...]]


def _sdk_mention() -> Screens:
    """An SDK named, or an SDK-shaped method called on any receiver (a client passed in as a
    parameter), derived from the provider records: each SDK module's own name (its last part
    for a namespace package: `google.genai` -> `genai`), the services of clients that carry one
    (`boto3.client("bedrock-runtime")`), the host of each provider's HTTP endpoints, and the
    last two parts of every dotted method path.

    Screens: the words (`_word_screens`), but not one that holds another (`langchain_openai`
    holds `openai`, a host its provider's name); and the method paths as their own regex, which
    starts with `.`."""
    from whowaits.knowledge.providers import PROVIDERS
    from whowaits.knowledge.sdk import METHOD_TAILS

    words: Set[str] = set()
    for provider in PROVIDERS.values():
        for module in provider.modules:
            services = {c.service for c in provider.clients if c.module == module and c.service}
            words |= services or {module.split(".")[-1]}
        if any(c.endpoints for c in provider.clients):
            words.add(provider.hosts[0])
    shapes = {".".join(tail.split(".")[-2:]) for tail in METHOD_TAILS if "." in tail and "(" not in tail}
    # `.batches.(?:cancel|create|...)`: after each `.` the engine tries a branch per first part,
    # not one per method path (a handful instead of dozens).
    lasts: Dict[str, List[str]] = {}
    for shape in sorted(shapes):
        first, _, last = shape.partition(".")
        lasts.setdefault(first, []).append(last)
    called = rb"\.(?:" + b"|".join(
        re.escape(first.encode()) + rb"\.(?:" + b"|".join(re.escape(last.encode()) for last in names) + b")"
        for first, names in lasts.items()) + rb")\b"
    pattern = re.compile(rb"\b(?:" + b"|".join(re.escape(w.encode()) for w in sorted(words)) + rb")\b|" + called)
    screens: List[bytes] = []
    for word in sorted((w.encode() for w in words), key=lambda w: (len(w), w)):
        if not any(shorter in word for shorter in screens):
            screens.append(word)
    alone, grouped = _word_screens(screens)
    return pattern, alone, (*grouped, re.compile(called))


def _word_screens(words: Sequence[bytes]) -> Tuple[Tuple[bytes, ...], Tuple["re.Pattern[bytes]", ...]]:
    """Screens for `words`: the words that hold the two bytes most of them hold (`ai`: `openai`,
    `genai`, `vertexai`...) as one regex that stops at each occurrence of those two bytes and
    looks back and ahead for the rest of one of them, when at least three hold it (one pass for
    them all; for fewer, a substring test each costs no more); the other words as substrings."""
    held = Counter(pair for word in words for pair in {word[i:i + 2] for i in range(len(word) - 1)})
    if not held or max(held.values()) < 3:
        return tuple(words), ()
    pair = max(held, key=lambda p: (held[p], p))
    branches = []
    for word in (w for w in words if pair in w):
        end = word.index(pair) + 2
        branches.append(b"(?<=" + re.escape(word[:end]) + b")" + re.escape(word[end:]))
    return tuple(w for w in words if pair not in w), (re.compile(re.escape(pair) + b"(?:" + b"|".join(branches) + b")"),)


SDK_MENTION = _Screened(_sdk_mention)


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
        # built once, since every file of the folder is tested against every rule.
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


Matcher = Callable[[str], object]  # truthy when the subject matches

_WILDCARDS = re.compile(r"[*?\[]")


def _glob(pattern: str) -> Matcher:
    """`fnmatch.fnmatchcase(subject, pattern)` as one test. Most lines of an ignore file are a
    name (`.env`) or a suffix (`*.log`): those are string comparisons, and only the rest costs
    a regex compiled per run (a tree's ignore files hold hundreds of lines)."""
    if not _WILDCARDS.search(pattern):
        return pattern.__eq__
    suffix = pattern[1:]
    if pattern.startswith("*") and not _WILDCARDS.search(suffix):
        return lambda subject: subject.endswith(suffix)
    return re.compile(fnmatch.translate(pattern)).match


_NAME = operator.attrgetter("name")


def _is_file(entry: "os.DirEntry[str]") -> bool:
    """`os.path.isfile` of the entry's path: an error is a no."""
    try:
        return entry.is_file()
    except OSError:
        return False


def _is_symlink(entry: "os.DirEntry[str]") -> bool:
    """`os.path.islink` of the entry's path: an error is a no."""
    try:
        return entry.is_symlink()
    except OSError:
        return False


def _ignored(ignores: Sequence[_GitIgnore], path: str, is_dir: bool) -> bool:
    """The nearest ignore file with a rule for `path` decides (ignores: outermost first)."""
    decision: Optional[bool] = None
    for rules in ignores:
        verdict = rules.decide(path[len(rules.base) + 1:].replace(os.sep, "/"), is_dir)
        if verdict is not None:
            decision = verdict
    return decision is True


class Walk(NamedTuple):
    """What a walk found, and what its outcome depends on besides those files: `watched` holds
    the folders it listed and the ignore files it met (relative to the root). A folder's
    modification time changes when an entry is added, removed or renamed in it, so while none of
    these and none of the files change, walking again would find the same (the run cache
    checks that instead of walking)."""

    files: List[SourceFile]
    problems: List[Unreadable]
    watched: List[str]


def walk(
    root: str,
    paths: Sequence[str],
    excludes: Sequence[str] = (),
    accept: Callable[[str], bool] = lambda relpath: relpath.endswith(".py"),
) -> Walk:
    """Every file `accept`s (by default `.py` files) under `paths`; named files always count.

    Folders are listed with `os.scandir`, whose entries know whether they are files, folders
    or symlinks without a `stat` each, in sorted order, parents before children."""
    files: Dict[str, SourceFile] = {}
    problems: List[Unreadable] = []
    watched: List[str] = []
    root = os.path.abspath(root)
    prefix = os.path.join(root, "")

    def rel(path: str) -> str:
        relpath = path[len(prefix):] if path.startswith(prefix) else os.path.relpath(path, root)
        return relpath.replace(os.sep, "/")

    def excluded(relpath: str, name: str) -> bool:
        return name in DEFAULT_EXCLUDES or bool(excludes) and any(
            fnmatch.fnmatchcase(relpath, pat.rstrip("/")) or fnmatch.fnmatchcase(name, pat.rstrip("/"))
            or relpath.startswith(pat.rstrip("/") + "/")
            for pat in excludes
        )

    def add(path: str, relpath: str, named: bool = False, entry: "Optional[os.DirEntry[str]]" = None) -> None:
        # A listed entry knows whether it is a regular file (through a symlink or not) and a
        # symlink without a stat of its own.
        regular, link = (_is_file(entry), _is_symlink(entry)) if entry else (os.path.isfile(path), os.path.islink(path))
        if not regular and not os.path.exists(path):
            problems.append(Unreadable(relpath, "broken symlink" if os.path.islink(path) else "no such file"))
        elif not regular:
            problems.append(Unreadable(relpath, "not a regular file"))
        elif not os.access(path, os.R_OK):
            problems.append(Unreadable(relpath, "permission denied"))
        elif not named and link and not inside(root, path):
            problems.append(Unreadable(relpath, "symlink to a file outside the project root"))
        else:
            files.setdefault(relpath, SourceFile(path, relpath))

    for given in paths:
        given = os.path.abspath(given)
        if not os.path.isdir(given):
            add(given, rel(given), named=True)
            continue
        # (folder, its path from the root, the ignore files that apply in it, nearest last)
        stack: List[Tuple[str, str, Tuple[_GitIgnore, ...]]] = [(given, rel(given), ())]
        while stack:
            folder, folder_rel, ignores = stack.pop()
            watched.append(folder_rel)
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=_NAME)
            except OSError as exc:
                where = exc.filename if isinstance(exc.filename, str) else folder
                problems.append(Unreadable(rel(where), f"cannot list folder: {exc.strerror or exc}"))
                continue
            base = "" if folder_rel == "." else folder_rel + "/"
            gitignore = next((e for e in entries if e.name == ".gitignore"), None)
            if gitignore is not None:
                watched.append(base + ".gitignore")  # also when unreadable: it may become readable
                if _is_file(gitignore):
                    try:
                        with open(gitignore.path, encoding="utf-8", errors="replace") as fh:
                            ignores += (_GitIgnore(folder, fh),)
                    except OSError:
                        pass
            subfolders = []
            for entry in entries:
                relpath = base + entry.name
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    if not (excluded(relpath, entry.name) or _ignored(ignores, entry.path, True) or entry.is_symlink()):
                        subfolders.append((entry.path, relpath, ignores))
                elif accept(relpath) and not excluded(relpath, entry.name) and not _ignored(ignores, entry.path, False):
                    add(entry.path, relpath, entry=entry)
            stack.extend(reversed(subfolders))
    return Walk(sorted(files.values(), key=lambda s: s.relpath), problems, watched)


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
    definitions = _client_definitions()
    first_names = {root[0] for root in definitions}
    for path in contents:
        folders = path.split("/")[:-1]
        if first_names.isdisjoint(folders):  # nearly every path: no folder named like an SDK
            continue
        for root, defines in definitions.items():
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


@functools.lru_cache(maxsize=1)
def _client_definitions() -> "Dict[Tuple[str, ...], re.Pattern[bytes]]":
    """SDK module path (`("google", "genai")`) -> `class <one of its client classes>`, from the
    provider records; an SDK without a client class of its own (boto3's are services) has none."""
    from whowaits.knowledge.sdk import CLIENT_CLASSES, SDK_MODULES

    return {
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
    if b".py" in data:  # a substring test first: most files run no script and no module
        words.update(_RUN_SCRIPT.findall(data))
    if b"-m" in data:
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


@functools.lru_cache(maxsize=1)
def _model_constant() -> "Tuple[_Screened, re.Pattern[bytes]]":
    """(a model id's prefix quoted anywhere, a model id as a constant's value): the first, behind
    its screen, rejects nearly every file before the line-anchored second one runs.

    Every prefix ends with a hyphen (`claude-`), a byte in seven hundred of Python source, so
    the screen is one regex that stops at each hyphen and looks back for a prefix: one pass for
    all prefixes."""
    from whowaits.cost import model_prefixes

    prefixes = b"|".join(re.escape(p.encode()) for p in model_prefixes())
    literal = rb"""[rRbBuU]?["'](?:""" + prefixes + rb")"
    quoted = re.compile(rb"""["'](?:""" + prefixes + rb")")
    hyphen = re.compile(b"-(?:" + b"|".join(b"(?<=" + re.escape(p.encode()) + b")" for p in model_prefixes()) + b")")
    return _Screened(lambda: (quoted, (), (hyphen,))), re.compile(
        rb"^[ \t]*[A-Za-z_][\w.]*[ \t]*(?::[^=\n]+)?=[ \t]*" + literal
        + rb"""|(?:getenv|environ\.get|environ\.setdefault)\(\s*["'][^"'\n]*["']\s*,\s*""" + literal,
        re.MULTILINE,
    )
