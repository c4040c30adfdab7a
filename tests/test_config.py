"""Configuration, suppressions and --add-noqa through the command line."""

from __future__ import annotations

import os
import shutil

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from whowaits.cli import main

NIGHTLY = """\
import anthropic

client = anthropic.Anthropic()

if __name__ == "__main__":
    for row in open("rows.txt"):
        client.messages.create(model="m", max_tokens=5, messages=[row])
"""


def invoke(*args: str):
    return CliRunner().invoke(main, list(args) + ["--no-cache"] if args[0] in ("check", "audit") else list(args))


def _project(tmp_path, config: str, name: str = "pyproject.toml"):
    (tmp_path / name).write_text(config)
    (tmp_path / "nightly.py").write_text(NIGHTLY)
    return str(tmp_path)


def test_severity_override_and_fail_on_change_the_exit_code(tmp_path) -> None:
    root = _project(tmp_path, "[tool.whowaits]\n")
    assert invoke("check", root).exit_code == 0  # WW201 is a warning
    root = _project(tmp_path, '[tool.whowaits]\nseverity = { WW201 = "error" }\n')
    assert invoke("check", root).exit_code == 1
    root = _project(tmp_path, '[tool.whowaits]\nfail-on = "warning"\n')
    assert invoke("check", root).exit_code == 1
    assert invoke("check", root, "--fail-on", "error").exit_code == 0  # the command line wins


def test_config_and_isolated_flags(tmp_path) -> None:
    root = _project(tmp_path, '[tool.whowaits]\nignore = ["WW201"]\n')
    assert "All clear" in invoke("check", root).output
    assert "WW201" in invoke("check", root, "--isolated").output
    other = tmp_path / "strict.toml"
    other.write_text('severity = { WW201 = "error" }\n')
    assert invoke("check", root, "--config", str(other)).exit_code == 1


def test_nearest_config_wins(tmp_path) -> None:
    _project(tmp_path, '[tool.whowaits]\nignore = ["WW201"]\n')
    inner = tmp_path / "inner"
    inner.mkdir()
    _project(inner, 'select = ["WW2"]\n', name="whowaits.toml")
    assert "All clear" in invoke("check", str(tmp_path)).output
    assert "WW201" in invoke("check", str(inner)).output


def test_config_command_shows_sources(tmp_path) -> None:
    root = _project(tmp_path, '[tool.whowaits]\nignore = ["WW201"]\npoll-interval-min = 60\n')
    out = invoke("config", root, "--isolated").output
    assert "# configuration file: none (defaults)" in out
    out = invoke("config", root).output.splitlines()
    assert out[0] == f"# configuration file: {os.path.join(root, 'pyproject.toml')}"
    ignore = next(line for line in out if line.startswith("ignore"))
    assert "['WW201']" in ignore and ignore.endswith(os.path.join(root, "pyproject.toml"))
    select = next(line for line in out if line.startswith("select"))
    assert select.endswith("# default")
    shown = invoke("check", root, "--show-settings", "--select", "WW2").output
    assert next(line for line in shown.splitlines() if line.startswith("select")).endswith("# command line")


@pytest.mark.parametrize(
    "config, message",
    [
        ('[tool.whowaits]\nselct = ["WW"]\n', "unknown key `selct` in [tool.whowaits]"),
        ('[tool.whowaits]\nselect = "WW"\n', "`select` must be a list of strings"),
        ('[tool.whowaits]\nfail-on = "fatal"\n', '`fail-on` must be one of "info", "warning", "error"'),
        ('[tool.whowaits]\npoll-interval-min = "fast"\n', "`poll-interval-min` must be a finite, non-negative number of seconds"),
        ('[tool.whowaits]\nignore = ["WW999"]\n', "`ignore` names unknown rule code or prefix `WW999`"),
        ('[tool.whowaits]\nseverity = { WW999 = "error" }\n', "`severity` names unknown rule code `WW999`"),
        ('[tool.whowaits.contexts]\nslow = ["x"]\n', "unknown key `contexts.slow`"),
        ('[tool.whowaits]\nper-file-ignores = ["x"]\n', "`per-file-ignores` must be a table"),
        ("[tool.whowaits\n", "invalid TOML"),
    ],
)
def test_malformed_config_exits_2_naming_file_and_key(tmp_path, config: str, message: str) -> None:
    root = _project(tmp_path, config)
    result = invoke("check", root)
    assert result.exit_code == 2
    assert os.path.join(root, "pyproject.toml") in result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_add_noqa_round_trip(tmp_path) -> None:
    shutil.copy(os.path.join(FIXTURES, "rules", "ww302_bad.py"), tmp_path / "ids.py")
    shutil.copy(os.path.join(FIXTURES, "rules", "ww401_bad.py"), tmp_path / "results.py")
    (tmp_path / "pyproject.toml").write_text("")
    before = {p.name: p.read_text() for p in tmp_path.iterdir()}
    first = invoke("check", str(tmp_path), "--add-noqa")
    assert first.exit_code == 0 and first.output.startswith("Added noqa comments to ")
    after = invoke("check", str(tmp_path))
    assert after.exit_code == 0 and "All clear" in after.output, after.output
    for name, text in before.items():
        new = (tmp_path / name).read_text()
        old_lines, new_lines = text.splitlines(), new.splitlines()
        assert len(old_lines) == len(new_lines)
        for old, changed in zip(old_lines, new_lines):
            # Each line is unchanged or gained a noqa comment at its end (codes merged).
            assert changed == old or (changed.startswith(old.split("  # noqa")[0]) and "# noqa: WW" in changed)
    # Running it again changes nothing.
    assert invoke("check", str(tmp_path), "--add-noqa").output.startswith("Added noqa comments to 0 lines")
