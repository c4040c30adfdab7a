"""The pre-commit hook, for real: the README's snippet installs it from this checkout into a new
repository, and commits are refused or accepted."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import committed_checkout, readme_snippet

BAD = '''\
import time

import anthropic
from flask import Flask

app = Flask(__name__)
client = anthropic.Anthropic()


@app.post("/review")
def review():
    batch = client.messages.batches.create(requests=[{"custom_id": "r", "params": {}}])
    while client.messages.batches.retrieve(batch.id).processing_status != "ended":
        time.sleep(60)
    return "done"
'''

GOOD = BAD.replace(
    '''    while client.messages.batches.retrieve(batch.id).processing_status != "ended":
        time.sleep(60)
    return "done"''',
    '''    return {"batch_id": batch.id}, 202''',
)


def test_readme_precommit_snippet_refuses_a_misrouted_batch_and_passes_a_fix(tmp_path) -> None:
    """The README's `.pre-commit-config.yaml`, as written, with `<repo-url>` a clone of this checkout."""
    text, snippet = readme_snippet("repos")
    assert snippet["repos"][0]["repo"] == "<repo-url>" and snippet["repos"][0]["rev"] == "main"
    upstream = committed_checkout(str(tmp_path / "whowaits"))
    repo = tmp_path / "project"
    repo.mkdir()
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t", PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), cwd=repo, env=env, capture_output=True, text=True, timeout=900)

    run("git", "init", "-q")
    (repo / "pyproject.toml").write_text("[project]\nname = 'demo'\nversion = '0'\n")
    (repo / ".pre-commit-config.yaml").write_text(text.replace("<repo-url>", upstream))
    assert run(sys.executable, "-m", "pre_commit", "install").returncode == 0
    run("git", "add", "pyproject.toml", ".pre-commit-config.yaml")
    assert run("git", "commit", "-qm", "setup").returncode == 0

    (repo / "api.py").write_text(BAD)
    run("git", "add", "api.py")
    refused = run("git", "commit", "-qm", "add a handler that waits for a batch")
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "error[WW101]" in refused.stdout + refused.stderr

    (repo / "api.py").write_text(GOOD)
    run("git", "add", "api.py")
    accepted = run("git", "commit", "-qm", "answer with the batch id")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr

    # A commit that only changes a workflow is checked too: moving the nightly digest to
    # pull_request makes a pre-merge check wait on a batch, reported in the script it runs.
    (repo / "digest.py").write_text(DIGEST)
    workflow = repo / ".github" / "workflows" / "digest.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(WORKFLOW.format(trigger="schedule:\n    - cron: '0 3 * * *'"))
    run("git", "add", "digest.py", ".github")
    nightly = run("git", "commit", "-qm", "nightly digest")
    assert nightly.returncode == 0, nightly.stdout + nightly.stderr
    workflow.write_text(WORKFLOW.format(trigger="pull_request:"))
    run("git", "add", ".github")
    premerge = run("git", "commit", "-qm", "run the digest on every pull request")
    assert premerge.returncode != 0, premerge.stdout + premerge.stderr
    output = premerge.stdout + premerge.stderr
    assert "digest.py" in output and "error[WW101]" in output


DIGEST = '''\
import time

import anthropic

client = anthropic.Anthropic()

if __name__ == "__main__":
    batch = client.messages.batches.create(requests=[{"custom_id": "d", "params": {}}])
    while client.messages.batches.retrieve(batch.id).processing_status != "ended":
        time.sleep(60)
'''

WORKFLOW = """\
on:
  {trigger}
jobs:
  digest:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python digest.py
"""
