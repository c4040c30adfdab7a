"""Manifest readers, schedules and command resolution."""

from __future__ import annotations

import os

import pytest

from conftest import FIXTURES, run
from whowaits.facts import extract
from whowaits.index import ProjectIndex
from whowaits.manifests import Manifests, read_all
from whowaits.manifests.commands import invocations, make_targets
from whowaits.manifests.github import read_workflow, triggers
from whowaits.manifests.gitlab import read_gitlab
from whowaits.manifests.resolve import CommandResolver
from whowaits.manifests.schedule import cron_period_hours, systemd_period_hours
from whowaits.manifests.schedulers import read_crontab
from whowaits.manifests.yamlload import load_documents


@pytest.mark.parametrize(
    "expression, hours",
    [("*/10 * * * *", 1 / 6), ("0 * * * *", 1), ("0 2 * * *", 24), ("0 2 * * 1", 168), ("0 */6 * * *", 6),
     ("0 2,14 * * *", 12), ("@daily", 24), ("@hourly", 1), ("30 4 * * 1-5", 24), ("0 9 * * MON,WED,FRI", 48),
     ("0 2 1 * *", 720), ("not a cron", None), ("61 * * * *", None)],
)
def test_cron_periods(expression: str, hours) -> None:
    assert cron_period_hours(expression) == (pytest.approx(hours) if hours is not None else None)


def test_systemd_periods() -> None:
    assert systemd_period_hours("daily", None) == 24
    assert systemd_period_hours("*-*-* 02:00:00", None) == 24
    assert systemd_period_hours(None, "15min") == pytest.approx(0.25)


@pytest.mark.parametrize(
    "on, kinds",
    [
        ("on: push", ["ci_premerge"]),
        ("on: [pull_request, release]", ["ci_premerge", "ci_event"]),
        ("on:\n  schedule:\n    - cron: '0 3 * * *'\n  workflow_dispatch:\n", ["scheduled", "ci_manual"]),
        ("on:\n  issue_comment:\n    types: [created]\n", ["ci_comment"]),
        ("on:\n  push:\n    branches: [main]\n", ["ci_event"]),
        ("on:\n  push:\n    tags: ['v*']\n", ["ci_event"]),
        ("on:\n  push:\n    branches: ['feature/**']\n", ["ci_premerge"]),
        ("true: push", []),
    ],
)
def test_github_trigger_forms(on: str, kinds) -> None:
    doc = load_documents(on + "\njobs: {}\n")[0]
    assert [t[0] for t in triggers(doc)] == kinds


def test_github_steps_working_directory_and_local_actions() -> None:
    workflow = """\
on: pull_request
jobs:
  a:
    defaults:
      run:
        working-directory: tools
    timeout-minutes: 30
    steps:
      - run: python check.py
      - run: python build.py
        working-directory: ${{ matrix.dir }}
      - uses: ./.github/actions/lint
"""
    action = "runs:\n  using: composite\n  steps:\n    - run: python lint.py\n"
    entries = read_workflow(".github/workflows/ci.yml", workflow,
                            lambda p: action if p == ".github/actions/lint/action.yml" else None)
    # A local action's command is in its own file: its line is counted there, and named with it.
    assert [(e.command, e.cwd, e.command_path, e.command_line, e.deadline_hours) for e in entries] == [
        ("python check.py", "tools", "", 9, 0.5),
        ("python lint.py", "", ".github/actions/lint/action.yml", 4, 0.5),
    ]


def test_a_container_actions_command_is_evidence_in_its_dockerfile() -> None:
    root = os.path.join(FIXTURES, "manifests", "docker_action")
    result = run([root], root=root)
    [site] = result.sites
    assert [(e.path, e.line, e.note) for e in site.contexts[0].evidence[:3]] == [
        ("README.md", 5, "on: pull_request (example workflow using this action)"),
        ("Dockerfile", 5, "run: python write_changelog.py"),
        ("write_changelog.py", 11, "runs write_changelog.py: <main>"),
    ]


def test_gitlab_rules() -> None:
    text = open(os.path.join(FIXTURES, "manifests", "gitlab", ".gitlab-ci.yml")).read()
    entries = read_gitlab(".gitlab-ci.yml", text)
    assert sorted({(e.kind, e.command) for e in entries}) == [
        ("ci_premerge", "pip install -e ."),
        ("ci_premerge", "python tools/check_prompts.py"),
        ("scheduled", "python -m jobs.label_all"),
    ]


def test_crontab_user_field_and_macros() -> None:
    entries = read_crontab("etc/cron.d/app", "SHELL=/bin/sh\n0 2 * * * deploy cd app && python run.py\n@weekly root make report\n")
    assert [(e.command, e.period_hours) for e in entries] == [("cd app && python run.py", 24.0), ("make report", 168.0)]


@pytest.mark.parametrize(
    "command, expected",
    [
        ("python scripts/x.py", [("script", "scripts/x.py", "")]),
        ("cd tools && python -m app.cli", [("module", "app.cli", "tools")]),
        ("poetry run pytest tests/unit -k slow", [("pytest", "pytest", "")]),
        ("uv run --with rich python -m pkg", [("module", "pkg", "")]),
        ("FOO=1 time python3 -u job.py", [("script", "job.py", "")]),
        ("python ${{ matrix.script }}", []),
        ("python -c 'print(1)'", []),
        ("make nightly", [("make", "nightly", "")]),
        ("export-all --dry-run", [("console", "export-all", "")]),
        ("docker run --rm -e KEY=1 -v $PWD:/app app:latest python scripts/x.py", [("script", "scripts/x.py", "")]),
        ("/usr/bin/make daily", [("make", "daily", "")]),
    ],
)
def test_command_parsing(command: str, expected) -> None:
    assert [(i.kind, i.target, i.cwd) for i in invocations(command)] == expected


@pytest.mark.parametrize("command,subcommand", [
    ("python cli.py version", "version"),
    ("python -m tools.cli describe photos/", "describe"),
    ("uv run notes collect --wait", "collect"),
    ("python cli.py --verbose describe", ""),  # an option first: which word is the subcommand is not known
    ("python cli.py data.csv", ""),  # a file, not a subcommand's name
    ("python cli.py", ""),
])
def test_the_subcommand_a_command_names(command: str, subcommand: str) -> None:
    assert [i.subcommand for i in invocations(command)] == [subcommand]


def _resolver() -> CommandResolver:
    files = {
        "scripts/x.py": "import anthropic\nif __name__ == '__main__':\n    pass\n",
        "pkg/__init__.py": "",
        "pkg/__main__.py": "import anthropic\n",
        "pkg/cli.py": "import anthropic\ndef main():\n    pass\n",
        "tests/test_api.py": "import anthropic\ndef test_one():\n    pass\ndef helper():\n    pass\n",
        "other/test_b.py": "import anthropic\ndef test_two():\n    pass\n",
    }
    facts = {path: extract(text.encode()) for path, text in files.items()}
    manifests = Manifests(console_scripts={"pkg-cli": "pkg.cli:main"},
                          makefiles={"": make_targets("nightly:\n\tpython -m pkg.cli\n")})
    return CommandResolver(facts, ProjectIndex(facts), manifests)


@pytest.mark.parametrize(
    "command, keys",
    [
        ("python scripts/x.py", [("scripts/x.py", "<module>"), ("scripts/x.py", "<main>")]),
        ("cd scripts && python x.py", [("scripts/x.py", "<module>"), ("scripts/x.py", "<main>")]),
        ("python -m pkg", [("pkg/__main__.py", "<module>")]),
        ("pkg-cli", [("pkg/cli.py", "main")]),
        ("pytest tests", [("tests/test_api.py", "test_one")]),
        ("python -m pytest", [("other/test_b.py", "test_two"), ("tests/test_api.py", "test_one")]),
        ("make nightly", [("pkg/cli.py", "<module>")]),
        ("python missing.py", []),
    ],
)
def test_command_resolution(command: str, keys) -> None:
    from whowaits.core import ManifestEntry

    entry = ManifestEntry("ci.yml", 1, "ci_premerge", "on: push", command, 2)
    assert [target.key for target in _resolver().resolve(entry)] == keys


def test_manifest_evidence_starts_in_the_workflow() -> None:
    root = os.path.join(FIXTURES, "manifests", "github")
    result = run([root], root=root)
    [finding] = [f for f in result.findings if f.code == "WW101"]
    assert [(e.path, e.line, e.note) for e in finding.evidence[:3]] == [
        (".github/workflows/pr.yml", 3, "on: pull_request"),
        (".github/workflows/pr.yml", 12, "run: cd scripts; python review.py --pr ${{ github.event.number }}"),
        ("scripts/review.py", 15, "runs scripts/review.py: <main>"),
    ]


def test_unreadable_manifest_is_ww000(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    os.symlink(workflows / "missing.yml", workflows / "ci.yml")
    result = run([str(tmp_path)], root=str(tmp_path))
    assert [(f.code, f.path, f.message) for f in result.findings] == [
        ("WW000", ".github/workflows/ci.yml", "manifest not analyzed: broken symlink")
    ]


def test_read_all_skips_unknown_files(tmp_path) -> None:
    (tmp_path / "notes.yml").write_text("kind: ConfigMap\n")
    assert read_all(str(tmp_path), ["notes.yml", "README.md"]).entries == []


def test_checkout_path_and_template_units() -> None:
    workflow = """\
on: pull_request
jobs:
  a:
    steps:
      - uses: actions/checkout@v4
        with:
          path: .bot
      - run: cd .bot && python scripts/respond.py
"""
    [entry] = read_workflow(".github/workflows/bot.yml", workflow, lambda p: None)
    assert [(i.target, i.cwd) for i in invocations(entry.command, entry.cwd)] == [("scripts/respond.py", "")]
    from whowaits.manifests.schedulers import read_systemd_timer

    files = {"deploy/daily@.service": "[Service]\nExecStart=/usr/bin/python3 -m jobs.daily\n"}
    [timer] = read_systemd_timer("deploy/daily@film.timer", "[Timer]\nOnCalendar=daily\nUnit=daily@film.service\n", files.get)
    assert (timer.command, timer.period_hours) == ("/usr/bin/python3 -m jobs.daily", 24.0)


def test_audit_lists_python_commands_that_reach_nothing(tmp_path) -> None:
    from click.testing import CliRunner

    from whowaits.cli import main

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(
        "on: pull_request\njobs:\n  a:\n    steps:\n      - run: pip install .\n      - run: python tools/missing.py\n"
    )
    (tmp_path / "app.py").write_text("import anthropic\nanthropic.Anthropic().messages.create(model='m')\n")
    output = CliRunner().invoke(main, ["audit", str(tmp_path), "--no-cache"]).output
    assert "Python commands in CI, cron and deploy files that reach no analysed LLM code:" in output
    assert "  .github/workflows/ci.yml:6: python tools/missing.py" in output
    assert "pip install" not in output


def test_step_and_job_conditions_on_the_event() -> None:
    workflow = """\
on:
  schedule:
    - cron: "0 */3 * * *"
  workflow_dispatch:
jobs:
  batch:
    steps:
      - if: github.event_name == 'workflow_dispatch'
        run: python submit.py
      - if: ${{ github.event_name != 'workflow_dispatch' }}
        run: python poll.py
      - if: github.event_name == 'schedule' || inputs.force
        run: python both.py
      - run: python always.py
  manual-only:
    if: github.event_name == 'workflow_dispatch'
    steps:
      - run: python manual.py
"""
    entries = read_workflow(".github/workflows/batch.yml", workflow, lambda p: None)
    assert sorted((e.kind, e.command) for e in entries) == [
        ("ci_manual", "python always.py"),
        ("ci_manual", "python both.py"),
        ("ci_manual", "python manual.py"),
        ("ci_manual", "python submit.py"),
        ("scheduled", "python always.py"),
        ("scheduled", "python both.py"),
        ("scheduled", "python poll.py"),
    ]


def test_workflows_of_a_repository_inside_the_analysed_folder(tmp_path) -> None:
    repo = tmp_path / "checkouts" / "app"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / "scripts").mkdir()
    (repo / ".github" / "workflows" / "ci.yml").write_text(
        "on: pull_request\njobs:\n  a:\n    steps:\n      - run: cd scripts && python review.py\n"
    )
    (repo / "scripts" / "review.py").write_text(
        "import time, anthropic\nclient = anthropic.Anthropic()\nif __name__ == '__main__':\n"
        "    b = client.messages.batches.create(requests=[{'custom_id': 'a', 'params': {}}])\n"
        "    while client.messages.batches.retrieve(b.id).processing_status != 'ended':\n        time.sleep(60)\n"
    )
    result = run([str(tmp_path)], root=str(tmp_path))
    assert [(f.code, f.path, f.line) for f in result.findings] == [("WW101", "checkouts/app/scripts/review.py", 4)]
    assert result.findings[0].evidence[0].path == "checkouts/app/.github/workflows/ci.yml"


def test_serverless_schedule_expressions() -> None:
    from whowaits.manifests.serverless import handler_target, schedule_hours

    assert schedule_hours("rate(5 minutes)") == pytest.approx(5 / 60)
    assert schedule_hours("rate(1 day)") == 24.0
    assert schedule_hours("cron(0 2 * * ? *)") == 24.0  # AWS: minutes hours day month weekday year
    assert schedule_hours("0 */5 * * * *") == pytest.approx(5 / 60)  # Azure NCRONTAB: seconds first
    assert schedule_hours("01:00:00") == 1.0  # Azure TimeSpan
    assert schedule_hours("${self:custom.rate}") is None
    assert handler_target("", "src/handlers/user.create") == "src/handlers/user.py:create"
    assert handler_target("fn", "pkg.app.handler") == "fn/pkg/app.py:handler"
    assert handler_target("", "${env:HANDLER}") == ""


def test_azure_function_json_reads_bindings_and_host_timeout() -> None:
    from whowaits.manifests.serverless import read_azure_function
    from whowaits.manifests.yamlload import YamlError

    text = '{\n\t"bindings": [\n\t\t{"type": "queueTrigger", "direction": "in", "name": "msg"},\n\t\t{"type": "blob", "direction": "out"}\n\t]\n}\n'
    hosts = {"app/host.json": '{"version": "2.0", "functionTimeout": "00:05:00"}'}
    entries = read_azure_function("app/Ingest/function.json", text, hosts.get)
    assert [(e.kind, e.line, e.function, e.deadline_hours) for e in entries] == [
        ("background", 3, "app/Ingest/__init__.py:main", pytest.approx(5 / 60))
    ]
    with pytest.raises(YamlError):
        read_azure_function("app/Broken/function.json", "{not json", hosts.get)


def test_container_command_from_a_dockerfile() -> None:
    from whowaits.manifests.dockerfile import container_command

    text = 'FROM python:3.12\nWORKDIR /app\nCOPY . .\nENTRYPOINT ["python"]\nCMD ["/app/src/main.py", "--pr"]\n'
    assert container_command(text) == ("python src/main.py --pr", 4)
    assert container_command("FROM python:3.12\nCMD python -m tool.run\n") == ("python -m tool.run", 2)
    assert container_command("FROM scratch\n") is None
