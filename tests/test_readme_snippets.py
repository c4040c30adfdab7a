"""The README's commands, run as written: the quick start, and the GitLab CI and GitHub Action
command lines, each in a subprocess against a clone of this checkout (the pre-commit snippet is
run by test_precommit.py). `<repo-url>` becomes the clone's file URL; nothing else changes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import Dict

import pytest
import yaml

from conftest import FIXTURES, REPO, committed_checkout, readme_blocks, readme_snippet

EXAMPLE = os.path.join(FIXTURES, "projects", "example")

# A new mistake in a project whose old findings are in the baseline.
NEW_EXPORT = '''from .llm import get_client


def export(rows):
    return get_client().messages.batches.create(requests=[{"custom_id": f"row:{r}", "params": {}} for r in rows])
'''


def _bash(script: str, cwd: str, env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The README's quick start, run as written in a clone of this checkout: it makes the
    virtualenv the CI snippets then run in (as the CI images' Python would)."""
    base = tmp_path_factory.mktemp("snippets")
    clone = committed_checkout(str(base / "whowaits"))
    quick_start = readme_blocks("sh")[0].strip()
    assert quick_start.endswith("whowaits check fixtures/projects/example")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    proc = _bash(quick_start, clone, env)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the example's findings
    assert "Found 6 findings (2 errors, 4 warnings): 5 LLM call sites in 3 files." in proc.stdout.splitlines()
    bin_dir = os.path.join(clone, ".venv", "bin")
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return clone, env


def _project(path) -> str:
    shutil.copytree(EXAMPLE, path)
    return str(path)


def test_gitlab_snippet(installed, tmp_path) -> None:
    clone, env = installed
    _, doc = readme_snippet("whowaits")
    project = _project(tmp_path / "project")
    results = []
    for line in doc["whowaits"]["script"]:
        results.append(_bash(line.replace("<repo-url>", "file://" + clone), project, env))
    install, report, gate = results
    assert install.returncode == 0, install.stderr
    assert report.returncode == 0, report.stderr  # --exit-zero
    issues = json.loads((tmp_path / "project" / doc["whowaits"]["artifacts"]["reports"]["codequality"]).read_text())
    assert len(issues) == 6 and {i["location"]["path"] for i in issues} == {"supportdesk/nightly.py", "supportdesk/triage.py"}
    assert gate.returncode == 1 and "error[WW101]" in gate.stdout


def _action_steps(inputs: Dict[str, str], action_path: str):
    """The composite action's shell steps with their `${{ }}` expressions filled in; `uses:`
    steps (setup-python, the SARIF upload) are the runner's part."""
    with open(os.path.join(REPO, "action.yml"), encoding="utf-8") as fh:
        action = yaml.safe_load(fh)
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values.update(inputs)

    def fill(text: str) -> str:
        text = text.replace("${{ github.action_path }}", action_path)
        return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], text)

    for step in action["runs"]["steps"]:
        condition = step.get("if")
        if condition:
            name, wanted = re.fullmatch(r"inputs\.([\w-]+) == '(\w+)'", condition).groups()
            if values[name] != wanted:
                continue
        if "run" in step:
            yield step["name"], fill(step["run"])


def test_github_action_snippet(installed, tmp_path) -> None:
    clone, env = installed
    _, doc = readme_snippet("jobs")
    step = doc["jobs"]["whowaits"]["steps"][1]
    assert step["uses"] == "<owner>/whowaits@main"
    project = _project(tmp_path / "project")
    # Adopted with a baseline, as the README says; then a change adds a misroute.
    assert _bash("whowaits baseline write whowaits-baseline.json", project, env).returncode == 0
    with open(os.path.join(project, "supportdesk", "export.py"), "w", encoding="utf-8") as fh:
        fh.write(NEW_EXPORT)
    ran = {name: _bash(command, project, env) for name, command in _action_steps(step["with"], clone)}
    assert list(ran) == ["Install whowaits", "SARIF report", "whowaits check"]
    assert ran["Install whowaits"].returncode == 0, ran["Install whowaits"].stderr
    sarif = json.loads((tmp_path / "project" / "whowaits.sarif").read_text())
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["WW302"]
    check = ran["whowaits check"]
    assert check.returncode == 1
    assert check.stdout.startswith("::error file=supportdesk/export.py,line=5,col=73,title=WW302 custom-id-invalid::")
