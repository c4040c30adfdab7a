"""The output-format registry: every registered format renders the fixtures' result, every format
module is registered, the CLI's `--output-format` choices, default and help are the registry and
the README lists it; `rule --format` is its own small registry, `rules_doc.FORMATS`."""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
from typing import Dict, List

import pytest
from click.testing import CliRunner

import whowaits.report
from conftest import FIXTURES, REPO, run
from whowaits.cli import main
from whowaits.pipeline import RunResult
from whowaits.report import rules_doc
from whowaits.report.formats import COMMANDS, formats, render
from whowaits.report.output import Report

# Each format once, with the commands that offer it (json serves both).
OFFERED: Dict[str, List[str]] = {}
for _command, _formats in COMMANDS.items():
    for _fmt in _formats:
        OFFERED.setdefault(_fmt.name, []).append(_command)


@pytest.fixture(scope="module")
def fixtures_result() -> RunResult:
    return run([FIXTURES], root=FIXTURES)


@pytest.mark.parametrize("name", sorted(OFFERED))
def test_every_format_renders_the_fixtures(fixtures_result: RunResult, catalog, name: str) -> None:
    commands = OFFERED[name]
    fmt = formats(commands[0])[name]
    out = render(fmt, Report(fixtures_result, catalog))
    assert out.endswith("\n")
    if "check" in commands:  # check reports findings: every rule that fired is named
        codes = {f.code for f in fixtures_result.findings}
        assert len(codes) > 10
        assert sorted(c for c in codes if c not in out) == []
    if "audit" in commands:  # audit lists call sites: every file holding one is named
        files = {os.path.basename(s.path) for s in fixtures_result.sites}
        plain = {f for f in files if re.fullmatch(r"[\w.-]+", f)}
        assert len(plain) > 10
        assert sorted(f for f in plain if f not in out) == []


def test_every_format_module_is_registered() -> None:
    """A module of `whowaits.report` with a `render(Report)` function is a format: one record
    names it, and no record names a module that does not render."""
    registered = {fmt.module for fmts in COMMANDS.values() for fmt in fmts}
    renderers = set()
    for module in pkgutil.iter_modules(whowaits.report.__path__):
        render_fn = getattr(importlib.import_module(f"whowaits.report.{module.name}"), "render", None)
        if callable(render_fn) and list(inspect.signature(render_fn).parameters) == ["report"]:
            renderers.add(module.name)
    assert renderers == registered
    assert len(registered) == len(OFFERED)


def test_choosing_a_format_imports_only_its_module() -> None:
    """The CLI's choices and help come from the records: a run loads the one format it prints."""
    code = (
        "import sys\n"
        "import whowaits.cli\n"
        "print(sorted(m for m in sys.modules if m.startswith('whowaits.report.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(ast.literal_eval(out))
    formats_modules = {fmt.module for fmts in COMMANDS.values() for fmt in fmts}
    assert {f"whowaits.report.{m}" for m in formats_modules} & loaded == set()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_choices_default_and_help_are_the_registry(command: str) -> None:
    names = [fmt.name for fmt in COMMANDS[command]]
    assert len(set(names)) == len(names)
    [option] = [p for p in main.commands[command].params if "--output-format" in p.opts]
    assert list(option.type.choices) == names  # type: ignore[attr-defined]
    assert option.default == names[0]
    usage = CliRunner().invoke(main, [command, "--help"]).output
    squeezed = "".join(usage.split())  # click wraps the help, even inside hyphenated words
    for fmt in COMMANDS[command]:
        assert "".join(f"{fmt.name} ({fmt.description})".split()) in squeezed
    refused = CliRunner().invoke(main, [command, "--output-format", "nope", FIXTURES])
    assert refused.exit_code == 2
    assert ", ".join(repr(n) for n in names) in refused.output


def test_readme_lists_every_format_in_registry_order() -> None:
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    check_row = re.search(r"^\| `--output-format FORMAT` \| (.*) \|$", readme, re.MULTILINE)
    assert check_row is not None
    assert re.findall(r"`(\w+)`", check_row.group(1)) == [fmt.name for fmt in COMMANDS["check"]]
    audit_list = re.search(r"`--format ([\w|]+)` \(also spelled `--output-format`\)", readme)
    assert audit_list is not None
    assert audit_list.group(1).split("|") == [fmt.name for fmt in COMMANDS["audit"]]


def test_rule_doc_formats_are_the_cli_choices(catalog) -> None:
    [option] = [p for p in main.commands["rule"].params if "--format" in p.opts]
    assert list(option.type.choices) == list(rules_doc.FORMATS)  # type: ignore[attr-defined]
    rules = list(catalog.values())
    for name, doc in rules_doc.FORMATS.items():
        every = CliRunner().invoke(main, ["rule", "--all", "--format", name]).output
        assert every == doc.render(rules) and all(rule.code in every for rule in rules)
        listed = CliRunner().invoke(main, ["rule", "--format", name]).output
        assert listed == (every if doc.reference else rules_doc.listing(rules))
