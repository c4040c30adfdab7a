"""Fixes with ruff's contract: every finding says whether a fix exists and whether it is safe;
`check --fix` applies the safe ones, `--unsafe-fixes` adds those that change behaviour, `--diff`
prints what would change and writes nothing.

A fix is a libcst rewrite (formatting and comments kept) reduced to one text edit. The chosen
edits are applied together, the project is analysed again with the new contents, and a fix
whose finding is still there, or whose file gained a finding, is dropped and reported. Files
are written only after every check passed, all of them or (on a write error) none.
"""

from __future__ import annotations

import difflib
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple

from whowaits.core import Finding, FixInfo, RuleMeta
from whowaits.fixes.text_edit import apply_edits, line_starts
from whowaits.pipeline import RunResult
from whowaits.report.escape import printable

if TYPE_CHECKING:
    from whowaits.fixes.cst_edit import Located
    from whowaits.fixes.fixers import Fixer
    from whowaits.fixes.process import FixProcess

Reanalyze = Callable[[Dict[str, bytes]], RunResult]
MAX_ALONE = 20  # fixes checked one by one (one analysis each) when checking them together failed


@dataclass
class Source:
    """A file as read, decoded the way libcst parsed it."""

    data: bytes
    text: str
    encoding: str
    located: Optional["Located"]


@dataclass
class Outcome:
    """What `--fix` / `--diff` did: new contents, the fixes kept, the ones dropped and why."""

    contents: Dict[str, bytes] = field(default_factory=dict)  # relpath -> fixed bytes
    applied: List[Finding] = field(default_factory=list)
    dropped: List[Tuple[Finding, str]] = field(default_factory=list)
    after: Optional[RunResult] = None
    originals: Dict[str, bytes] = field(default_factory=dict)


def _load(root: str, path: str, stdin: Optional[Tuple[str, bytes]]) -> Optional[Source]:
    from whowaits.fixes.cst_edit import Located, parse

    data: Optional[bytes] = None
    if stdin is not None and os.path.relpath(os.path.abspath(stdin[0]), root).replace(os.sep, "/") == path:
        data = stdin[1]
    else:
        try:
            with open(os.path.join(root, path), "rb") as fh:
                data = fh.read()
        except OSError:
            return None
    module = parse(data)
    if module is None:
        return None
    located = Located(module)
    return Source(data, located.text, module.encoding, located)


def _fixer_of(rule: RuleMeta) -> Optional["Fixer"]:
    """A built-in rule's fixer, registered under its name; a policy rule's keyword template."""
    from whowaits.fixes.fixers import FIXERS, policy_template

    found = FIXERS.get(rule.name) if rule.builtin else None
    return found or (policy_template if rule.policy else None)


def offer(result: RunResult, catalog: Dict[str, RuleMeta], poll_interval_min: float,
          stdin: Optional[Tuple[str, bytes]] = None, helper: Optional["FixProcess"] = None) -> RunResult:
    """The run's findings, each with the fix its rule offers at that place (if any).

    libcst is loaded only when a finding's rule has a fix: most runs have none to offer. A
    `helper` started before the project stage has loaded it meanwhile and works the fixes out;
    it is closed here, used or not."""
    try:
        chosen = [(i, finding, rule) for i, finding in enumerate(result.findings)
                  if (rule := catalog.get(finding.code)) is not None and rule.autofix is not None
                  and rule.autofix.safety != "none"]
        if not chosen:
            return result
        jobs = [(finding, rule) for _, finding, rule in chosen]
        found = helper.fixes(result.root, jobs, poll_interval_min, stdin) if helper is not None else None
        if found is None:  # no helper, or it failed: here, the same work
            found = fixes_for(result.root, jobs, poll_interval_min, stdin)
    finally:
        if helper is not None:
            helper.close()
    findings = list(result.findings)
    for (i, finding, _), fix in zip(chosen, found):
        if fix is not None:
            findings[i] = replace(finding, fix=fix)
    return replace(result, findings=findings)


def fixes_for(root: str, jobs: Sequence[Tuple[Finding, RuleMeta]], poll_interval_min: float,
              stdin: Optional[Tuple[str, bytes]] = None,
              sources: Optional[Dict[str, Optional[Source]]] = None) -> List[Optional[FixInfo]]:
    """Each finding's fix (None where its rule's fixer offers none there): the libcst part of
    `offer`, run in the fix process when there is one. `sources`: files parsed already
    (`load_ahead`), by path."""
    from whowaits.fixes.text_edit import edit_between
    from whowaits.fixes.fixers import Target

    sources = {} if sources is None else sources
    out: List[Optional[FixInfo]] = []
    for finding, rule in jobs:
        fix_fn = _fixer_of(rule)
        fix = None
        if fix_fn is not None and rule.autofix is not None:
            if finding.path not in sources:
                sources[finding.path] = _load(root, finding.path, stdin)
            source = sources[finding.path]
            if source is not None and source.located is not None:
                try:
                    rewrite = fix_fn(Target(finding, source.located, poll_interval_min, rule.autofix))
                except Exception:  # a fixer that cannot handle an odd shape offers no fix; it must not stop the lint
                    rewrite = None
                if rewrite is not None:
                    change = edit_between(source.text, source.located.code_of(rewrite[1]))
                    if change is not None:
                        fix = FixInfo(rule.autofix.safety, rewrite[0], (change[2],))
        out.append(fix)
    return out


def load_ahead(root: str, paths: Sequence[str], stdin: Optional[Tuple[str, bytes]],
               into: Dict[str, Optional[Source]], go_on: Callable[[], bool]) -> None:
    """Parse the files fixes will likely be offered in (`checks.fixable_paths`) into `into`,
    one by one while `go_on()` says so: the fix process does it while the analysis runs."""
    for path in paths:
        if not go_on():
            return
        if path not in into:
            into[path] = _load(root, path, stdin)


def wanted(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (finding.fix.applicability == "safe" or unsafe)


def _offsets(text: str, finding: Finding) -> Tuple[int, int, str]:
    assert finding.fix is not None
    edit = finding.fix.edits[0]
    starts = line_starts(text)
    return starts[edit.line - 1] + edit.col - 1, starts[edit.end_line - 1] + edit.end_col - 1, edit.content


def _compose(originals: Dict[str, str], fixes: Sequence[Finding]) -> Tuple[Dict[str, str], List[Finding]]:
    """Apply non-overlapping edits per file; an overlapping one waits for the next run (its
    finding is still reported, with its fix)."""
    by_path: Dict[str, List[Tuple[int, int, str, Finding]]] = {}
    for finding in fixes:
        start, end, content = _offsets(originals[finding.path], finding)
        by_path.setdefault(finding.path, []).append((start, end, content, finding))
    texts: Dict[str, str] = {}
    used: List[Finding] = []
    for path, edits in by_path.items():
        chosen: List[Tuple[int, int, str]] = []
        last_end = -1
        for start, end, content, finding in sorted(edits, key=lambda e: (e[0], e[1])):
            if start < last_end or (start == last_end and chosen and chosen[-1][0] == start):
                continue
            chosen.append((start, end, content))
            used.append(finding)
            last_end = end
        texts[path] = apply_edits(originals[path], chosen)
    return texts, used


def _problems(before: RunResult, after: RunResult, fixes: Sequence[Finding]) -> Dict[str, str]:
    """fingerprint -> why, for fixes whose finding survived or whose file gained a finding.

    Findings are counted per file and code: fingerprints of identical findings are numbered in
    order, so after one of two is fixed the other takes over the first one's fingerprint."""
    fixed = Counter((f.path, f.code) for f in fixes)
    changed = {f.path for f in fixes}
    was = Counter((f.path, f.code) for f in before.findings if f.path in changed)
    now = Counter((f.path, f.code) for f in after.findings if f.path in changed)
    out: Dict[str, str] = {}
    for finding in fixes:
        key = (finding.path, finding.code)
        if now[key] > was[key] - fixed[key]:
            out[finding.fingerprint] = "the finding is still reported after the fix"
            continue
        gained = sorted(code for (path, code), n in now.items()
                        if path == finding.path and n > was[(path, code)] - fixed[(path, code)])
        if gained:
            out[finding.fingerprint] = f"the fixed file gains a {gained[0]} finding"
    return out


def plan(result: RunResult, unsafe: bool, reanalyze: Reanalyze) -> Outcome:
    """Choose, compose and verify the fixes; writes nothing."""
    candidates = [f for f in result.findings if wanted(f, unsafe)]
    outcome = Outcome()
    if not candidates:
        return outcome
    sources = {path: _load(result.root, path, None) for path in {f.path for f in candidates}}
    originals = {p: s.text for p, s in sources.items() if s is not None}
    encodings = {p: s.encoding for p, s in sources.items() if s is not None}
    candidates = [f for f in candidates if f.path in originals]

    def attempt(fixes: Sequence[Finding]) -> Tuple[Dict[str, str], List[Finding], Dict[str, str], RunResult]:
        texts, used = _compose(originals, fixes)
        after = reanalyze({p: t.encode(encodings[p]) for p, t in texts.items()})
        return texts, used, _problems(result, after, used), after

    texts, used, problems, after = attempt(candidates)
    if problems:  # try the fixes of the files with a problem one by one, then keep the good ones together
        bad_files = {f.path for f in used if f.fingerprint in problems}
        suspects = [f for f in used if f.path in bad_files]
        alone = {f.fingerprint: attempt([f])[2] for f in suspects[:MAX_ALONE]}
        for f in suspects[MAX_ALONE:]:
            alone[f.fingerprint] = {f.fingerprint: "too many fixes in a file with a problem to check one by one; run --fix again"}
        good = [f for f in used if not alone.get(f.fingerprint)]
        outcome.dropped = [(f, next(iter(alone[f.fingerprint].values()))) for f in suspects if alone[f.fingerprint]]
        texts, used, problems, after = attempt(good)
        if problems:
            outcome.dropped += [(f, "it conflicts with another fix in the same file") for f in used]
            return outcome
    changed = {f.path for f in used}
    outcome.contents = {p: texts[p].encode(encodings[p]) for p in changed}
    outcome.originals = {p: source.data for p in changed if (source := sources[p]) is not None}
    outcome.applied = used
    outcome.after = after
    return outcome


def diff(contents: Dict[str, bytes], originals: Dict[str, bytes]) -> str:
    """A unified diff of every changed file, as `ruff --diff` prints it."""
    out: List[str] = []
    for path, data in sorted(contents.items()):
        old = originals[path].decode("utf-8", "replace").splitlines(keepends=True)
        new = data.decode("utf-8", "replace").splitlines(keepends=True)
        out.extend(difflib.unified_diff(old, new, f"a/{printable(path)}", f"b/{printable(path)}"))
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)
