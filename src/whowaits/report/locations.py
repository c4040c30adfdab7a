"""Where reported paths start from: the project root is right for the analysis, not for readers.

As ruff does, text output is relative to the working folder (so terminals and editors can open
`path:line:col`), while what CI systems read (GitHub annotations, SARIF, GitLab Code Quality,
JUnit) is relative to the repository root, which is where those systems resolve paths: in a
monorepo the project root (`services/api/`) is not it. Each output format names its base
(`PathBase`); the JSON document and the audit reports keep the project root (SPEC section 5).
"""

from __future__ import annotations

import enum
import functools
import os
from dataclasses import replace
from typing import List, Tuple

from whowaits.core import EvidenceStep, Finding
from whowaits.discover import nearest_holding
from whowaits.pipeline import RunResult


class PathBase(enum.Enum):
    """The folder an output format's paths are relative to."""

    PROJECT = "project"  # as the run gives them
    WORKING_FOLDER = "working folder"
    REPOSITORY = "repository"


def rebase(result: RunResult, base: PathBase) -> RunResult:
    """The result with its paths relative to `base`."""
    return relative_to(result, base_folder(result.root, base))


def base_folder(root: str, base: PathBase) -> str:
    """The folder `base` names for a run of the project at `root`."""
    if base is PathBase.WORKING_FOLDER:
        return os.getcwd()
    if base is PathBase.REPOSITORY:
        return repository_root(root)
    return os.path.abspath(root)


def repository_root(root: str) -> str:
    """The git top level holding `root` (the nearest folder with `.git`), else `root` itself."""
    return nearest_holding(root, (".git",)) or os.path.abspath(root)


def relative_to(result: RunResult, base: str) -> RunResult:
    """The result with every finding, site and evidence path relative to `base`, `/`-separated;
    a path outside `base` stays absolute (ruff's rule for text output)."""
    base = os.path.abspath(base)
    if base == os.path.abspath(result.root):
        return result

    @functools.lru_cache(maxsize=None)  # evidence chains name the same few files many times
    def move(path: str) -> str:
        full = os.path.normpath(os.path.join(result.root, path))
        inside = full == base or full.startswith(base.rstrip(os.sep) + os.sep)
        return (os.path.relpath(full, base) if inside else full).replace(os.sep, "/")

    @functools.lru_cache(maxsize=None)  # and the same steps: a site's contexts share their entries
    def step(e: EvidenceStep) -> EvidenceStep:
        return replace(e, path=move(e.path))

    def steps(chain: Tuple[EvidenceStep, ...]) -> Tuple[EvidenceStep, ...]:
        return tuple([step(e) for e in chain])

    def moved(findings: List[Finding]) -> List[Finding]:
        return [
            replace(f, path=move(f.path), evidence=steps(f.evidence),
                    brought_in_by=f.brought_in_by and replace(f.brought_in_by, path=move(f.brought_in_by.path)))
            for f in findings
        ]

    sites = tuple(
        replace(s, path=move(s.path), contexts=tuple(replace(c, evidence=steps(c.evidence)) for c in s.contexts))
        for s in result.sites
    )
    return replace(result, findings=moved(result.findings), suppressed=moved(result.suppressed), sites=sites)
