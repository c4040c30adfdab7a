"""Fix pairs under fixtures/fixes/: each case (a `.py` file or a project folder) is linted like
every fixture (its `# expect:` comments), and each snapshot next to a file is what `check --fix`
must turn that file into: `name.py.fixed` with safe fixes only, `name.py.unsafe-fixed` with
`--unsafe-fixes`. The fixed copy is linted again: the findings fixed in that mode are gone,
the others are still there, and nothing new appeared. Adding a pair is adding files.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
from collections import Counter
from typing import List, Tuple

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import FIXTURES, run

from whowaits.cli import main
from whowaits.config import load_rules, resolve_settings
from whowaits.fixes import offer, wanted

FIXES = os.path.join(FIXTURES, "fixes")
MODES = {".fixed": False, ".unsafe-fixed": True}


def _snapshots() -> List[Tuple[str, str, str]]:
    """(case, python file relative to the case, snapshot suffix) for every snapshot."""
    out = []
    for case in sorted(os.listdir(FIXES)):
        base = os.path.join(FIXES, case)
        files = [base] if os.path.isfile(base) else [os.path.join(d, f) for d, _, fs in os.walk(base) for f in fs]
        for path in sorted(files):
            for suffix in MODES:
                if path.endswith(".py" + suffix):
                    source = path[: -len(suffix)]
                    out.append((case if os.path.isdir(base) else case[: -len(".py" + suffix)] + ".py",
                                os.path.relpath(source, base) if os.path.isdir(base) else os.path.basename(source),
                                suffix))
    return out


def _copy_case(case: str, dest: str) -> str:
    """The case copied without its snapshots; returns the folder to lint."""
    source = os.path.join(FIXES, case)
    if os.path.isdir(source):
        shutil.copytree(source, dest, ignore=lambda d, names: [n for n in names if n.endswith(tuple(MODES))])
    else:
        os.makedirs(dest)
        shutil.copy(source, dest)
    return dest


def _findings(path: str):
    """Findings of a case folder or a single fixture file, each with the fix it is offered."""
    settings = resolve_settings([path])
    result = run([path], root=path if os.path.isdir(path) else os.path.dirname(path), settings=settings)
    return offer(result, load_rules(settings), settings.poll_interval_min).findings


@pytest.mark.parametrize("case,file,suffix", _snapshots())
def test_fix_pair(case: str, file: str, suffix: str, tmp_path) -> None:
    unsafe = MODES[suffix]
    root = _copy_case(case, str(tmp_path / "case"))
    before = _findings(root)
    args = ["check", root, "--fix", "--no-cache", "--exit-zero"] + (["--unsafe-fixes"] if unsafe else [])
    outcome = CliRunner().invoke(main, args, catch_exceptions=False)
    assert "dropped" not in outcome.output, outcome.output
    with open(os.path.join(root, file), encoding="utf-8") as fh:
        fixed = fh.read()
    case_dir = os.path.join(FIXES, case)
    snapshot = os.path.join(case_dir if os.path.isdir(case_dir) else FIXES, file + suffix)
    with open(snapshot, encoding="utf-8") as fh:
        assert fixed == fh.read(), "".join(difflib.unified_diff(fh.read().splitlines(True), fixed.splitlines(True)))
    after = _findings(root)
    remaining = Counter((f.path, f.code) for f in before if not wanted(f, unsafe))
    assert Counter((f.path, f.code) for f in after) == remaining, [f"{f.path}:{f.line} {f.code}" for f in after]
    assert any(wanted(f, unsafe) for f in before), "a snapshot must come from at least one fix"


def test_every_fixable_rule_has_a_pair(catalog) -> None:
    """Each rule whose `[autofix]` offers a fix has a snapshot that exercises it."""
    covered = set()
    for case, _, suffix in _snapshots():
        covered.update(f.code for f in _findings(os.path.join(FIXES, case)) if wanted(f, MODES[suffix]))
    offered = {code for code, rule in catalog.items() if rule.autofix and rule.autofix.safety != "none"}
    assert offered <= covered, sorted(offered - covered)


def test_diff_writes_nothing_and_shows_the_safe_fixes(tmp_path) -> None:
    root = _copy_case("ww403_poll_sleep.py", str(tmp_path / "case"))
    path = os.path.join(root, "ww403_poll_sleep.py")
    with open(path, encoding="utf-8") as fh:
        original = fh.read()
    outcome = CliRunner().invoke(main, ["check", root, "--diff", "--no-cache"], catch_exceptions=False)
    assert outcome.exit_code == 1
    with open(path, encoding="utf-8") as fh:
        assert fh.read() == original
    assert "-        time.sleep(CHECK_EVERY)  # expect: WW403\n+        time.sleep(30)  # expect: WW403\n" in outcome.output
    clean = CliRunner().invoke(main, ["check", root, "--diff", "--no-cache", "--select", "WW401"], catch_exceptions=False)
    assert clean.exit_code == 0 and clean.output == ""


def test_fix_applicability_in_text_json_and_sarif(tmp_path) -> None:
    root = _copy_case("ww401_results.py", str(tmp_path / "case"))
    text = CliRunner().invoke(main, ["check", root, "--no-cache", "--no-show-evidence"]).output
    assert "[*]" not in text and "No fixes available (2 hidden fixes can be enabled with the `--unsafe-fixes` option)." in text
    text = CliRunner().invoke(main, ["check", root, "--no-cache", "--unsafe-fixes", "--no-show-evidence"]).output
    assert text.count("warning[WW401] [*]") == 2 and "[*] 2 fixable with the `--fix` option." in text
    doc = json.loads(CliRunner().invoke(main, ["check", root, "--no-cache", "--output-format", "json"]).output)
    fixes = [f["fix"] for f in doc["findings"]]
    assert [f and (f["safe"], f["applicability"]) for f in fixes] == [(False, "unsafe"), (False, "unsafe"), None]
    assert "\n        if row.result.type != \"succeeded\":\n" in fixes[0]["edits"][0]["content"]  # exact, not escaped
    assert fixes[1]["edits"] == [{"content": "errored", "location": {"row": 17, "column": 32},
                                  "end_location": {"row": 17, "column": 38}}]
    sarif = json.loads(CliRunner().invoke(main, ["check", root, "--no-cache", "--output-format", "sarif"]).output)
    with open(os.path.join(os.path.dirname(__file__), "data", "sarif-schema-2.1.0.json"), encoding="utf-8") as fh:
        jsonschema.validate(sarif, json.load(fh))
    results = sarif["runs"][0]["results"]
    assert [r.get("fixes", [{}])[0].get("properties", {}).get("applicability") for r in results] == ["unsafe", "unsafe", None]
    replacement = results[1]["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement == {"deletedRegion": {"startLine": 17, "startColumn": 32, "endLine": 17, "endColumn": 38},
                           "insertedContent": {"text": "errored"}}


def test_a_fix_that_leaves_its_finding_is_dropped(tmp_path, monkeypatch) -> None:
    """The engine verifies by re-analysis: a fixer whose rewrite keeps the finding is reported."""
    from whowaits.fixes import fixers

    def useless(target):  # adds a comment only: the finding stays
        module = target.located.module
        return "touch", module.with_changes(footer=list(module.footer) + [
            fixers.cst.EmptyLine(comment=fixers.cst.Comment("# touched"))])

    monkeypatch.setitem(fixers.FIXERS, "poll-interval-too-short", useless)
    root = _copy_case("ww403_poll_sleep.py", str(tmp_path / "case"))
    outcome = CliRunner().invoke(main, ["check", root, "--fix", "--no-cache"])
    assert "WW403 dropped: the finding is still reported after the fix" in outcome.output
    with open(os.path.join(root, "ww403_poll_sleep.py"), encoding="utf-8") as fh:
        assert "# touched" not in fh.read()


def test_fixed_batch_job_runs_against_the_fake_provider(tmp_path, monkeypatch, capsys) -> None:
    """The same fake server as the migrations: before the fixes the job dies on the invalid
    custom_id (400); after `--fix --unsafe-fixes` it runs, and an errored result is collected
    instead of crashing the loop that reads the messages."""
    import anthropic
    from fakeprovider import FakeProvider, run_main

    root = _copy_case("batch_job", str(tmp_path / "case"))
    with FakeProvider() as fake, pytest.raises(anthropic.BadRequestError):
        run_main(root, fake, monkeypatch, capsys)
    CliRunner().invoke(main, ["check", root, "--fix", "--unsafe-fixes", "--no-cache"], catch_exceptions=False)
    with FakeProvider() as fake:
        out = run_main(root, fake, monkeypatch, capsys).splitlines()
    assert [line.split()[0] for line in out] == ["page-about", "page-home", "page-jobs"]
    assert fake.stats.batches == [3] and fake.stats.sync == 0
    with FakeProvider(inject=("errored",)) as fake:
        assert len(run_main(root, fake, monkeypatch, capsys).splitlines()) == 2


def test_a_fix_that_brings_a_new_finding_is_dropped(tmp_path, monkeypatch) -> None:
    from whowaits.fixes import fixers

    def careless(target):  # fixes the finding, and writes a batch with an invalid custom_id
        code = target.located.module.code.replace("time.sleep(CHECK_EVERY)", "time.sleep(30)")
        code += '\n\ndef more():\n    client.messages.batches.create(requests=[{"custom_id": "a b", "params": {}}])\n'
        return "careless", fixers.cst.parse_module(code)

    monkeypatch.setitem(fixers.FIXERS, "poll-interval-too-short", careless)
    root = _copy_case("ww403_poll_sleep.py", str(tmp_path / "case"))
    outcome = CliRunner().invoke(main, ["check", root, "--fix", "--no-cache"])
    assert "WW403 dropped: the fixed file gains a WW302 finding" in outcome.output
    with open(os.path.join(root, "ww403_poll_sleep.py"), encoding="utf-8") as fh:
        assert "def more" not in fh.read()


def test_the_fix_process_offers_what_offer_works_out_itself(tmp_path) -> None:
    """`whowaits.fixes.process`: the fixes worked out in the helper process are the same, and
    a helper that died makes `offer` do the work itself."""
    from whowaits.fixes.process import FixProcess

    root = shutil.copytree(FIXES, str(tmp_path / "all"), ignore=lambda d, names: [n for n in names if n.endswith(tuple(MODES))])
    settings = resolve_settings([root])
    result = run([root], root=root, settings=settings)
    catalog = load_rules(settings)
    plain = offer(result, catalog, settings.poll_interval_min).findings
    assert sum(f.fix is not None for f in plain) >= 7
    assert offer(result, catalog, settings.poll_interval_min, helper=FixProcess()).findings == plain
    # Told ahead where fixes will be (`checks.fixable_paths`, on the sites before their
    # contexts), it parses those files meanwhile; the answer is the same.
    from whowaits.checks import fixable_paths
    from whowaits.core import Project
    from whowaits.index import build_sites

    ahead = fixable_paths(Project(root, build_sites(result.graph.facts)[1], result.graph.facts, settings.poll_interval_min), catalog)
    assert ahead == sorted({f.path for f in plain if f.fix is not None})
    told = FixProcess()
    told.prepare(root, ahead, None)
    assert offer(result, catalog, settings.poll_interval_min, helper=told).findings == plain
    dead = FixProcess()
    dead._process.terminate()
    dead._process.join()
    assert offer(result, catalog, settings.poll_interval_min, helper=dead).findings == plain


@pytest.mark.parametrize("others,helped", [(20, 1), (2, 0)])
def test_check_hands_fixes_to_the_fix_process_on_large_projects(tmp_path, monkeypatch, others: int, helped: int) -> None:
    """The pipeline starts the helper when the pre-filter keeps enough files for the analysis
    to hide its start-up, and not for a few files."""
    from whowaits.fixes import process

    asked, told = [], []
    original, prepare = process.FixProcess.fixes, process.FixProcess.prepare

    def counting(self, *args):
        asked.append(args[1])
        return original(self, *args)

    def noting(self, root, paths, stdin):
        told.append(list(paths))
        return prepare(self, root, paths, stdin)

    monkeypatch.setattr(process.FixProcess, "fixes", counting)
    monkeypatch.setattr(process.FixProcess, "prepare", noting)
    shutil.copy(os.path.join(FIXES, "ww403_poll_sleep.py"), tmp_path)
    for i in range(others):
        (tmp_path / f"m{i}.py").write_text("import anthropic\n\nclient = anthropic.Anthropic()\n")
    outcome = CliRunner().invoke(main, ["check", str(tmp_path), "--no-cache", "--exit-zero"], catch_exceptions=False)
    assert "[*]" in outcome.output and "WW403" in outcome.output
    assert len(asked) == helped
    assert told == [["ww403_poll_sleep.py"]] * helped  # told before the contexts are worked out
