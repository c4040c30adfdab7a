"""Every file and project under fixtures/ is a test case; expectations live next to the code.

On the line a finding or call site is reported on:
- `# expect: WW301` (several codes comma-separated, repeats allowed) lists the findings (in any
  file of the case, so a workflow YAML can expect its own WW000);
- `# site: batch_submit` lists the call sites found there, by operation kind.
A case meant to be read as a real project (the README's example) keeps them beside it instead,
in `<case>.expected.json`: `{"findings": {"path:line": ["WW302"]}, "sites": {"path:line": ["sync"]}}`.
A case passes when the findings are exactly the ones written down (a missing finding and an
unexpected one both fail) and, in cases that annotate sites at all, so are the sites: a case
about resolution lists every site, a case about a rule may list none. Adding a case is adding
a file.
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections import Counter
from typing import List, Tuple

import libcst
import pytest

from conftest import FIXTURES, run
from whowaits.config import resolve_settings

EXPECT = re.compile(rb"#\s*expect:\s*([A-Z0-9, ]+)")
SITE = re.compile(rb"#\s*site:\s*([a-z_, ]+)")
SNAPSHOTS = (".fixed", ".unsafe-fixed", ".migrated")  # what a fix or a migration turns a file into


def cases() -> List[str]:
    """Each `.py` file or folder directly inside a fixture group (fixtures/<group>/<case>)."""
    found = []
    for group in sorted(os.listdir(FIXTURES)):
        group_dir = os.path.join(FIXTURES, group)
        if not os.path.isdir(group_dir):
            continue
        for name in sorted(os.listdir(group_dir)):
            path = os.path.join(group_dir, name)
            if os.path.isdir(path) or name.endswith(".py"):
                found.append(os.path.relpath(path, FIXTURES))
    return found


def expectations(case_dir: str, files: List[str]) -> Tuple[Counter, Counter]:
    findings: Counter = Counter()
    sites: Counter = Counter()
    beside = case_dir.rstrip(os.sep) + ".expected.json"
    if os.path.isfile(beside):
        with open(beside, encoding="utf-8") as fh:
            doc = json.load(fh)
        for table, counter in (("findings", findings), ("sites", sites)):
            for place, values in doc[table].items():
                path, _, line = place.rpartition(":")
                counter.update((path, int(line), value) for value in values)
    for path in files:
        rel = os.path.relpath(path, case_dir).replace(os.sep, "/")
        with open(path, "rb") as fh:
            for number, line in enumerate(fh.read().split(b"\n"), start=1):
                for match in EXPECT.finditer(line):
                    for code in match.group(1).decode().split(","):
                        if code.strip():
                            findings[(rel, number, code.strip())] += 1
                for match in SITE.finditer(line):
                    for kind in match.group(1).decode().split(","):
                        if kind.strip():
                            sites[(rel, number, kind.strip())] += 1
    return findings, sites


@pytest.mark.parametrize("case", cases())
def test_fixture(case: str) -> None:
    path = os.path.join(FIXTURES, case)
    if os.path.isdir(path):
        root = path
        files = [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs
                 if os.path.isfile(os.path.join(d, f)) and not f.endswith(SNAPSHOTS)]
    else:
        root = os.path.dirname(path)
        files = [path]
    newer = [f for f in files if f.endswith(".py") and _newer(f)]
    if newer:  # whowaits reads code with the parser of the Python it runs on
        pytest.skip(f"{os.path.relpath(newer[0], FIXTURES)} is written for a newer Python than this one")
    want_findings, want_sites = expectations(root, files)
    result = run([path], root=root, settings=resolve_settings([path]))
    got_findings = Counter((f.path, f.line, f.code) for f in result.findings)
    got_sites = Counter((s.path, s.line, s.op.kind) for s in result.sites)
    assert sorted(got_findings.elements()) == sorted(want_findings.elements()), "\n".join(
        f"{f.path}:{f.line}: {f.code} {f.message}" for f in result.findings
    )
    if want_sites:
        assert sorted(got_sites.elements()) == sorted(want_sites.elements())


def _newer(path: str) -> bool:
    """Whether a fixture is valid Python of a later version than the running one (`match`
    needs 3.10): whowaits reads code with the parser of the Python it runs on."""
    with open(path, "rb") as fh:
        source = fh.read()
    try:
        ast.parse(source)
    except SyntaxError:
        try:
            libcst.parse_module(source)
        except Exception:  # broken on every version: a bad-input fixture
            return False
        return True
    except ValueError:
        return False
    return False


def test_every_rule_has_a_positive_and_a_near_miss(catalog) -> None:
    """The catalog stays honest: each rule fires somewhere in fixtures/ and has an _ok twin."""
    expected_codes = set()
    for case in cases():
        path = os.path.join(FIXTURES, case)
        root = path if os.path.isdir(path) else os.path.dirname(path)
        files = [path] if path.endswith(".py") else [
            os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if os.path.isfile(os.path.join(d, f))
        ]
        findings, _ = expectations(root, files)
        expected_codes.update(code for _, _, code in findings)
    rule_files = set(os.listdir(os.path.join(FIXTURES, "rules")))
    for code in catalog:
        assert code in expected_codes, f"{code} has no fixture that triggers it"
        if code != "WW000":
            assert f"{code.lower()}_ok.py" in rule_files, f"{code} has no near-miss fixture"


def test_the_readme_example_reads_as_a_real_project() -> None:
    """A newcomer reads fixtures/projects/example as the example: its code carries no test
    markup; its expectations live beside it and are checked like any case's."""
    example = os.path.join(FIXTURES, "projects", "example")
    for folder, _, names in os.walk(example):
        for name in names:
            with open(os.path.join(folder, name), "rb") as fh:
                text = fh.read()
            assert not EXPECT.search(text) and not SITE.search(text), os.path.join(folder, name)
    findings, sites = expectations(example, [])
    assert sum(findings.values()) == 6 and sum(sites.values()) == 5
