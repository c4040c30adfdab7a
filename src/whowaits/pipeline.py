"""The whole run: discover -> pre-filter -> facts (parallel, cached) -> index -> rules.

`analyze_sources` is the pure core (bytes in, sites and findings out); `analyze` adds the file
system, the cache and the worker processes around it. The CLI only formats what these return.
"""

from __future__ import annotations

import fnmatch
import gc
import hashlib
import os
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from whowaits.cache import FactsCache, content_key
from whowaits.config import Settings, rules_fingerprint
from whowaits.core import CallSite, FileFacts, Finding, RenderedRun, RuleMeta, RunRecord
from whowaits.discover import find_root, prefilter, walk
from whowaits.manifests import Manifests, manifest_kind

# The analysis stages are imported where they run: a re-run served from the run cache stats
# what the last run listed and read and decodes one record, and loads none of them.
if TYPE_CHECKING:
    from concurrent.futures import Executor, ProcessPoolExecutor

    from whowaits.checks import Hit
    from whowaits.contexts import CallGraph
    from whowaits.fixes.process import FixProcess

# Below this many files to parse (or cache entries to decode meanwhile), worker start-up costs
# more than it saves.
_PARALLEL_THRESHOLD = 16


@dataclass
class Options:
    """How to run: the resolved settings plus run-time choices that are not configuration."""

    settings: Settings = field(default_factory=Settings)
    jobs: Optional[int] = None
    use_cache: bool = True
    # When only files are given, analyse the whole project around them (pre-commit passes
    # staged files) and report on those files; False analyses exactly the given paths.
    project_scope: bool = True
    progress: Optional[Callable[[int, int], None]] = None  # (files parsed, files to parse)
    stdin: Optional[Tuple[str, bytes]] = None  # (path, content): an editor's unsaved buffer
    contents: Dict[str, bytes] = field(default_factory=dict)  # relpath -> content to analyse instead (fixes being checked)
    # `check`: offer each finding's fix, and reuse the last run's outcome when nothing it read
    # has changed (the run cache; the call graph is then not rebuilt, so `graph` is None).
    offer_fixes: bool = False
    # Told the files fixes will likely be offered in, as soon as the call sites are known (the
    # fix process parses them while the analysis goes on).
    prepare_fixes: Optional[Callable[[Sequence[str]], None]] = None


@dataclass
class RunResult:
    root: str
    sites: Tuple[CallSite, ...]
    findings: List[Finding]
    files_scanned: int = 0
    files_parsed: int = 0
    report_paths: Optional[List[str]] = field(default=None)
    graph: Optional[CallGraph] = field(default=None)
    baselined: int = 0  # findings hidden because the baseline has them
    unchanged: int = 0  # findings hidden by --changed-since: nothing of their evidence changed
    suppressed: List[Finding] = field(default_factory=list)  # silenced by a comment in the code
    # The run cache's record this result was served from or stored as (None without it): what
    # the run read, for the CLI to keep what it printed beside it (`RenderedRun`).
    record: Optional[RunRecord] = field(default=None)

    @property
    def checked_nothing(self) -> bool:
        """Nothing to check was in the paths given: no Python file (`check README.md`) or, in a
        file list, no CI, cron or deploy file either."""
        return self.report_paths == [] or self.files_scanned == 0


@dataclass
class Analysis:
    """What the pure core computes from per-file facts."""

    sites: Tuple[CallSite, ...]
    findings: List[Finding]
    graph: CallGraph
    suppressed: List[Finding] = field(default_factory=list)  # silenced by a comment in the code


def analyze_sources(
    facts: Dict[str, FileFacts],
    catalog: Dict[str, RuleMeta],
    options: Options,
    root: str = "",
    manifests: Optional[Manifests] = None,
) -> Analysis:
    """Sites, contexts and findings for a set of per-file facts and manifests: no I/O."""
    with _collector_paused():
        return _analyze_sources(facts, catalog, options, root, manifests)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector, paused for a stage that allocates many acyclic
    records while every file's facts are alive (decoding cached facts, the analysis): the
    collector re-scans all live objects each time enough new ones were allocated, and on a
    1,100-file framework those scans were a fifth of a one-file check. Not around the facts stage:
    `facts.extract` pauses the collector for each file itself and collects after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _analyze_sources(
    facts: Dict[str, FileFacts],
    catalog: Dict[str, RuleMeta],
    options: Options,
    root: str,
    manifests: Optional[Manifests],
) -> Analysis:
    settings = options.settings
    manifests = manifests or Manifests()
    from whowaits.checks import Hit, findings_from_hits, fixable_paths, run_checks, selected
    from whowaits.contexts import CallGraph, ContextOverrides, infer as infer_contexts
    from whowaits.core import Project, Span
    from whowaits.cost import estimate, price_table
    from whowaits.index import build_sites
    from whowaits.suppress import apply as apply_suppressions

    index, sites = build_sites(facts)
    if options.prepare_fixes is not None:
        options.prepare_fixes(fixable_paths(Project(root, sites, facts, settings.poll_interval_min), catalog,
                                            settings.selected, settings.ignore))
    graph = CallGraph(facts, index, ContextOverrides(settings.blocking, settings.tolerant), manifests)
    sites = tuple(sorted(sites + tuple(graph.param_sites()), key=lambda s: (s.path, s.line, s.col, s.call.call_id)))
    sites = infer_contexts(graph, sites)
    prices = price_table(settings.prices)
    sites = tuple(replace(site, cost=estimate(site, prices)) for site in sites)
    project = Project(root, sites, facts, settings.poll_interval_min)
    hits = list(run_checks(project, catalog, settings.selected, settings.ignore))
    problems = [(path, f"file not analyzed: {f.error}") for path, f in facts.items() if f.error is not None and not f.error_line]
    problems += manifests.problems
    if selected("WW000", settings.selected, settings.ignore):
        hits += [Hit("WW000", path, Span(1, 1, 1, 1), reason, reason) for path, reason in problems]
    if selected("WW001", settings.selected, settings.ignore):  # at CPython's position, as ruff does
        hits += [Hit("WW001", path, Span(f.error_line, f.error_col, f.error_line, f.error_col),
                     f"file does not parse ({f.error}): whowaits cannot see the LLM calls in it", "syntax")
                 for path, f in facts.items() if f.error_line]
    suppressions = {path: f.suppressions for path, f in facts.items() if f.suppressions}
    hits, silenced = apply_suppressions(hits, suppressions, catalog, settings.selected, settings.ignore)
    hits = [h for h in hits if not _ignored_for_file(h, settings, root)]
    findings = findings_from_hits(hits, catalog, dict(settings.severity))
    suppressed = findings_from_hits(
        silenced, catalog, dict(settings.severity), {hit: sup.reason for hit, sup in silenced.items()}
    )
    return Analysis(sites, findings, graph, suppressed)


def _ignored_for_file(hit: Hit, settings: Settings, root: str) -> bool:
    """per-file-ignores: globs relative to the configuration file's folder."""
    if not settings.per_file_ignores:
        return False
    base = settings.config_dir
    path = os.path.relpath(os.path.join(root, hit.path), base).replace(os.sep, "/") if root else hit.path
    for glob, codes in settings.per_file_ignores:
        if fnmatch.fnmatchcase(path, glob) or fnmatch.fnmatchcase(path, glob.rstrip("*").rstrip("/") + "/*"):
            if any(hit.code.startswith(code) for code in codes):
                return True
    return False


def compute_facts(
    contents: Dict[str, bytes], root: str, options: Options, pool: Optional["Executor"] = None
) -> Dict[str, FileFacts]:
    """Facts for every file, from the cache where possible and in worker processes otherwise
    (`pool`'s, when the caller started them early: `facts_pool`).

    Cache entries are read first and decoded while the workers analyse the other files: after
    an edit (the pre-commit case) one file is analysed and a hundred are decoded, and the two
    take about as long, so they run side by side, the edited file in a worker of its own. A
    worker stores the entries of the files it analysed (`_extract_and_store`)."""
    from whowaits.facts import extract

    cache = FactsCache(root) if options.use_cache else None
    cached: List[Tuple[str, bytes]] = []
    todo: List[Tuple[str, str]] = []
    for path, data in contents.items():
        key = content_key(data)
        entry = cache.read_facts(key) if cache is not None else None
        if entry is not None:
            cached.append((path, entry))
        else:
            todo.append((path, key))
    allowed = options.jobs or os.cpu_count() or 1
    jobs = min(allowed, len(todo))
    parallel = allowed > 1 and jobs > 0 and (len(todo) >= _PARALLEL_THRESHOLD or len(cached) >= _PARALLEL_THRESHOLD)
    if parallel:  # largest first, so no worker ends on one big file while the others are idle
        todo.sort(key=lambda item: -len(contents[item[0]]))
    facts: Dict[str, FileFacts] = {}
    results: List[FileFacts] = []

    def done(result: FileFacts) -> None:
        results.append(result)
        if options.progress:
            options.progress(len(results), len(todo))

    if parallel:
        job = partial(_extract_and_store, root if cache is not None else None)
        with ExitStack() as stack:
            if pool is None:
                pool = stack.enter_context(_new_pool(jobs))
            stack.enter_context(_collector_paused())
            running = pool.map(job, [(key, contents[p]) for p, key in todo], chunksize=2)
            unreadable = _decode_cached(cached, facts)
            for result in running:
                done(result)
        stored = len(results)  # the workers wrote their entries
    else:
        unreadable = _decode_cached(cached, facts)
        for path, _ in todo:
            done(extract(contents[path]))
        stored = 0
    for path in unreadable:  # an entry that is not what whowaits writes: analysed again
        todo.append((path, content_key(contents[path])))
        done(extract(contents[path]))
    for i, ((path, key), result) in enumerate(zip(todo, results)):
        facts[path] = result
        if cache is not None and i >= stored:
            cache.put(key, result)
    return dict(sorted(facts.items()))


@contextmanager
def facts_pool(options: Options, files: int) -> Iterator[Optional["Executor"]]:
    """The facts stage's workers, started before the pre-filter when the project has enough
    files for a parallel stage: each loads the fact passes (`_start_worker`) while this process
    screens the files, instead of the stage waiting for both. None when one process will do."""
    allowed = options.jobs or os.cpu_count() or 1
    if allowed < 2 or files < _PARALLEL_THRESHOLD:
        yield None
        return
    with _new_pool(allowed) as pool:
        for _ in range(allowed):  # workers start on demand: a task each starts them now
            pool.submit(int)
        yield pool


def _new_pool(jobs: int) -> "ProcessPoolExecutor":
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker)


def _start_worker() -> None:
    """A worker's start: load the fact passes, and collect garbage as a library caller's
    process would, whatever the parent does (`cli.run` turns the collector off)."""
    from whowaits.facts import preload

    gc.enable()
    preload()


_WORKER_CACHES: Dict[str, FactsCache] = {}


def _extract_and_store(root: Optional[str], item: Tuple[str, bytes]) -> FileFacts:
    """A worker's job: one file's facts, stored in the cache of `root` (when caching) by the
    worker itself. Encoding and writing every entry in the main process, after the pool, was
    about half a second of serial time on a cold run of 750 files."""
    from whowaits.facts import extract

    key, source = item
    result = extract(source)
    if root is not None:
        cache = _WORKER_CACHES.get(root)
        if cache is None:
            cache = _WORKER_CACHES[root] = FactsCache(root)
        cache.put(key, result)
    return result


def _decode_cached(entries: List[Tuple[str, bytes]], into: Dict[str, FileFacts]) -> List[str]:
    """Decode cache entries into `into`; the paths whose entry did not decode."""
    failed: List[str] = []
    with _collector_paused():
        for path, entry in entries:
            decoded = FactsCache.decode_facts(entry)
            if decoded is None:
                failed.append(path)
            else:
                into[path] = decoded
    return failed


def analyze(
    paths: Sequence[str], catalog: Dict[str, RuleMeta], options: Options, root: Optional[str] = None
) -> RunResult:
    """Lint the given files or folders.

    Folders are the analysis scope. When only files are given (pre-commit passes the staged
    files), the whole project is analysed so cross-module facts stay right, and the findings
    whose place or evidence chain is in the given files are reported.
    """
    root = os.path.abspath(root) if root else find_root(paths)
    report_paths: Optional[List[str]] = None
    scope = list(paths)
    if options.project_scope and paths and all(os.path.isfile(p) for p in paths):
        # Python files and the manifests that run them (a workflow is in evidence chains) are
        # checked; a README in the list is not. Stdin is, whatever its name.
        given = [(p, os.path.relpath(os.path.abspath(p), root).replace(os.sep, "/")) for p in paths]
        report_paths = sorted(rel for p, rel in given if rel.endswith(".py") or manifest_kind(rel) is not None
                              or (options.stdin is not None and p == options.stdin[0]))
        scope = [root]
    run_cache = open_run_cache(root, paths, options)
    if run_cache is not None:
        cache, scope_key = run_cache
        record = cache.get_run(scope_key)
        if record is not None and unchanged(root, record):
            return RunResult(root, record.sites, list(record.findings), record.files_scanned, record.files_parsed,
                             None if record.report_paths is None else list(record.report_paths),
                             suppressed=list(record.suppressed), record=record)
        cache.prepare()
    excludes = options.settings.all_excludes
    if [os.path.abspath(p) for p in scope] == [root]:  # one walk finds both kinds of file
        found, problems, watched = walk(root, [root], excludes,
                                        accept=lambda rel: rel.endswith(".py") or manifest_kind(rel) is not None)
        files = [f for f in found if f.relpath.endswith(".py")]
        unreadable = [u for u in problems if u.relpath.endswith(".py") or manifest_kind(u.relpath) is None]
        manifest_files = [f for f in found if manifest_kind(f.relpath) is not None]
        manifest_unreadable = [u for u in problems if manifest_kind(u.relpath) is not None]
    else:
        files, unreadable, watched = walk(root, scope, excludes)
        manifest_files, manifest_unreadable, manifest_watched = walk(
            root, [root], excludes, accept=lambda rel: manifest_kind(rel) is not None)
        watched = watched + manifest_watched
    found_paths = {f.relpath for f in files}
    for path in report_paths or []:
        if path.endswith(".py") and path not in found_paths:  # a named file the walk skips (ignored, excluded)
            named = walk(root, [os.path.join(root, path)]).files
            files.extend(named)
            found_paths.update(f.relpath for f in named)
    # What the outcome depends on, taken before anything is read: an edit made while the run
    # reads and analyses is then a change the next run sees.
    states = watch(root, [*watched, *(f.relpath for f in files + manifest_files),
                          *(u.relpath for u in unreadable + manifest_unreadable)]) if run_cache else {}
    contents: Dict[str, bytes] = {}
    read_errors: Dict[str, FileFacts] = {u.relpath: FileFacts(error=u.reason) for u in unreadable}
    for source in files:
        try:
            with open(source.abspath, "rb", buffering=0) as fh:  # one whole read: no buffer to fill
                contents[source.relpath] = fh.read()
        except OSError as exc:
            read_errors[source.relpath] = FileFacts(error=f"cannot read: {exc.strerror}")
    if options.stdin is not None:
        stdin_path = os.path.relpath(os.path.abspath(options.stdin[0]), root).replace(os.sep, "/")
        contents[stdin_path] = options.stdin[1]
        read_errors.pop(stdin_path, None)
    contents.update(options.contents)
    # Fixes are worked out beside the analysis; a failure before `offer` leaves the process to
    # the interpreter's exit, which stops it (a daemon). Forked first, while this process has
    # no threads (the pool's).
    helper = _fix_process(options, contents)
    with facts_pool(options, len(contents)) as pool:
        wanted = prefilter(contents)
        facts = compute_facts({p: contents[p] for p in wanted}, root, options, pool)
    facts.update(read_errors)
    from whowaits.manifests import read_all

    manifests = read_all(root, [m.relpath for m in manifest_files])
    manifests.problems += [(u.relpath, f"manifest not analyzed: {u.reason}") for u in manifest_unreadable
                           if u.relpath not in read_errors]
    prepared = options if helper is None else replace(
        options, prepare_fixes=lambda paths: helper.prepare(root, paths, options.stdin))
    analysis = analyze_sources(dict(sorted(facts.items())), catalog, prepared, root, manifests)
    sites, findings, suppressed = analysis.sites, analysis.findings, analysis.suppressed
    if report_paths is not None:
        keep = set(report_paths)

        def in_files(path: str, line: int) -> bool:
            return path in keep

        findings = keep_in_scope(findings, in_files, "in the files checked")
        suppressed = keep_in_scope(suppressed, in_files, "in the files checked")
        sites = tuple(s for s in sites if s.path in keep or any(
            step.path in keep for c in s.contexts for step in c.evidence))
    else:
        # Folders: manifests are read from the whole root (a root workflow may run code in the
        # folder), but what is found outside the folders is reported only through its chain.
        folders = [os.path.relpath(os.path.abspath(p), root).replace(os.sep, "/") for p in scope]
        if "." not in folders:

            def in_folders(path: str, line: int) -> bool:
                return any(path == f or path.startswith(f + "/") for f in folders)

            findings = keep_in_scope(findings, in_folders, "in the folders checked")
            suppressed = keep_in_scope(suppressed, in_folders, "in the folders checked")
    result = RunResult(root, sites, findings, len(contents) + len(read_errors), len(wanted), report_paths,
                       analysis.graph, suppressed=suppressed)
    if options.offer_fixes:
        from whowaits.fixes import offer

        result = offer(result, catalog, options.settings.poll_interval_min, options.stdin, helper)
    if run_cache is not None:
        cache, scope_key = run_cache
        states.update(watch(root, set(manifests.read) - set(states)))  # files a manifest reader opened
        record = RunRecord(run_inputs(states), result.sites, tuple(result.findings), tuple(result.suppressed),
                           result.files_scanned, result.files_parsed,
                           None if report_paths is None else tuple(report_paths), tuple(sorted(states)))
        cache.put_run(scope_key, record)
        result = replace(result, record=record)
    return result


def _fix_process(options: Options, contents: Dict[str, bytes]) -> Optional["FixProcess"]:
    """A process loading the fixers beside the analysis (`whowaits.fixes.process`), when fixes
    are offered and the project has enough files for the analysis to hide its start-up.
    Started before the facts stage, while this process is small: what a fork shares, each
    side's writes then copy."""
    if not options.offer_fixes or len(contents) < _PARALLEL_THRESHOLD:
        return None
    from whowaits.fixes.process import FixProcess

    return FixProcess()


def open_run_cache(root: str, paths: Sequence[str], options: Options) -> Optional[Tuple[FactsCache, str]]:
    """The cache and the scope key (`run_scope`) of a run the run cache may serve, or None: only
    `check` uses it, and not on an editor's buffer or on contents being tried (fixes)."""
    if not (options.offer_fixes and options.use_cache and options.stdin is None and not options.contents):
        return None
    return FactsCache(root), run_scope(root, paths, options)


def unchanged(root: str, record: Union[RunRecord, RenderedRun]) -> bool:
    """Nothing the recorded run read has changed since (`watch`, `run_inputs`)."""
    return record.inputs == run_inputs(watch(root, record.watched))


def run_scope(root: str, paths: Sequence[str], options: Options) -> str:
    """What names a run for the run cache: the paths given, the user, the settings, the rules and
    the price table in force (hashed by value; whowaits' own code names the cache folder). The
    rules are the bytes of their files: a re-run served from the cache parses no rule."""
    digest = hashlib.sha256()
    # The user counts too: what can be read (the walk's "permission denied") depends on who reads.
    user = getattr(os, "geteuid", lambda: -1)()
    for part in (root, repr(sorted(os.path.relpath(os.path.abspath(p), root) for p in paths)), str(user),
                 repr(options.project_scope), repr(options.settings), rules_fingerprint(options.settings)):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    if options.settings.prices:  # a user's price table: the settings hold only its path
        try:
            with open(options.settings.prices, "rb") as fh:
                digest.update(fh.read(1 << 20))
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()[:32]


def watch(root: str, relpaths: Iterable[str]) -> Dict[str, str]:
    """The state of each path (relative to the root) as the run cache compares it: size,
    nanosecond modification and change times, inode; "missing" when it cannot be stat'ed.

    Like ruff's cache, a file counts as unchanged while those are (the facts cache below stays
    keyed by content). The change time covers what the modification time does not: a file
    made unreadable, a folder made unlistable. For a folder, the modification time changes
    when an entry is added, removed or renamed in it, so the folders a walk listed stand for
    the walk itself (`discover.Walk`)."""
    states: Dict[str, str] = {}
    prefix = os.path.join(root, "")
    for relpath in relpaths:
        try:
            info = os.stat(prefix + relpath)
            states[relpath] = f"{info.st_size} {info.st_mtime_ns} {info.st_ctime_ns} {info.st_ino}"
        except (OSError, ValueError):  # ValueError: a NUL in a path from a planted run record
            states[relpath] = "missing"
    return states


def run_inputs(states: Dict[str, str]) -> str:
    """What a run read, as one hash of the states `watch` took: every folder a walk listed and
    ignore file it read, every Python and manifest file found (or found unreadable), and each
    other file a manifest reader opened. A re-run stats those paths instead of walking."""
    digest = hashlib.sha256()
    for relpath, state in sorted(states.items()):
        digest.update(f"{relpath}\0{state}\0".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def keep_in_scope(findings: Sequence[Finding], contains: Callable[[str, int], bool], why: str) -> List[Finding]:
    """The findings whose place or evidence chain is in scope (see `Finding.in_scope`)."""
    return [kept for kept in (f.in_scope(contains, why) for f in findings) if kept is not None]
