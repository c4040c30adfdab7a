"""The command line through click's runner, and once through a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from click.testing import CliRunner

from conftest import FIXTURES, REPO
from whowaits import __version__
from whowaits.cli import main

EXAMPLE = os.path.join(FIXTURES, "projects", "example")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_check_text_reports_findings_and_exits_1(monkeypatch) -> None:
    monkeypatch.chdir(EXAMPLE)
    result = invoke("check", ".", "--no-cache")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("supportdesk/nightly.py:15:30: error[WW302] custom_id")
    assert "    -> supportdesk/nightly.py:28: submitted by messages.batches.create in submit" in lines
    assert "    -> supportdesk/web.py:20: entry: digest_now (Flask route)" in lines
    assert lines[-2] == "Found 6 findings (2 errors, 4 warnings): 5 LLM call sites in 3 files."
    # the WW403 sleep has a safe fix; the WW302 id and the WW401 read have unsafe ones
    assert lines[-1] == "[*] 1 fixable with the `--fix` option (2 hidden fixes can be enabled with the `--unsafe-fixes` option)."


def test_text_paths_are_relative_to_the_working_folder(monkeypatch) -> None:
    """As ruff prints them: `path:line:col` a terminal or editor opens from where you are."""
    monkeypatch.chdir(REPO)
    lines = invoke("check", EXAMPLE, "--no-cache").output.splitlines()
    assert lines[0].startswith("fixtures/projects/example/supportdesk/nightly.py:15:30: error[WW302]")
    assert "    -> fixtures/projects/example/supportdesk/web.py:20: entry: digest_now (Flask route)" in lines
    monkeypatch.chdir(os.path.join(EXAMPLE, "supportdesk"))
    lines = invoke("check", "..", "--no-cache", "--no-show-evidence").output.splitlines()
    assert lines[0].startswith("nightly.py:15:30: error[WW302]")
    assert any(line.startswith("triage.py:6:12: warning[WW201]") for line in lines)
    monkeypatch.chdir(os.path.join(FIXTURES, "rules"))  # outside the project: absolute paths
    lines = invoke("check", EXAMPLE, "--no-cache").output.splitlines()
    assert lines[0].startswith(os.path.join(EXAMPLE, "supportdesk", "nightly.py") + ":15:30: error[WW302]")


def test_statistics_prints_counts_only_most_frequent_first(tmp_path) -> None:
    project = tmp_path / "p"
    shutil.copytree(EXAMPLE, project)
    (project / "supportdesk" / "extra.py").write_text(
        "from .llm import get_client\n\n\ndef resubmit(requests):\n"
        "    client = get_client()\n"
        "    client.messages.batches.create(requests=[{\"custom_id\": \"a:b\", \"params\": {}}])\n"
        "    client.messages.batches.create(requests=[{\"custom_id\": \"c d\", \"params\": {}}])\n"
    )
    out = invoke("check", str(project), "--no-cache", "--statistics").output.splitlines()
    assert out[:-1] == [
        "    3\tWW302\tcustom-id-invalid",
        "    1\tWW101\tbatch-awaited-in-blocking-path",
        "    1\tWW201\tsync-bulk-in-tolerant-path",
        "    1\tWW401\tresults-type-unchecked",
        "    1\tWW403\tpoll-interval-too-short",
        "    1\tWW404\timmediate-retry-on-batch",
    ]
    assert out[-1].startswith("Found 8 findings (4 errors, 4 warnings)")


def test_a_file_list_without_python_warns_instead_of_all_clear(monkeypatch) -> None:
    monkeypatch.chdir(EXAMPLE)
    result = invoke("check", "README.md", "--no-cache")
    assert result.exit_code == 0
    assert "whowaits: warning: no Python, CI, cron or deploy file in the paths given: nothing was checked" in result.output
    assert "Nothing checked: no Python, CI, cron or deploy file in the paths given." in result.output and "All clear" not in result.output
    folder = invoke("check", ".github", "--no-cache")
    assert "Nothing checked" in folder.output and "All clear" not in folder.output
    assert "All clear" in invoke("check", "README.md", "supportdesk/llm.py", "--no-cache").output
    # A workflow is in evidence chains: the findings it brings in are reported.
    workflow = invoke("check", ".github/workflows/nightly.yml", "--no-cache", "-q", "--no-show-evidence").output
    assert workflow.splitlines() == [next(line for line in invoke("check", ".", "--no-cache").output.splitlines()
                                          if line.startswith("supportdesk/triage.py:6:12: warning[WW201]")),
                                     "    note: reported because its evidence passes through .github/workflows/nightly.yml:4, "
                                     "in the files checked"]


def test_check_json_matches_the_documented_shape() -> None:
    result = invoke("check", EXAMPLE, "--no-cache", "--output-format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["version"] == 1
    assert set(doc) == {"version", "tool", "sites", "findings", "summary"}
    site = doc["sites"][0]
    for key in ("path", "line", "col", "provider", "operation", "function", "contexts", "verdict"):
        assert key in site
    assert {(s["path"], s["line"], s["operation"]) for s in doc["sites"]} == {
        ("supportdesk/nightly.py", 28, "batch_submit"),
        ("supportdesk/nightly.py", 33, "batch_poll"),
        ("supportdesk/nightly.py", 39, "batch_results"),
        ("supportdesk/triage.py", 6, "sync"),
        ("supportdesk/web.py", 12, "sync"),
    }
    finding = doc["findings"][0]
    assert set(finding) == {"code", "name", "severity", "path", "line", "col", "message", "evidence", "fingerprint", "fix"}
    assert (finding["code"], finding["path"], finding["line"], finding["col"]) == ("WW302", "supportdesk/nightly.py", 15, 30)
    assert finding["evidence"] == [{"path": "supportdesk/nightly.py", "line": 28, "note": "submitted by messages.batches.create in submit"}]
    assert doc["summary"]["by_code"] == {"WW101": 1, "WW201": 1, "WW302": 1, "WW401": 1, "WW403": 1, "WW404": 1}


def test_fail_on_exit_zero_select_and_ignore() -> None:
    assert invoke("check", EXAMPLE, "--no-cache", "--ignore", "WW302,WW101").exit_code == 0  # only warnings left
    assert invoke("check", EXAMPLE, "--no-cache", "--ignore", "WW302,WW101", "--fail-on", "warning").exit_code == 1
    assert invoke("check", EXAMPLE, "--no-cache", "--exit-zero").exit_code == 0
    selected = invoke("check", EXAMPLE, "--no-cache", "--select", "WW40", "--ignore", "WW403", "-q")
    assert [line.split()[1] for line in selected.output.splitlines() if not line.startswith(" ")] == [
        "warning[WW404]", "warning[WW401]"]


def test_clean_project_exits_0() -> None:
    result = invoke("check", os.path.join(FIXTURES, "rules", "ww104_ok.py"), "--no-cache")
    assert result.exit_code == 0
    assert result.output.startswith("All clear: 3 LLM call sites in ")


def test_usage_errors_exit_2() -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["check", "no/such/dir"])
    assert missing.exit_code == 2 and "no/such/dir: no such file or directory" in missing.output
    unknown = runner.invoke(main, ["check", EXAMPLE, "--select", "XX9"])
    assert unknown.exit_code == 2 and "unknown rule code or prefix `XX9`" in unknown.output
    bad_format = runner.invoke(main, ["check", EXAMPLE, "--output-format", "yaml"])
    assert bad_format.exit_code == 2


def test_output_file(tmp_path) -> None:
    out = tmp_path / "report.json"
    result = invoke("check", EXAMPLE, "--no-cache", "--output-format", "json", "--output-file", str(out))
    assert result.output == ""
    assert json.loads(out.read_text())["summary"]["findings"] == 6


def test_audit_table_and_json() -> None:
    table = invoke("audit", EXAMPLE, "--no-cache")
    assert table.exit_code == 0
    rows = {line.split()[0]: line.split() for line in table.output.splitlines() if line.startswith("supportdesk/")}
    assert rows["supportdesk/nightly.py:28:12"][1:] == [
        "batch_submit", "anthropic", "messages.batches.create", "submit", "blocking",
        "scheduled@.github/workflows/nightly.yml:4,", "http_handler@supportdesk/web.py:20", "-", "WW101,WW302,WW404",
    ]
    # Cost and batch saving per 1,000 calls: a blocking sync call is priced too (it just cannot move).
    assert rows["supportdesk/web.py:12:15"][5:] == ["blocking", "http_handler@supportdesk/web.py:10", "$15.36", "/", "$7.68", "-"]
    assert "verdicts: blocking: 3, tolerant: 2" in table.output
    assert "  .github/workflows/nightly.yml:4 on: schedule cron '0 2 * * *', run at line 11 [scheduled]" in table.output
    doc = json.loads(invoke("audit", EXAMPLE, "--no-cache", "--format", "json").output)
    assert [s["verdict"] for s in doc["sites"]] == ["blocking", "blocking", "tolerant", "tolerant", "blocking"]
    web = doc["sites"][4]
    assert web["contexts"] == [{
        "kind": "http_handler",
        "blocking": True,
        "entry": "supportdesk/web.py:10 draft_reply (Flask route)",
        "per_item": "",
        "evidence": [
            {"path": "supportdesk/web.py", "line": 10, "note": "entry: draft_reply (Flask route)"},
            {"path": "supportdesk/web.py", "line": 12, "note": "calls messages.create"},
        ],
    }]


def test_explain() -> None:
    known = invoke("explain", os.path.join(EXAMPLE, "supportdesk", "web.py") + ":12", "--no-cache")
    assert known.exit_code == 0
    assert known.output.splitlines()[:4] == [
        "supportdesk/web.py:12:15: anthropic messages.create (sync) in draft_reply",
        "verdict: blocking",
        "",
        "http_handler (blocking)",
    ]
    unknown = invoke("explain", os.path.join(FIXTURES, "resolution", "module_global.py") + ":9", "--no-cache")
    assert "No entry point reaches summarize" in unknown.output
    assert "summarize (fixtures/resolution/module_global.py) is not called from any analysed project code." in unknown.output
    nothing = CliRunner().invoke(main, ["explain", os.path.join(EXAMPLE, "supportdesk", "web.py") + ":1"])
    assert nothing.exit_code == 2 and "no LLM call site on that line" in nothing.output


def test_explain_says_which_contexts_a_test_gives_and_that_they_do_not_decide() -> None:
    jobs = os.path.join(FIXTURES, "contexts", "tolerant_with_test", "jobs.py")
    lines = invoke("explain", jobs + ":14", "--no-cache").output.splitlines()
    assert lines[1] == "verdict: tolerant"
    assert "ci_premerge (blocking, per item of the for at jobs.py:13; a test's: not counted in the verdict, other code reaches the site)" in lines
    assert "offline_script (tolerant, per item of the for at jobs.py:13)" in lines


def test_explain_names_the_branch_a_caller_rules_out() -> None:
    """A route that calls `run(rows, bulk=False)` never takes `if bulk:`: explain says so where
    the chain stops, instead of leaving the batch inside looking unreachable for no reason."""
    flags = os.path.join(FIXTURES, "dispatch", "mode_flags")
    result = invoke("explain", os.path.join(flags, "jobs", "llm.py") + ":32", "--no-cache")
    assert result.output.splitlines()[:2] == [
        "jobs/llm.py:32:22: anthropic messages.batches.create (batch_submit) in run_mode",
        "verdict: unknown",
    ]
    assert "  run_mode is called from modes at jobs/web.py:20 (the call never takes `if mode == 'batch'` there)" in result.output


def test_rule_command() -> None:
    listing = invoke("rule")
    assert "WW301  custom-id-not-unique" in listing.output
    one = invoke("rule", "ww403")
    assert one.output.startswith("WW403 poll-interval-too-short (warning)")
    assert "Provider fact" in one.output
    assert CliRunner().invoke(main, ["rule", "WW999"]).exit_code == 2


def test_version() -> None:
    assert invoke("--version").output.strip() == f"whowaits, version {__version__}"


def test_subprocess_run_and_file_arguments_keep_project_context() -> None:
    """A real process, given one file (as pre-commit does): reports the findings in that file or
    whose evidence chain passes through it."""
    target = os.path.join(EXAMPLE, "supportdesk", "nightly.py")
    proc = subprocess.run(
        [sys.executable, "-m", "whowaits", "check", target, "--no-cache", "--output-format", "json"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert [f["path"] for f in doc["findings"]].count("supportdesk/nightly.py") == 5
    # The WW201 in triage.py is reached from nightly.py's __main__ block: its chain passes here.
    assert [(f["path"], f["code"]) for f in doc["findings"] if f["path"] != "supportdesk/nightly.py"] == [
        ("supportdesk/triage.py", "WW201")]


def test_stdin_filename_lints_an_unsaved_buffer() -> None:
    target = os.path.join(EXAMPLE, "supportdesk", "nightly.py")
    with open(target, encoding="utf-8") as fh:
        buffer = fh.read().replace("time.sleep(10)", "time.sleep(120)")
    result = CliRunner().invoke(main, ["check", "--no-cache", "--stdin-filename", target, "-q", "--no-show-evidence"],
                                input=buffer)
    reported = [line for line in result.output.splitlines() if not line.startswith(" ")]
    codes = [line.split()[1] for line in reported]
    assert "warning[WW403]" not in codes and "error[WW302]" in codes  # the buffer, not the file on disk
    assert [line.split()[0] for line in reported if not line.startswith("fixtures/projects/example/supportdesk/nightly.py:")] == [
        "fixtures/projects/example/supportdesk/triage.py:6:12:"]  # label_all(tickets) in the buffer reaches it


def test_baseline_write_takes_output_file(tmp_path) -> None:
    """`-o FILE` names the baseline like the first argument does; no silent no-op."""
    target = tmp_path / "base.json"
    written = invoke("baseline", "write", "-o", str(target), EXAMPLE, "--no-cache")
    assert written.exit_code == 0 and written.output.strip() == f"Recorded 6 findings in {target}."
    assert len(json.loads(target.read_text())["findings"]) == 6
    assert invoke("check", EXAMPLE, "--no-cache", "--baseline", str(target)).exit_code == 0
    missing = CliRunner().invoke(main, ["baseline", "write"])
    assert missing.exit_code == 2 and "needs the file to write" in missing.output
    folder = CliRunner().invoke(main, ["baseline", "write", str(tmp_path), EXAMPLE])
    assert folder.exit_code == 2 and "is a folder" in folder.output


def test_config_prints_the_rules_in_force(catalog) -> None:
    default = invoke("config", EXAMPLE, "--isolated").output.splitlines()
    select = next(line for line in default if line.startswith("select "))
    assert select.split("#")[0].split("=")[1].strip() == "(every rule)"
    assert f"# rules in force ({len(catalog)} of {len(catalog)})" in default
    assert "WW101    batch-awaited-in-blocking-path         error" in default
    narrowed = invoke("config", os.path.join(FIXTURES, "config", "selection")).output.splitlines()
    rules = narrowed[narrowed.index(f"# rules in force (3 of {len(catalog)})") + 1:]
    assert [line.split()[0] for line in rules] == ["WW301", "WW303", "WW304"]


def test_audit_accepts_output_format_like_check() -> None:
    doc = json.loads(invoke("audit", EXAMPLE, "--no-cache", "--output-format", "json").output)
    assert len(doc["sites"]) == 5


def test_a_file_that_does_not_parse_is_an_error_at_cpythons_position(monkeypatch) -> None:
    monkeypatch.chdir(os.path.join(FIXTURES, "rules"))
    result = invoke("check", "ww001_bad.py", "--no-cache")
    assert result.exit_code == 1
    assert result.output.startswith("ww001_bad.py:5:61: error[WW001] file does not parse (syntax error at line 5, column 61: ")


def test_no_click_api_deprecated_for_click_9() -> None:
    """Click 9 removes what Click 8.2+ deprecates; any such use warns while the command runs."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        target = os.path.join(EXAMPLE, "supportdesk", "web.py")
        with open(target, encoding="utf-8") as fh:
            result = CliRunner().invoke(main, ["check", "--no-cache", "--stdin-filename", target], input=fh.read())
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert "WW101" in result.output
        for args in (["check", "--help"], ["audit", "--help"], ["baseline", "write", "--help"], ["config", EXAMPLE]):
            assert CliRunner().invoke(main, args).exception is None


def test_checking_a_folder_reports_nothing_from_outside_it(tmp_path) -> None:
    """Manifests are read from the whole project (a root workflow may run the folder's code),
    but a broken manifest elsewhere is not the folder's finding."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text("on: [push\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "ok.py").write_text("import anthropic\nanthropic.Anthropic().messages.create(model='m', max_tokens=1, messages=[])\n")
    inside = CliRunner().invoke(main, ["check", str(tmp_path / "app"), "--no-cache", "--output-format", "json"])
    assert [f["code"] for f in json.loads(inside.output)["findings"]] == []
    whole = CliRunner().invoke(main, ["check", str(tmp_path), "--no-cache", "--output-format", "json"])
    assert [f["code"] for f in json.loads(whole.output)["findings"]] == ["WW000"]
