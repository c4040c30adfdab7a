"""Shared helpers: the repository layout and a one-call way to analyse a path."""

from __future__ import annotations

import os
from typing import Dict, Optional, Sequence

import pytest

from whowaits.catalog import load_catalog
from whowaits.config import Settings, load_rules
from whowaits.core import RuleMeta
from whowaits.pipeline import Options, RunResult, analyze

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "fixtures")


@pytest.fixture(scope="session")
def catalog() -> Dict[str, RuleMeta]:
    return load_catalog()


def run(paths: Sequence[str], root: Optional[str] = None, settings: Optional[Settings] = None) -> RunResult:
    """Analyse exactly `paths` (no project widening, no cache) with rooted relative paths."""
    settings = settings or Settings()
    opts = Options(settings, use_cache=False, jobs=1, project_scope=False)
    return analyze(list(paths), load_rules(settings), opts, root=root)
