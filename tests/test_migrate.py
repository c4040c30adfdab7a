"""`whowaits migrate` proven by running both programs.

Each case under fixtures/migrations/ (but `refusals`) is a small project whose `main.py` makes
per-item synchronous calls nobody waits on. The test runs it against the fake provider
(tests/fakeprovider.py, the real `anthropic` and `openai` SDKs pointed at 127.0.0.1), migrates
a copy with `whowaits migrate --all --write`, checks the migrated files against their
`.migrated` snapshots and that whowaits reports nothing on them, then runs the migrated
program: same output, one batch and no synchronous call; with injected errored and expired
results, one more batch for just those two and still the same output.

`refusals/main.py` marks each site with `# refuse: <part of the reason>`.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest
from click.testing import CliRunner
from conftest import FIXTURES
from fakeprovider import FakeProvider, run_main

from whowaits.cli import main

MIGRATIONS = os.path.join(FIXTURES, "migrations")
CASES = sorted(c for c in os.listdir(MIGRATIONS) if c != "refusals")


def _copy(case: str, dest: str) -> str:
    shutil.copytree(os.path.join(MIGRATIONS, case), dest, ignore=lambda d, names: [n for n in names if n.endswith(".migrated")])
    return dest


@pytest.mark.parametrize("case", CASES)
def test_migrated_program_gives_the_same_output_from_one_batch(case: str, tmp_path, monkeypatch, capsys) -> None:
    def _run(root: str, fake: FakeProvider) -> str:
        return run_main(root, fake, monkeypatch, capsys)

    root = _copy(case, str(tmp_path / case))
    with FakeProvider() as fake:
        original = _run(root, fake)
    items = fake.stats.sync
    assert items > 2 and fake.stats.batches == []

    migrated = CliRunner().invoke(main, ["migrate", "--all", root, "--write", "--no-cache"], catch_exceptions=False)
    assert migrated.exit_code == 0, migrated.output
    case_dir = os.path.join(MIGRATIONS, case)
    snapshots = [os.path.join(d, f) for d, _, fs in os.walk(case_dir) for f in fs if f.endswith(".migrated")]
    assert snapshots
    for snapshot in snapshots:
        relpath = os.path.relpath(snapshot, os.path.join(MIGRATIONS, case))[: -len(".migrated")]
        with open(snapshot, encoding="utf-8") as want, open(os.path.join(root, relpath), encoding="utf-8") as got:
            assert got.read() == want.read(), relpath

    lint = CliRunner().invoke(main, ["check", root, "--no-cache", "--no-show-evidence"])
    assert lint.exit_code == 0 and lint.output.startswith("All clear"), lint.output

    with FakeProvider(polls_before_end=0) as fake:
        assert _run(root, fake) == original
    assert fake.stats.sync == 0 and fake.stats.batches == [items]

    with FakeProvider(inject=("errored", "expired"), latency=0.01) as fake:
        assert _run(root, fake) == original
    assert fake.stats.sync == 0 and fake.stats.batches == [items, 2]


def test_refusals_give_their_reason(tmp_path) -> None:
    root = _copy("refusals", str(tmp_path / "refusals"))
    with open(os.path.join(root, "main.py"), encoding="utf-8") as fh:
        source = fh.read()
    expected = {n: m.group(1).strip() for n, line in enumerate(source.splitlines(), 1)
                for m in [re.search(r"# refuse: (.+)$", line)] if m}
    outcome = CliRunner().invoke(main, ["migrate", "--all", root, "--no-cache"])
    assert outcome.exit_code == 1
    reasons = dict(re.findall(r"main\.py:(\d+): not migrated: (.+)", outcome.output))
    assert sorted(int(n) for n in reasons) == sorted(expected), outcome.output
    for line, part in expected.items():
        assert part in reasons[str(line)], (line, reasons[str(line)])
    with open(os.path.join(root, "main.py"), encoding="utf-8") as fh:
        assert fh.read() == source


def test_migrate_one_site_by_line_and_print_a_diff(tmp_path) -> None:
    root = _copy("for_loop", str(tmp_path / "for_loop"))
    path = os.path.join(root, "main.py")
    outcome = CliRunner().invoke(main, ["migrate", f"{path}:10", "--no-cache"])  # the loop's line
    assert outcome.exit_code == 0, outcome.output
    assert "+    for note, answer in run_message_batch(client, notes, build_request):" in outcome.output
    nothing = CliRunner().invoke(main, ["migrate", f"{path}:3", "--no-cache"])
    assert nothing.exit_code == 2 and "no per-item synchronous call" in nothing.output


@pytest.mark.parametrize("minutes,expect", [
    (1500, "deadline_seconds=90000"),
    (360, "WW103 this wait for a batch gives up after 6 hours"),
])
def test_the_jobs_timeout_bounds_the_wait_or_refuses_it(minutes: int, expect: str, tmp_path) -> None:
    """A declared job timeout becomes the runner's deadline; one shorter than a batch may take
    would make the migrated code fail WW103, so that migration is refused with that finding."""
    root = _copy("for_loop", str(tmp_path / "for_loop"))
    os.makedirs(os.path.join(root, ".github", "workflows"))
    with open(os.path.join(root, ".github", "workflows", "nightly.yml"), "w", encoding="utf-8") as fh:
        fh.write("on:\n  schedule:\n    - cron: '0 3 * * *'\njobs:\n  notes:\n    runs-on: ubuntu-latest\n"
                 f"    timeout-minutes: {minutes}\n    steps:\n      - run: python main.py\n")
    outcome = CliRunner().invoke(main, ["migrate", "--all", root, "--no-cache"])
    assert expect in outcome.output
    assert outcome.exit_code == (0 if minutes > 24 * 60 else 1)
