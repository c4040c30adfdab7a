"""What pre-commit, `--changed-since` and editors see: a finding is in scope when its place or
any step of its evidence chain is in the files checked or on a changed line.

The case from the issue: a committed job module submits a batch and polls it (no entry point
reaches it, so nothing is wrong yet); a new Flask route in another file calls it. The WW101 is
in the job module, but the change that causes it is the route.
"""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner

from whowaits.cli import main

JOBS = '''\
import time

import anthropic

client = anthropic.Anthropic()


def run_digest(tickets):
    batch = client.messages.batches.create(
        requests=[{"custom_id": f"t-{t}", "params": {"model": "m", "max_tokens": 9, "messages": []}} for t in tickets]
    )
    while client.messages.batches.retrieve(batch.id).processing_status != "ended":
        time.sleep(60)
    return batch.id
'''

WEB = '''\
from flask import Flask, request

from jobs import run_digest

app = Flask(__name__)


@app.post("/digest")
def digest_now():
    return {"batch": run_digest(request.json["tickets"])}
'''

# The same module without the route: nothing reaches the job from a request.
WEB_WITHOUT_ROUTE = WEB.split("\n\n@app.post")[0] + "\n"


def _git(root, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=a", *args], cwd=root, check=True,
                   capture_output=True)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """The job module committed; the route added in a new, uncommitted file."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'desk'\nversion = '0'\n")
    (tmp_path / "jobs.py").write_text(JOBS)
    (tmp_path / "other.py").write_text("def unrelated():\n    return 1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "jobs")
    (tmp_path / "web.py").write_text(WEB)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(*args: str, stdin: str = ""):
    return CliRunner().invoke(main, ["check", "--no-cache", *args], input=stdin, catch_exceptions=False)


def _reported(output: str):
    return [line.split()[:2] for line in output.splitlines() if ": error[" in line or ": warning[" in line]


def test_a_file_list_reports_findings_whose_chain_passes_through_it(project) -> None:
    result = check("web.py")  # what pre-commit runs when web.py is staged
    assert result.exit_code == 1, result.output
    assert _reported(result.output) == [["jobs.py:9:13:", "error[WW101]"]]
    assert "    note: reported because its evidence passes through web.py:8, in the files checked" in result.output
    # Near miss: a file no chain passes through brings nothing in.
    unrelated = check("other.py")
    assert unrelated.exit_code == 0 and _reported(unrelated.output) == []


def test_changed_since_reports_what_a_changed_line_brought_in(project) -> None:
    result = check("--changed-since", "HEAD")
    assert result.exit_code == 1, result.output
    assert _reported(result.output) == [["jobs.py:9:13:", "error[WW101]"]]
    assert "    note: reported because its evidence passes through web.py:8, changed since HEAD" in result.output
    github = check("--changed-since", "HEAD", "--output-format", "github").output
    assert github.startswith("::error file=jobs.py,line=9,col=13,title=WW101 ")
    assert "%0A  reported because its evidence passes through web.py:8, changed since HEAD%0A  -> web.py:8: entry:" in github
    # Once the route is committed, an unrelated change hides the finding, and says so.
    _git(project, "add", "web.py")
    _git(project, "commit", "-qm", "route")
    (project / "other.py").write_text("def unrelated():\n    return 2\n")
    quiet = check("--changed-since", "HEAD")
    assert quiet.exit_code == 0 and _reported(quiet.output) == []
    assert quiet.output.splitlines()[-1] == (
        "All clear: 2 LLM call sites in 1 file, no findings (1 more outside the changed lines).")


def test_stdin_buffer_brings_in_the_finding_it_causes(project) -> None:
    result = check("--stdin-filename", "web.py", stdin=WEB)
    assert result.exit_code == 1, result.output
    assert _reported(result.output) == [["jobs.py:9:13:", "error[WW101]"]]
    before = check("--stdin-filename", "web.py", stdin=WEB_WITHOUT_ROUTE)
    assert before.exit_code == 0 and _reported(before.output) == []


def test_add_noqa_on_a_file_list_edits_only_those_files(project) -> None:
    """A finding another file brought in is that file's to suppress."""
    result = check("web.py", "--add-noqa")
    assert result.exit_code == 0 and (project / "jobs.py").read_text() == JOBS
    assert (project / "web.py").read_text() == WEB


def test_a_started_subclass_is_named_after_its_base() -> None:
    """A thread or process subclass's `run` is a background entry named as its base's target
    would be (`STARTED_NAMES`): a thread's from its own module, a process's from another."""
    import os

    from conftest import FIXTURES, run

    root = os.path.join(FIXTURES, "contexts", "thread_subclass")
    entries = {(s.path, s.call.function): {c.entry for c in s.contexts if c.kind == "background"} for s in run([root], root=root).sites}
    assert entries[("local.py", "Describe.run")] == {"local.py:17 Describe.run (background thread at local.py:47)"}
    assert entries[("workers.py", "Summarizer.run")] == {"workers.py:51 Summarizer.run (background process at nightly.py:11)"}
