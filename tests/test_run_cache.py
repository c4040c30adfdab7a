"""The run cache: a re-run over an unchanged tree reports what the last run reported, byte for
byte, without analysing; anything the run read or was told that changes makes it analyse again."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from whowaits import pipeline
from whowaits.cache import FactsCache
from whowaits.cli import main
from whowaits.report.formats import COMMANDS, formats

EXAMPLE = os.path.join(FIXTURES, "projects", "example")


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "example"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".whowaits_cache"))
    monkeypatch.chdir(root)
    return root


def check(*args: str) -> str:
    return CliRunner().invoke(main, ["check", ".", "--exit-zero", *args], catch_exceptions=False).output


def analyses(monkeypatch) -> list:
    """Counts the runs that analysed sources (a run served from the run cache does not)."""
    calls: list = []
    real = pipeline.analyze_sources

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "analyze_sources", counted)
    return calls


def decoded(monkeypatch) -> list:
    """Counts the runs that decoded the run record (a run that printed its kept output does not)."""
    calls: list = []
    real = FactsCache.get_run

    def counted(self, scope):
        calls.append(1)
        return real(self, scope)

    monkeypatch.setattr(FactsCache, "get_run", counted)
    return calls


CHECK_FORMATS = [fmt.name for fmt in COMMANDS["check"]]
VIEWS = [(), ("--statistics",), ("--unsafe-fixes",), ("--no-show-evidence",), ("--quiet",)]


@pytest.mark.parametrize("fmt", CHECK_FORMATS)
@pytest.mark.parametrize("options", VIEWS)
def test_warm_and_cold_runs_give_identical_bytes(project, monkeypatch, fmt, options) -> None:
    cold = check("--no-cache", "--output-format", fmt, *options)
    first = check("--output-format", fmt, *options)
    calls, records = analyses(monkeypatch), decoded(monkeypatch)
    warm = check("--output-format", fmt, *options)
    again = check("--output-format", fmt, *options)
    assert calls == []  # served from the run cache
    # a format whose bytes follow from the run and the view is printed again without decoding
    # the record (the run before kept it); SARIF's are not and decode it each time
    assert records == ([] if formats("check")[fmt].replayable else [1, 1])
    assert cold == first == warm == again
    assert "WW302" in warm


def test_a_run_in_another_view_decodes_the_record(project, monkeypatch) -> None:
    """One view is kept per run: a run printed otherwise decodes the record, then is kept."""
    text, as_json = check(), check("--output-format", "json")
    records = decoded(monkeypatch)
    assert check("--output-format", "json") == as_json
    assert records == []
    assert check() == text
    assert check("--statistics") == check("--no-cache", "--statistics")
    assert check() == text
    assert records == [1, 1, 1]


def test_the_kept_output_goes_where_the_run_prints(project, monkeypatch, tmp_path) -> None:
    """To stdout or to `--output-file`, the same bytes; the exit code is kept with them."""
    report = tmp_path / "report.txt"
    cold = CliRunner().invoke(main, ["check", ".", "--no-cache"])
    for _ in range(2):
        to_file = CliRunner().invoke(main, ["check", ".", "-o", str(report)])
        assert to_file.exit_code == cold.exit_code == 1 and to_file.output == ""
        assert report.read_text() == cold.output
    records = decoded(monkeypatch)
    assert CliRunner().invoke(main, ["check", "."]).output == cold.output
    served = CliRunner().invoke(main, ["check", ".", "-o", str(report)])
    assert (served.exit_code, served.output, report.read_text()) == (1, "", cold.output)
    assert records == []
    assert check() == CliRunner().invoke(main, ["check", ".", "--no-cache", "--exit-zero"]).output


def test_the_kept_output_is_in_colour_only_for_a_terminal(project) -> None:
    """Colour is part of the view: on a terminal the text is styled, kept styled, and not
    printed again to a pipe or under NO_COLOR (and the other way round)."""
    pty = pytest.importorskip("pty")

    def on_terminal(*args: str, env: dict = {}) -> bytes:
        leader, follower = pty.openpty()
        code = "from whowaits.cli import main; main()"
        subprocess.run([sys.executable, "-c", code, "check", ".", "--exit-zero", *args], stdout=follower,
                       stderr=subprocess.DEVNULL, cwd=project, env={**os.environ, **env}, check=True)
        os.close(follower)
        out = b""
        while True:
            try:
                chunk = os.read(leader, 1 << 16)
            except OSError:  # the terminal closed: everything was read
                break
            if not chunk:
                break
            out += chunk
        os.close(leader)
        return out

    cold = on_terminal("--no-cache")
    assert b"\x1b[" in cold
    assert on_terminal() == on_terminal() == cold
    plain = on_terminal("--no-cache", env={"NO_COLOR": "1"})
    assert b"\x1b[" not in plain
    assert on_terminal(env={"NO_COLOR": "1"}) == plain
    assert on_terminal() == cold
    assert check().encode().replace(b"\n", b"\r\n") == plain


def test_a_warning_and_the_exit_code_are_printed_again(project, monkeypatch) -> None:
    """What the run said on stderr comes back with its output (here: nothing was checked)."""
    code = "from whowaits.cli import main; main()"
    runs = [subprocess.run([sys.executable, "-c", code, "check", "README.md", *extra], capture_output=True, cwd=project)
            for extra in (["--no-cache"], [], [], [])]
    assert len({(r.returncode, r.stdout, r.stderr) for r in runs}) == 1
    assert b"nothing was checked" in runs[0].stderr


def test_an_edited_file_is_analysed_again(project, monkeypatch) -> None:
    before = json.loads(check("--output-format", "json"))
    nightly = project / "supportdesk" / "nightly.py"
    nightly.write_text(nightly.read_text() + "# a comment: the findings stay, the file changed\n")
    calls = analyses(monkeypatch)
    after = json.loads(check("--output-format", "json"))
    assert calls == [1]
    assert after["summary"] == before["summary"]
    os.remove(nightly)
    gone = json.loads(check("--output-format", "json"))
    assert calls == [1, 1]
    assert not any(f["path"].endswith("nightly.py") for f in gone["findings"])


def test_settings_and_paths_name_their_own_run(project, monkeypatch) -> None:
    everything = check("--output-format", "json")
    ignored = check("--output-format", "json", "--ignore", "WW302")
    assert "WW302" in everything and "WW302" not in ignored
    one_file = CliRunner().invoke(main, ["check", "supportdesk/web.py", "--exit-zero", "--output-format", "json"]).output
    calls = analyses(monkeypatch)
    assert check("--output-format", "json") == everything
    assert check("--output-format", "json", "--ignore", "WW302") == ignored
    again = CliRunner().invoke(main, ["check", "supportdesk/web.py", "--exit-zero", "--output-format", "json"]).output
    assert again == one_file
    assert calls == []


def test_a_new_file_and_a_new_manifest_count(project, monkeypatch) -> None:
    check()
    calls = analyses(monkeypatch)
    (project / "supportdesk" / "extra.py").write_text("X = 1\n")
    check()
    workflows = project / ".github" / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    (workflows / "hourly.yml").write_text("on:\n  schedule:\n    - cron: '0 3 * * *'\njobs:\n  run:\n"
                                           "    runs-on: ubuntu-latest\n    steps:\n"
                                           "      - run: python -m supportdesk.nightly\n")
    check()
    assert calls == [1, 1]


def test_files_a_manifest_reader_opened_are_part_of_the_inputs(project) -> None:
    walked = [f.relpath for f in pipeline.walk(str(project), [str(project)]).files]
    action = project / "action" / "action.yml"
    action.parent.mkdir()
    action.write_text("runs:\n  using: composite\n")
    before = pipeline.run_inputs(pipeline.watch(str(project), walked + ["action/action.yml"]))
    assert pipeline.run_inputs(pipeline.watch(str(project), walked)) != before
    action.write_text("runs:\n  using: composite\n  steps: []\n")
    assert pipeline.run_inputs(pipeline.watch(str(project), walked + ["action/action.yml"])) != before


@pytest.mark.parametrize("kind", ["record", "printed"])
def test_a_planted_or_stale_run_entry_is_a_miss(project, monkeypatch, kind) -> None:
    """A run record, or the output kept beside it, that another tree state wrote, that does not
    decode or that names paths no walk finds is not served."""
    expected = check("--output-format", "json")
    runs = [os.path.join(d, f) for d, _, files in os.walk(project / ".whowaits_cache") if d.endswith("runs") for f in files]
    assert len(runs) == 2
    printed = next(r for r in runs if r.endswith(".out.json"))
    entry_path = printed if kind == "printed" else next(r for r in runs if r != printed)

    def plant(edit) -> None:
        if kind == "record":  # else the kept output would be printed without reading the record
            os.remove(printed)
        with open(entry_path) as fh:
            entry = json.load(fh)
        with open(entry_path, "w") as fh:
            fh.write(edit(entry))

    def stale(entry: dict) -> str:
        entry["inputs"] = "0" * 64  # what another tree state read
        entry.update(findings=[]) if kind == "record" else entry.update(stdout="planted")
        return json.dumps(entry)

    def paths_no_walk_finds(entry: dict) -> str:
        entry["watched"] = ["a\u0000b", "../" * 200 + "etc", "/" + "x" * 5000]
        return json.dumps(entry)

    calls, records = analyses(monkeypatch), decoded(monkeypatch)
    for edit in (stale, lambda entry: '{"inputs": 1, "sites": "not a tuple", "stdout": 2}', paths_no_walk_finds):
        plant(edit)
        assert check("--output-format", "json") == expected
    assert records == [1, 1, 1]
    assert calls == ([1, 1, 1] if kind == "record" else [])


def test_an_edited_rule_file_names_its_own_run(tmp_path, monkeypatch) -> None:
    """The rules in force name the run by their files' bytes: an edited policy rule (`rule-paths`)
    is not answered with what the old rule printed."""
    root = tmp_path / "policy_rules"
    shutil.copytree(os.path.join(FIXTURES, "config", "policy_rules"), root, ignore=shutil.ignore_patterns(".whowaits_cache"))
    monkeypatch.chdir(root)
    before = check()
    assert "ACME002" in before
    rule = root / "policy" / "jobs_must_batch.toml"
    rule.write_text(rule.read_text().replace("our jobs use the Batch API", "batch it"))
    calls = analyses(monkeypatch)
    after = check()
    assert calls == [1]
    assert after == before.replace("our jobs use the Batch API", "batch it") != before
    assert check("--no-cache") == after


def test_a_user_price_table_names_the_run(tmp_path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text("date = '2026-01-01'\n")
    options = pipeline.Options(pipeline.Settings(prices=str(prices)))
    before = pipeline.run_scope(str(tmp_path), [str(tmp_path)], options)
    prices.write_text("date = '2026-02-01'\n")
    assert pipeline.run_scope(str(tmp_path), [str(tmp_path)], options) != before


def test_a_served_run_walks_nothing(project, monkeypatch) -> None:
    """A re-run stats what the last run listed and read instead of walking the tree."""
    expected = check("--output-format", "json")

    def no_walk(*args, **kwargs):
        raise AssertionError("a served run walks nothing")

    monkeypatch.setattr(pipeline, "walk", no_walk)
    assert check("--output-format", "json") == expected


def test_an_ignore_file_counts(project, monkeypatch) -> None:
    before = json.loads(check("--output-format", "json"))
    assert any(f["path"] == "supportdesk/nightly.py" for f in before["findings"])
    calls = analyses(monkeypatch)
    (project / ".gitignore").write_text("supportdesk/nightly.py\n")
    after = json.loads(check("--output-format", "json"))
    assert not any(f["path"] == "supportdesk/nightly.py" for f in after["findings"])
    (project / ".gitignore").write_text("# nothing ignored\n")
    again = json.loads(check("--output-format", "json"))
    assert again["findings"] == before["findings"]
    assert calls == [1, 1]


def test_an_edit_made_while_the_run_reads_is_seen_by_the_next_run(project, monkeypatch) -> None:
    """The state of the tree is taken before anything is read: a file edited after it was read
    is not recorded as what the run saw."""
    nightly = project / "supportdesk" / "nightly.py"
    real = pipeline.prefilter

    def edit_after_reading(contents):
        nightly.write_text(nightly.read_text() + "# edited while the run was analysing\n")
        return real(contents)

    monkeypatch.setattr(pipeline, "prefilter", edit_after_reading)
    check()
    monkeypatch.setattr(pipeline, "prefilter", real)
    calls = analyses(monkeypatch)
    check()
    assert calls == [1]


def test_a_served_run_loads_no_analysis_stage(project) -> None:
    """Served from the run cache, `check` imports neither the analysis stages, libcst nor YAML,
    nor any output format: it prints what the last run printed."""
    check()
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from whowaits.cli import main\n"
        "CliRunner().invoke(main, ['check', '.', '--exit-zero'], catch_exceptions=False)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('whowaits', 'libcst', 'yaml'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=project)
    loaded = set(ast.literal_eval(out.stdout))
    # (The rule engine's site properties are loaded: the catalog validates policy rules with them.)
    stages = {"whowaits.contexts", "whowaits.index", "whowaits.facts", "whowaits.fixes", "whowaits.suppress",
              "whowaits.baseline", "libcst", "yaml"}
    assert loaded & stages == set()
    assert {m for m in loaded if m.startswith("whowaits.manifests.")} == set()
    formats = {f"whowaits.report.{fmt.module}" for fmts in COMMANDS.values() for fmt in fmts}
    assert loaded & formats == set()


def test_an_ignore_file_that_becomes_readable_counts(project, monkeypatch) -> None:
    """A `.gitignore` that is a broken symlink is read by no walk, yet is watched: when its
    target appears (outside every folder the walk lists), the next run walks again."""
    outside = project.parent / "shared-ignore"
    (project / ".gitignore").symlink_to(outside)
    before = json.loads(check("--output-format", "json"))
    assert any(f["path"] == "supportdesk/nightly.py" for f in before["findings"])
    calls = analyses(monkeypatch)
    outside.write_text("supportdesk/nightly.py\n")
    after = json.loads(check("--output-format", "json"))
    assert calls == [1]
    assert not any(f["path"] == "supportdesk/nightly.py" for f in after["findings"])
