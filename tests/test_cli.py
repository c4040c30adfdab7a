"""The command line through click's runner, and once through a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from conftest import FIXTURES, REPO
from whowaits import __version__
from whowaits.cli import main

EXAMPLE = os.path.join(FIXTURES, "projects", "example")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_check_text_reports_findings_and_exits_1() -> None:
    result = invoke("check", EXAMPLE, "--no-cache")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("supportdesk/nightly.py:15:30: WW302 custom_id")
    assert "    -> supportdesk/nightly.py:28: submitted by messages.batches.create in submit" in lines
    assert "    -> supportdesk/web.py:20: entry: digest_now (Flask route)" in lines
    assert lines[-2] == "Found 6 findings (2 errors, 4 warnings): 5 LLM call sites in 5 files."
    # the WW403 sleep has a safe fix; the WW302 id and the WW401 read have unsafe ones
    assert lines[-1] == "[*] 1 fixable with the `--fix` option (2 hidden fixes can be enabled with the `--unsafe-fixes` option)."


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
    assert [line.split()[1] for line in selected.output.splitlines() if not line.startswith(" ")] == ["WW404", "WW401"]


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
    """A real process, given one file (as pre-commit does): reports on that file only."""
    target = os.path.join(EXAMPLE, "supportdesk", "nightly.py")
    proc = subprocess.run(
        [sys.executable, "-m", "whowaits", "check", target, "--no-cache", "--output-format", "json"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert {f["path"] for f in doc["findings"]} == {"supportdesk/nightly.py"}
    assert len(doc["findings"]) == 5  # the WW201 in triage.py is not in the file given


def test_stdin_filename_lints_an_unsaved_buffer() -> None:
    target = os.path.join(EXAMPLE, "supportdesk", "nightly.py")
    with open(target, encoding="utf-8") as fh:
        buffer = fh.read().replace("time.sleep(10)", "time.sleep(120)")
    result = CliRunner().invoke(main, ["check", "--no-cache", "--stdin-filename", target, "-q", "--no-show-evidence"],
                                input=buffer)
    codes = [line.split()[1] for line in result.output.splitlines()]
    assert "WW403" not in codes and "WW302" in codes  # the buffer, not the file on disk
    assert all(line.startswith("supportdesk/nightly.py:") for line in result.output.splitlines())
