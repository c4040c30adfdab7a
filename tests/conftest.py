"""Shared helpers: the repository layout and a one-call way to analyse a path."""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest
import yaml

from whowaits.catalog import load_catalog
from whowaits.config import Settings, load_rules
from whowaits.core import RuleMeta
from whowaits.pipeline import Options, RunResult, analyze

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "fixtures")


def readme_blocks(language: str) -> List[str]:
    """The README's fenced code blocks in `language`, in order."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    return re.findall(r"^```" + re.escape(language) + r"\n(.*?)^```", readme, re.DOTALL | re.MULTILINE)


def readme_snippet(key: str) -> Tuple[str, Any]:
    """The README's YAML snippet whose top level has `key` (`repos`, `jobs`, `whowaits`): its
    text and what it parses to."""
    for block in readme_blocks("yaml"):
        doc = yaml.safe_load(block)
        if isinstance(doc, dict) and key in doc:
            return block, doc
    raise AssertionError(f"no YAML snippet with `{key}` in the README")


def committed_checkout(dest: str) -> str:
    """A clone of this checkout's last commit at `dest`, with `main` at that commit: what the
    README's `<repo-url>` and `rev: main` stand for. Skips when there is no commit to clone."""
    try:
        subprocess.run(["git", "clone", "-q", REPO, dest], check=True, capture_output=True, timeout=300)
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run(["git", "checkout", "-q", "-B", "main", head], cwd=dest, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"this checkout cannot be cloned: {exc}")
    if not os.path.isfile(os.path.join(dest, ".pre-commit-hooks.yaml")):
        pytest.skip("this checkout has no committed .pre-commit-hooks.yaml to install from")
    return dest


@pytest.fixture(scope="session")
def catalog() -> Dict[str, RuleMeta]:
    return load_catalog()


def run(paths: Sequence[str], root: Optional[str] = None, settings: Optional[Settings] = None) -> RunResult:
    """Analyse exactly `paths` (no project widening, no cache) with rooted relative paths."""
    settings = settings or Settings()
    opts = Options(settings, use_cache=False, jobs=1, project_scope=False)
    return analyze(list(paths), load_rules(settings), opts, root=root)
