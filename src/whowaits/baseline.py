"""Adopting whowaits on an existing codebase: baselines and changed-line filtering.

A baseline records the fingerprints of today's findings so CI fails only on new ones; the
fingerprints hash what was found and where in the code (rule, file, function, call), not line
numbers, so unrelated edits that shift lines keep matching. `--changed-since REF` keeps only
findings on lines changed since a git ref, while contexts still come from the whole project.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from typing import Dict, List, Sequence, Set, Tuple

from whowaits import __version__
from whowaits.core import Finding
from whowaits.pipeline import keep_in_scope

BASELINE_VERSION = 1


class BaselineError(Exception):
    """A baseline or git problem; the message is one line naming the file or the ref."""


def write(path: str, findings: Sequence[Finding]) -> None:
    doc = {
        "version": BASELINE_VERSION,
        "tool": f"whowaits {__version__}",
        "findings": [
            {"fingerprint": f.fingerprint, "code": f.code, "path": f.path, "line": f.line, "message": f.message}
            for f in findings
        ],
    }
    try:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write baseline: {exc.strerror}") from exc


def load(path: str) -> Counter:
    """Fingerprints in a baseline (a multiset: the same finding may be recorded twice)."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}: not a whowaits baseline (invalid JSON at line {exc.lineno})") from exc
    if not isinstance(doc, dict) or doc.get("version") != BASELINE_VERSION or not isinstance(doc.get("findings"), list):
        raise BaselineError(f"{path}: not a whowaits baseline (expected version {BASELINE_VERSION} with `findings`)")
    return Counter(str(item.get("fingerprint")) for item in doc["findings"] if isinstance(item, dict))


def subtract(findings: Sequence[Finding], baseline: Counter) -> Tuple[List[Finding], int]:
    """Findings not in the baseline, and how many were."""
    remaining = Counter(baseline)
    kept: List[Finding] = []
    hidden = 0
    for f in findings:
        if remaining[f.fingerprint] > 0:
            remaining[f.fingerprint] -= 1
            hidden += 1
        else:
            kept.append(f)
    return kept, hidden


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def changed_lines(root: str, ref: str) -> Dict[str, Set[int]]:
    """Lines added or changed since `ref`, per path relative to `root` (untracked files whole).

    The ref comes from the command line: it is refused when it looks like an option, checked
    with `rev-parse --verify --end-of-options` and only its commit id reaches `git diff`, so no
    value of the user's becomes an option of git. Git's own fsmonitor and diff drivers are off.
    """
    def git(*args: str) -> str:
        command = ["git", "-c", "core.fsmonitor=false", "-c", "core.quotepath=off", *args]
        try:
            proc = subprocess.run(command, cwd=root, capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BaselineError(f"--changed-since {ref}: cannot run git: {exc}") from exc
        stderr = os.fsdecode(proc.stderr).strip()
        if proc.returncode != 0:
            raise BaselineError(f"--changed-since {ref}: {stderr.splitlines()[-1] if stderr else 'git failed'}")
        return os.fsdecode(proc.stdout)

    if not ref or ref.startswith("-") or any(ch in ref for ch in "\0\n\r"):
        raise BaselineError(f"--changed-since {ref!r}: not a git ref")
    commit = git("rev-parse", "--verify", "--quiet", "--end-of-options", ref + "^{commit}").strip()
    top = git("rev-parse", "--show-toplevel").strip()
    out: Dict[str, Set[int]] = {}
    current = None
    diff = git("diff", "--unified=0", "--no-color", "--no-ext-diff", "--no-textconv", commit, "--", ".")
    for line in diff.splitlines():
        if line.startswith("+++ "):
            name = _unquote(line[4:])
            current = None if name == "/dev/null" else _relative(top, root, name[2:] if name.startswith("b/") else name)
            continue
        match = _HUNK.match(line)
        if match and current is not None:
            start, count = int(match.group(1)), int(match.group(2) or "1")
            out.setdefault(current, set()).update(range(start, start + count))
    for name in git("ls-files", "-z", "--others", "--exclude-standard").split("\0"):
        if name:
            out[_relative(root, root, name)] = {-1}  # every line
    return out


_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def _unquote(name: str) -> str:
    """A path as git prints it in a diff header: C-quoted when it holds special characters."""
    if not (len(name) >= 2 and name.startswith('"') and name.endswith('"')):
        return name
    body, out, i = name[1:-1], bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if body[i + 1:i + 4].isdigit():
                out.append(int(body[i + 1:i + 4], 8) & 0xFF)
                i += 4
                continue
        out.extend(os.fsencode(ch))
        i += 1
    return os.fsdecode(bytes(out))


def _relative(top: str, root: str, name: str) -> str:
    return os.path.relpath(os.path.join(top, name), root).replace(os.sep, "/")


def on_changed_lines(findings: Sequence[Finding], changed: Dict[str, Set[int]], ref: str) -> List[Finding]:
    """Findings with a changed line in their place or evidence chain (a new route in one file can
    cause a finding in another), each saying which changed line brought it in."""
    def contains(path: str, line: int) -> bool:
        return path in changed and (-1 in changed[path] or line in changed[path])

    return keep_in_scope(findings, contains, f"changed since {ref}")
