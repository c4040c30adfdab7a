"""Every output format, per command: the registry the CLI's `--output-format` choices, help and
dispatch come from. A command's first format is its default.

Adding a format is one module with a `render(Report) -> str` function and its record (see
`whowaits.report.output`) in `COMMANDS` below; the module is imported only when its format is
asked for.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Dict, Tuple

from whowaits.pipeline import RunResult
from whowaits.report.escape import printable_tree
from whowaits.report.locations import PathBase, rebase
from whowaits.report.output import OutputFormat, Report

_JSON = OutputFormat("json", "the versioned document of sites, findings and summary", "json_out")

COMMANDS: Dict[str, Tuple[OutputFormat, ...]] = {
    "check": (
        OutputFormat("text", "ruff-style lines, paths relative to the working folder", "text",
                     paths=PathBase.WORKING_FOLDER, progress=True),
        _JSON,
        OutputFormat("sarif", "2.1.0, for code scanning", "sarif", paths=PathBase.REPOSITORY, replayable=False),
        OutputFormat("github", "GitHub Actions annotations", "github", paths=PathBase.REPOSITORY),
        OutputFormat("gitlab", "GitLab Code Quality JSON", "gitlab", paths=PathBase.REPOSITORY),
        OutputFormat("junit", "XML, a test case per finding", "junit", paths=PathBase.REPOSITORY),
    ),
    "audit": (
        OutputFormat("table", "every call site, for a terminal", "table"),
        _JSON,
        OutputFormat("markdown", "counts, batch savings and every site", "markdown"),
        OutputFormat("csv", "a row per call site", "csv_out"),
        OutputFormat("html", "one self-contained page", "html_out"),
    ),
}


def formats(command: str) -> Dict[str, OutputFormat]:
    """The formats `command` offers, by name, default first."""
    return {fmt.name: fmt for fmt in COMMANDS[command]}


def help_text(command: str) -> str:
    """`--output-format`'s help: every format of `command` with its description."""
    return "Report format: " + ", ".join(f"{fmt.name} ({fmt.description})" for fmt in COMMANDS[command]) + "."


def render(fmt: OutputFormat, report: Report) -> str:
    """`report` in `fmt`: its paths moved to the format's base and every name made printable first."""
    return fmt.render(replace(report, result=_printable(rebase(report.result, fmt.paths))))


def _printable(result: RunResult) -> RunResult:
    """The result as every output format may show it: names and code text escaped."""
    # a fix's edits are code to insert, exact: JSON and SARIF encode them, text does not show them
    findings = [replace(shown, fix=f.fix) for shown, f in zip(printable_tree(result.findings), result.findings)]
    return replace(result, findings=findings, sites=printable_tree(result.sites),
                   suppressed=printable_tree(result.suppressed))
