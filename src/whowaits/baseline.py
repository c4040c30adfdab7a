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
    """Lines added or changed since `ref`, per path relative to `root` (untracked files whole)."""
    def git(*args: str) -> str:
        try:
            proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BaselineError(f"--changed-since {ref}: cannot run git: {exc}") from exc
        if proc.returncode != 0:
            raise BaselineError(f"--changed-since {ref}: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'git failed'}")
        return proc.stdout

    top = git("rev-parse", "--show-toplevel").strip()
    out: Dict[str, Set[int]] = {}
    current = None
    for line in git("diff", "--unified=0", "--no-color", "--no-ext-diff", ref, "--", ".").splitlines():
        if line.startswith("+++ "):
            name = line[4:]
            current = None if name == "/dev/null" else _relative(top, root, name[2:] if name.startswith("b/") else name)
            continue
        match = _HUNK.match(line)
        if match and current is not None:
            start, count = int(match.group(1)), int(match.group(2) or "1")
            out.setdefault(current, set()).update(range(start, start + count))
    for name in git("ls-files", "--others", "--exclude-standard").splitlines():
        out[_relative(root, root, name)] = {-1}  # every line
    return out


def _relative(top: str, root: str, name: str) -> str:
    return os.path.relpath(os.path.join(top, name), root).replace(os.sep, "/")


def on_changed_lines(findings: Sequence[Finding], changed: Dict[str, Set[int]], ref: str) -> List[Finding]:
    """Findings with a changed line in their place or evidence chain (a new route in one file can
    cause a finding in another), each saying which changed line brought it in."""
    def contains(path: str, line: int) -> bool:
        return path in changed and (-1 in changed[path] or line in changed[path])

    return keep_in_scope(findings, contains, f"changed since {ref}")
