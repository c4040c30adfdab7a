"""The one interface every output format implements, and the record each one renders.

A format is a record: its name, a one-line description (the CLI's help), the folder its paths
are relative to, and the module whose `render` function, with one signature, `Report -> str`,
writes it. Formats differ only in which fields of the `Report` they read; the CLI builds the
`Report` from its options and never branches on a format's name (the registry is
`whowaits.report.formats`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Mapping

from whowaits.core import RuleMeta
from whowaits.pipeline import RunResult
from whowaits.report.locations import PathBase


@dataclass(frozen=True)
class Report:
    """What a format renders: the run's result and the options that shape the output.

    By the time a format sees it, `result`'s paths are relative to the format's `paths` base and
    every name from the scanned tree is printable (`formats.render` does both, once for all)."""

    result: RunResult
    catalog: Mapping[str, RuleMeta]  # the rules in force: SARIF and HTML document them
    color: bool = False  # text only: ANSI styles, for a terminal
    show_evidence: bool = True  # text only: each finding's evidence chain
    statistics: bool = False  # text only: a count per rule instead of the findings
    unsafe_fixes: bool = False  # text only: `[*]` and the fix hint count unsafe fixes too
    summary: bool = True  # text only: the summary line and the fix hint (off with `--quiet`)


@dataclass(frozen=True)
class OutputFormat:
    """One output format: `--output-format NAME` renders the run with the `render` function of
    `whowaits.report.<module>`.

    The record names its module rather than holding the function so that the CLI's choices and
    help cost no import: a run imports the one format it prints (several pull in the audit
    tables, `html`, `csv` or `urllib`), not all ten."""

    name: str
    description: str
    module: str
    paths: PathBase = PathBase.PROJECT
    # Read by a person as the run goes: `check` shows its parse progress on a terminal.
    progress: bool = False
    # Its bytes follow from the run, the `Report` options and the folder its paths start from,
    # so a re-run may print them again from the run cache (`core.RenderedRun`). SARIF is not:
    # its rule links name the installation record (`catalog.rules_web_base`), which no run reads.
    replayable: bool = True

    def render(self, report: Report) -> str:
        writer: Callable[[Report], str] = importlib.import_module(f"whowaits.report.{self.module}").render
        return writer(report)
