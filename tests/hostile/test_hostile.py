"""The scanned tree is an attacker's pull request: each case is built here, run through the real
CLI in a child process, and checked for what must never happen (code from the tree running,
unbounded memory or time, writes outside the output file and the cache, a crash instead of a
one-line diagnostic) and for what must still happen (the good file's finding)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import xml.etree.ElementTree as ET

import pytest

from hostile_support import GOOD, GOOD_FINDING, PEAK_RSS_BUDGET_MIB, changed_outside, make_project, snapshot, whowaits
from whowaits.cache import CACHE_DIR, cache_generation, content_key


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


def _evil_pickle(marker: str) -> bytes:
    """A pickle that calls `os.system` to create `marker` when loaded."""
    return pickle.dumps(_Exec(f"touch {marker}"))


class _Exec:
    """Unpickling this runs a shell command: proof that a cache entry was executed."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


# -- 1. the cache holds data only --------------------------------------------------------------


def test_planted_pickle_cache_entries_never_run(project, tmp_path) -> None:
    marker = tmp_path / "PWNED"
    key = content_key(GOOD.encode())
    evil = _evil_pickle(str(marker))
    for folder in ("0.1.0", cache_generation()):  # the old layout and the current one
        shard = project / CACHE_DIR / folder / key[:2]
        shard.mkdir(parents=True, exist_ok=True)
        (shard / key).write_bytes(evil)
        (shard / (key + ".json")).write_bytes(evil)
    run = whowaits(["check", "."], cwd=str(project))
    assert not marker.exists()
    assert run.rc == 0 and GOOD_FINDING in run.out  # the planted entry was a miss, the file analysed


@pytest.mark.parametrize("entry", [
    b"\xff\xfe not utf-8", b'{"calls": [', b'{"calls": 5}', b'{"error": null, "evil": 1}', b"[]", b"NaN",
    b'{"calls": [{"call_id": true}]}', b"[" * 100000,
])
def test_corrupt_cache_entries_are_misses(project, entry) -> None:
    key = content_key(GOOD.encode())
    shard = project / CACHE_DIR / cache_generation() / key[:2]
    shard.mkdir(parents=True)
    (shard / (key + ".json")).write_bytes(entry)
    run = whowaits(["check", "."], cwd=str(project))
    assert run.rc == 0 and GOOD_FINDING in run.out, run.err


@pytest.mark.parametrize("link", [CACHE_DIR, f"{CACHE_DIR}/GEN"])
def test_symlinked_cache_folder_is_not_followed(project, tmp_path, link) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    link = link.replace("GEN", cache_generation())
    if "/" in link:
        (project / CACHE_DIR).mkdir()
    os.symlink(outside, project / link)
    run = whowaits(["check", "."], cwd=str(project))
    assert run.rc == 0 and GOOD_FINDING in run.out
    assert os.listdir(outside) == []


def test_cache_is_keyed_by_the_code_that_computes_facts() -> None:
    version, schema, code = cache_generation().split("-")
    assert version and schema.startswith("s") and len(code) == 16


# -- 2. nothing from the tree is imported ------------------------------------------------------


def test_python_m_does_not_import_the_working_folder(project, tmp_path) -> None:
    marker = tmp_path / "IMPORTED"
    for module in ("json", "re", "click", "yaml", "libcst", "hashlib", "tomllib", "typing", "dataclasses"):
        (project / f"{module}.py").write_text(f"open({str(marker)!r}, 'a').write('{module}')\n")
    run = whowaits(["check", "."], cwd=str(project))
    assert not marker.exists(), marker.read_text()
    assert run.rc == 0 and GOOD_FINDING in run.out


# -- 3. YAML bombs -----------------------------------------------------------------------------


def _alias_bomb() -> str:
    lines = ["on: push", 'a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 12)]
    lines.append("jobs: {b: {runs-on: x, steps: [{run: python good.py}], k: *a11}}")
    return "\n".join(lines) + "\n"


def _merge_chain() -> str:
    lines = ["on: push", "m0: &m0 {k0: v}"]
    lines += [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: v}}" for i in range(1, 40)]
    lines.append("jobs: {b: {<<: *m39, runs-on: x, steps: [{run: python good.py}]}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name,text", [("bomb.yml", _alias_bomb()), ("merge.yml", _merge_chain())])
def test_yaml_bombs_are_bounded(project, name, text) -> None:
    assert len(text) < 2000
    workflows = project / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / name).write_text(text)
    run = whowaits(["check", ".", "--no-cache", "--no-show-evidence"], cwd=str(project), timeout=60)
    assert run.rc == 0 and GOOD_FINDING in run.out
    problem = [line for line in run.out.splitlines() if line.startswith(f".github/workflows/{name}")]
    assert len(problem) == 1 and "warning[WW000] manifest not analyzed: too large once aliases are expanded" in problem[0]
    assert run.peak_mib < PEAK_RSS_BUDGET_MIB


def test_composite_action_outside_the_root_is_not_read(project, tmp_path) -> None:
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "action.yml").write_text("runs: {using: composite, steps: [{run: python good.py, shell: bash}]}\n")
    workflows = project / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text("on: pull_request\njobs: {b: {runs-on: x, steps: [{uses: ./../secret}]}}\n")
    run = whowaits(["audit", ".", "--no-cache", "--format", "json"], cwd=str(project))
    sites = json.loads(run.out)["sites"]
    assert [c["kind"] for c in sites[0]["contexts"]] == ["offline_script"]


# -- 4. the root never escapes -----------------------------------------------------------------


def test_root_is_the_given_folder_without_markers(tmp_path) -> None:
    ancestor = tmp_path / "ancestor"
    (ancestor / ".github" / "workflows").mkdir(parents=True)
    (ancestor / ".github" / "workflows" / "pr.yml").write_text(
        "on: pull_request\njobs: {b: {runs-on: x, steps: [{run: python sub/good.py}]}}\n")
    (ancestor / "other.py").write_text("import anthropic\nanthropic.Anthropic().messages.create(model='m', max_tokens=1, messages=[])\n")
    (ancestor / "sub").mkdir()
    (ancestor / "sub" / "good.py").write_text(GOOD)
    before = snapshot(str(ancestor))
    run = whowaits(["check", "sub", "--output-format", "json"], cwd=str(ancestor))
    doc = json.loads(run.out)
    assert [s["path"] for s in doc["sites"]] == ["good.py"]  # other.py is not in the scope
    assert [c["kind"] for c in doc["sites"][0]["contexts"]] == ["offline_script"]  # pr.yml not read
    assert changed_outside(before, snapshot(str(ancestor)), (f"sub/{CACHE_DIR}",)) == []


def test_symlinked_file_outside_the_root_is_not_read(project, tmp_path) -> None:
    (tmp_path / "elsewhere.py").write_text(GOOD)
    os.symlink(tmp_path / "elsewhere.py", project / "link.py")
    run = whowaits(["check", ".", "--no-cache", "--no-show-evidence"], cwd=str(project))
    assert "link.py:1:1: warning[WW000] file not analyzed: symlink to a file outside the project root" in run.out
    assert "link.py:5" not in run.out and GOOD_FINDING in run.out


# -- 5. values from users never become options -------------------------------------------------


def test_changed_since_cannot_pass_options_to_git(project, tmp_path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    target = tmp_path / "written-by-git"
    for ref in (f"--output={target}", "-p", "HEAD --output=x"):
        run = whowaits(["check", ".", f"--changed-since={ref}"], cwd=str(project))
        assert run.rc == 2 and len(run.err.strip().splitlines()) == 1, run.err
    assert not target.exists()


# -- 6. names are carried as they are and escaped per format -----------------------------------


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "gitlab", "junit"])
def test_hostile_file_names(project, fmt) -> None:
    names = [b"caf\xe9", b"evil\nx.py:1:1: WW999 forged\x1b[31m", b"bidi\xe2\x80\xaeyp"]
    for name in names:
        with open(os.path.join(os.fsencode(project), name + b".py"), "w") as fh:
            fh.write(GOOD)
    run = whowaits(["check", ".", "--no-cache", "--output-format", fmt], cwd=str(project))
    assert run.rc == 0, run.err
    assert "\x1b" not in run.out and "\u202e" not in run.out and "WW999 forged\n" not in run.out
    if fmt == "text":
        findings = [line for line in run.out.splitlines() if ": warning[WW" in line and not line.startswith(" ")]
        assert len(findings) == 4 and not any(line.startswith("x.py:1:1") for line in findings)
        assert "caf\\xe9.py:5:9: warning[WW201]" in run.out and "evil\\nx.py:1:1: WW999 forged\\x1b[31m.py:5:9: warning[WW201]" in run.out
    elif fmt in ("json", "sarif", "gitlab"):
        json.loads(run.out)
    elif fmt == "junit":
        assert len(list(ET.fromstring(run.out.encode()).iter("failure"))) == 4
    elif fmt == "github":
        assert all(line.startswith("::") for line in run.out.splitlines()) and len(run.out.splitlines()) == 4


# -- 7. work per file is bounded by what it holds ----------------------------------------------


def test_big_ordinary_file_is_skipped_with_bounded_memory(project) -> None:
    body = ["import anthropic\n"]
    i = 0
    while sum(map(len, body)) < 1_000_000:
        body.append(f"def f{i}(xs):\n    return [{{'a': x['a'] + {i}, 'b': [y * 2 for y in x['b']]}} for x in xs if x]\n")
        i += 1
    (project / "big.py").write_text("".join(body))
    run = whowaits(["check", ".", "--no-cache", "--jobs", "2", "--no-show-evidence"], cwd=str(project), timeout=60)
    assert run.rc == 0 and GOOD_FINDING in run.out
    assert "big.py:1:1: warning[WW000] file not analyzed: too much code to analyse in one file" in run.out
    assert run.peak_mib < PEAK_RSS_BUDGET_MIB


# -- 8. configuration and rule files -----------------------------------------------------------


@pytest.mark.parametrize("pyproject,expect", [
    (b"[tool.whowaits]\nselect = ['\xff']\n", "not UTF-8 text"),
    (b"[tool.whowaits]\nx = " + b"[" * 3000 + b"]" * 3000 + b"\n", "nested too deeply"),
    (b"[tool.whowaits]\npoll-interval-min = nan\n", "`poll-interval-min` must be a finite, non-negative number"),
    (b"[tool.whowaits]\npoll-interval-min = inf\n", "`poll-interval-min` must be a finite, non-negative number"),
    (b"[tool.whowaits]\npoll-interval-min = -5\n", "`poll-interval-min` must be a finite, non-negative number"),
])
def test_bad_configuration_is_one_line_exit_2(project, pyproject, expect) -> None:
    (project / "pyproject.toml").write_bytes(pyproject)
    run = whowaits(["check", "."], cwd=str(project))
    assert run.rc == 2 and run.err.count("\n") == 1 and "pyproject.toml" in run.err and expect in run.err, run.err


def test_binary_config_file(project) -> None:
    (project / "blob.toml").write_bytes(bytes(range(256)) * 8)
    run = whowaits(["check", ".", "--config", "blob.toml"], cwd=str(project))
    assert run.rc == 2 and run.err.count("\n") == 1 and "blob.toml: not UTF-8 text" in run.err


@pytest.mark.parametrize("rule,expect", [
    ('message = "x {nope}"\n[when]\noperation = "sync"\n', "placeholder `{nope}` names no site fact"),
    ('message = "x"\n[when]\noperation = "synch"\n', "`when.operation` = 'synch' matches no known value"),
    ('message = "x"\nwhen = []\n', "`when` must be a non-empty table"),
    ('message = "x"\n[when]\nmessage = "only a message"\n', "`when` has no condition"),
])
def test_bad_policy_rule_is_one_line_exit_2(project, rule, expect) -> None:
    (project / "policy").mkdir()
    (project / "policy" / "r.toml").write_text(f'code = "ACME001"\nname = "r"\nseverity = "error"\n{rule}')
    (project / "pyproject.toml").write_text('[tool.whowaits]\nrule-paths = ["policy"]\n')
    run = whowaits(["check", "."], cwd=str(project))
    assert run.rc == 2 and run.err.count("\n") == 1 and "r.toml" in run.err and expect in run.err, run.err


def test_ignore_wins_over_select_on_the_same_code(project) -> None:
    run = whowaits(["check", ".", "--no-cache", "--select", "WW201", "--ignore", "WW201"], cwd=str(project))
    assert run.rc == 0 and "WW201" not in run.out


# -- 9. --add-noqa ------------------------------------------------------------------------------


def test_add_noqa_edits_every_file_in_its_own_encoding(project) -> None:
    (project / "latin.py").write_bytes(("# -*- coding: latin-1 -*-\n# café\n" + GOOD).encode("latin-1"))
    (project / "multi.py").write_text(GOOD.replace("'content': row}", "'content': '''\nrow\n'''}"))
    run = whowaits(["check", ".", "--no-cache", "--add-noqa"], cwd=str(project))
    assert run.rc == 0, run.err
    assert (project / "latin.py").read_bytes().decode("latin-1").splitlines()[6].endswith("  # noqa: WW201")
    assert (project / "multi.py").read_text().splitlines()[6] == "'''}])  # noqa: WW201"
    after = whowaits(["check", ".", "--no-cache"], cwd=str(project))
    assert after.rc == 0 and "WW201" not in after.out


def test_add_noqa_never_comments_a_line_that_cannot_suppress(project) -> None:
    (project / "tail.py").write_text(GOOD.rstrip("\n") + "; note = '''\nx\n'''\n")
    run = whowaits(["check", ".", "--no-cache", "--add-noqa"], cwd=str(project))
    assert "tail.py:5: WW201: no line of the expression can hold a comment" in run.err
    assert "noqa" not in (project / "tail.py").read_text()


def test_add_noqa_writes_nothing_when_one_file_fails(project) -> None:
    from whowaits.core import Finding
    from whowaits.suppress import NoqaError, add_noqa

    (project / "bad.py").write_bytes(b"# coding: ascii\n\xff = 1\n")
    before = snapshot(str(project))
    findings = [Finding("WW201", "n", "warning", "good.py", 5, 9, "m"), Finding("WW201", "n", "warning", "bad.py", 2, 1, "m")]
    with pytest.raises(NoqaError):
        add_noqa(str(project), findings)
    assert snapshot(str(project)) == before


# -- 10. folders that cannot be listed ---------------------------------------------------------


def test_unlistable_folder_is_reported(project, monkeypatch) -> None:
    from whowaits.discover import walk

    (project / "locked").mkdir()
    (project / "locked" / "x.py").write_text(GOOD)
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files, problems, _ = walk(str(project), [str(project)])
    assert [f.relpath for f in files] == ["good.py"]
    assert [(p.relpath, p.reason) for p in problems] == [("locked", "cannot list folder: Permission denied")]


# -- 11. valid code is analysed ----------------------------------------------------------------


@pytest.mark.parametrize("tail", [
    "\n".join(["def f(x):", "    if x == 0:", "        return 0"] + [f"    elif x == {i}:\n        return {i}" for i in range(1, 1000)]) + "\n",
    "S = (\n" + "\n".join(f"    'part{i}'" for i in range(3000)) + "\n)\n",
])
def test_long_but_valid_code_is_analysed(project, tail) -> None:
    (project / "good.py").write_text(GOOD + tail)
    run = whowaits(["check", ".", "--no-cache", "--no-show-evidence"], cwd=str(project))
    assert run.rc == 0 and run.out.splitlines()[0].startswith(GOOD_FINDING), run.out


def test_continuation_before_eof_in_a_crlf_file(project) -> None:
    (project / "good.py").write_bytes((GOOD + "\\\n").replace("\n", "\r\n").encode())
    run = whowaits(["check", ".", "--no-cache", "--no-show-evidence"], cwd=str(project))
    assert run.rc == 0 and run.out.splitlines()[0].startswith(GOOD_FINDING), run.out


# -- SPEC section 8: deterministic bytes -------------------------------------------------------


def test_jobs_and_cache_do_not_change_a_byte(project) -> None:
    for i in range(20):  # above the parallel threshold
        (project / f"m{i:02d}.py").write_text(GOOD.replace("'m'", f"'m{i}'"))
    outputs = {}
    for fmt in ("text", "json", "sarif"):
        cold1 = whowaits(["check", ".", "--no-cache", "--jobs", "1", "--output-format", fmt], cwd=str(project)).out
        cold2 = whowaits(["check", ".", "--no-cache", "--jobs", "2", "--output-format", fmt], cwd=str(project)).out
        fill = whowaits(["check", ".", "--jobs", "2", "--output-format", fmt], cwd=str(project)).out
        warm = whowaits(["check", ".", "--jobs", "2", "--output-format", fmt], cwd=str(project)).out
        assert cold1 == cold2 == fill == warm
        outputs[fmt] = cold1
    assert outputs["text"].count("WW201") == 21


def test_a_run_writes_only_its_cache_and_output_file(project, tmp_path) -> None:
    before = snapshot(str(project))
    out = tmp_path / "report.sarif"
    run = whowaits(["check", ".", "--output-format", "sarif", "--output-file", str(out)], cwd=str(project))
    assert run.rc == 0 and out.exists()
    assert changed_outside(before, snapshot(str(project)), (CACHE_DIR,)) == []
