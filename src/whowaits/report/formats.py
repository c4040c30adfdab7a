"""Every output format, per command: the registry the CLI's `--output-format` choices, help and
dispatch come from. A command's first format is its default.

Adding a format is one module with a `FORMAT` record (see `whowaits.report.output`) and its
place in `COMMANDS` below.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Dict, Tuple

from whowaits.pipeline import RunResult
from whowaits.report import csv_out, github, gitlab, html_out, json_out, junit, markdown, sarif, table, text
from whowaits.report.escape import printable_tree
from whowaits.report.locations import rebase
from whowaits.report.output import OutputFormat, Report

COMMANDS: Dict[str, Tuple[OutputFormat, ...]] = {
    "check": (text.FORMAT, json_out.FORMAT, sarif.FORMAT, github.FORMAT, gitlab.FORMAT, junit.FORMAT),
    "audit": (table.FORMAT, json_out.FORMAT, markdown.FORMAT, csv_out.FORMAT, html_out.FORMAT),
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
