"""The rule catalog: every file loads, matches the checks, documents itself and tests itself."""

from __future__ import annotations

import os
import re

import pytest

from conftest import REPO
from whowaits.catalog import CatalogError, load_catalog, load_rule, markdown_table
from whowaits.checks import CHECKS, check, checks_by_code
from whowaits.facts import extract
from whowaits.pipeline import Options, analyze_sources
from whowaits.report import rules_doc


# Rules reported by a stage of the pipeline rather than by a check or a policy: files that cannot
# be read or parsed (the facts stage) and unused suppressions (the suppression stage).
STAGE_RULES = {"file-not-analyzed", "invalid-syntax", "unused-suppression"}


def test_every_rule_has_one_check_and_every_check_a_rule(catalog) -> None:
    """Each built-in rule is reported by exactly one of: its `[when]` table, the check
    registered under its name, or a stage; and each check and fixer names a rule."""
    by_code = checks_by_code(catalog)
    for code, rule in catalog.items():
        ways = [rule.policy != (), code in by_code, rule.name in STAGE_RULES]
        assert ways.count(True) == 1, (code, ways)
    assert {"WW101", "WW201"} <= {code for code, rule in catalog.items() if rule.policy}


def test_checks_and_fixers_are_found_by_rule_name(catalog) -> None:
    from whowaits.fixes.fixers import FIXERS

    names = {rule.name: rule for rule in catalog.values()}
    for name in FIXERS:
        rule = names.get(name)
        assert rule is not None and not rule.policy, f"fixer for `{name}`, which names no built-in check"
        assert rule.autofix is not None and rule.autofix.safety != "none", f"`{name}` has a fixer but offers no fix"
    offered = {r.name for r in catalog.values() if not r.policy and r.autofix and r.autofix.safety != "none"}
    assert offered <= set(FIXERS), sorted(offered - set(FIXERS))
    with pytest.raises(ValueError, match="two checks"):
        check("custom-id-invalid")(lambda project: iter(()))
    CHECKS["no-such-rule"] = lambda project: iter(())
    try:
        with pytest.raises(ValueError, match="check for `no-such-rule`, which names no rule"):
            checks_by_code(catalog)
    finally:
        del CHECKS["no-such-rule"]


def test_builtin_rule_files_are_named_after_their_code(tmp_path) -> None:
    source = os.path.join(REPO, "rules", "WW403.toml")
    with open(source, encoding="utf-8") as fh:
        (tmp_path / "WW499.toml").write_text(fh.read())
    with pytest.raises(CatalogError, match="WW499.toml: the file of rule WW403 must be named WW403.toml"):
        load_catalog(str(tmp_path))


def test_readme_rule_table_is_generated_from_rules(catalog) -> None:
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    table = re.search(r"<!-- rules:start -->\n(.*?)<!-- rules:end -->", readme, re.S)
    assert table is not None
    assert table.group(1) == markdown_table(catalog)


# Enough context to make each rule's bad/good example a whole module.
PRELUDE = """\
import concurrent.futures
import time
import boto3
import flask
import tenacity
import anthropic
from anthropic import AnthropicBedrock
client = anthropic.Anthropic()
app = flask.Flask(__name__)
"""


def _codes(source: str, catalog) -> set:
    facts = {"example.py": extract((PRELUDE + source + "\n").encode())}
    return {f.code for f in analyze_sources(facts, catalog, Options()).findings}


# WW000's causes are bytes and file states (an encoding, NUL bytes, a broken symlink) that a
# text example cannot hold; test_bad_input.py covers each of them.
@pytest.mark.parametrize("code", sorted(set(load_catalog()) - {"WW000"}))
def test_rule_examples_are_their_own_tests(code: str, catalog) -> None:
    """The `bad` example of each rule triggers it and the `good` one does not."""
    rule = catalog[code]
    assert rule.bad and rule.good, f"{code} needs bad and good examples"
    assert code in _codes(rule.bad, catalog), f"{code}'s bad example does not trigger it"
    assert code not in _codes(rule.good, catalog), f"{code}'s good example triggers it"


@pytest.mark.parametrize(
    "content, message",
    [
        ('code = "WW999"\n', "field `name` must be a non-empty string"),
        ("code = \n", "invalid TOML"),
        ('code="WW1"\nname="x"\nseverity="error"\nsummary="s"\nrationale="r"\nfix="f"\nseed="s"\n', "field `code` must look like WW101"),
        ('code="WW999"\nname="x"\nseverity="fatal"\nsummary="s"\nrationale="r"\nfix="f"\nseed="s"\n', "field `severity` must be one of"),
        ('code="WW999"\nname="x"\nseverity="error"\nsummary="s"\nrationale="r"\nfix="f"\nseed="s"\ncolour="red"\n', "unknown field `colour`"),
    ],
)
def test_malformed_rule_files_name_the_file_and_field(tmp_path, content: str, message: str) -> None:
    path = tmp_path / "WW999.toml"
    path.write_text(content)
    with pytest.raises(CatalogError) as info:
        load_rule(str(path))
    assert str(info.value).startswith(str(path)) and message in str(info.value)


POLICY = 'code = "ACME001"\nname = "x"\nseverity = "error"\nmessage = "m"\n'


@pytest.mark.parametrize(
    "content, message",
    [
        (POLICY, "field `when` is required"),
        (POLICY + "[when]\nmodle = \"x\"\n", "unknown field `when.modle`"),
        (POLICY + "[when]\ncost = \"x\"\n", "unknown field `when.cost`"),  # text for messages only
        (POLICY + "[when]\nstream = \"yes\"\n", "`when.stream` must be true or false"),
        (POLICY + "[when]\nbatch_count = \"lots\"\n", '`when.batch_count` must be a number or a comparison like "<24"'),
        (POLICY + "[when]\nmodel = 3\n", "`when.model` must be a string or a list of strings"),
        ('code = "ACME001"\nname = "x"\nseverity = "error"\n[when]\nmodel = "x"\n', "`message` must be a non-empty string"),
        (POLICY.replace('"m"', '"{model.upper}"') + "[when]\nmodel = \"x\"\n", "placeholder"),
        (POLICY + "[when]\nmodel = \"x\"\n[autofix]\nsafety = \"maybe\"\nwhy = \"w\"\n", "`autofix.safety` must be one of"),
        (POLICY + "[when]\nmodel = \"x\"\n[autofix]\nsafety = \"safe\"\n", "`autofix.why` must be a non-empty string"),
        (POLICY + "[when]\nmodel = \"x\"\n[autofix]\nsafety = \"safe\"\nwhy = \"w\"\nset = { model = [1] }\n",
         "`autofix.set` must map keyword names"),
        (POLICY + "[when]\nmodel = \"x\"\n[autofix]\nsafety = \"safe\"\nwhy = \"w\"\ndrop = [\"a-b\"]\n",
         "`autofix.drop` must be a list of keyword names"),
        (POLICY + "[when]\nmodel = \"x\"\n[autofix]\nsafety = \"safe\"\nwhy = \"w\"\nrewrite = 1\n", "unknown field `autofix.rewrite`"),
    ],
)
def test_malformed_policy_rules(tmp_path, content: str, message: str) -> None:
    path = tmp_path / "rule.toml"
    path.write_text(content)
    with pytest.raises(CatalogError) as info:
        load_rule(str(path), builtin=False)
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_user_rule_codes_must_not_collide(tmp_path) -> None:
    (tmp_path / "mine.toml").write_text(POLICY.replace("ACME001", "WW101") + '[when]\nmodel = "x"\n')
    with pytest.raises(CatalogError) as info:
        load_catalog(rule_paths=[str(tmp_path)])
    assert "code WW101 is a built-in rule; pick another code" in str(info.value)
    with pytest.raises(CatalogError) as info:
        load_catalog(rule_paths=[str(tmp_path / "missing")])
    assert "rule path does not exist" in str(info.value)


def test_policy_rule_cli_errors_exit_2(tmp_path) -> None:
    from click.testing import CliRunner

    from whowaits.cli import main

    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "bad.toml").write_text(POLICY + "[when]\nmodle = \"x\"\n")
    (tmp_path / "pyproject.toml").write_text('[tool.whowaits]\nrule-paths = ["policy"]\n')
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--no-cache"])
    assert result.exit_code == 2
    assert "bad.toml: unknown field `when.modle`" in result.output
    listing = CliRunner().invoke(main, ["rule", "--config", str(tmp_path / "pyproject.toml")])
    assert listing.exit_code == 2


INTERNAL_NOTES = re.compile(r"\bseed \d|\bapi-facts\b|\barticle\b|\bSPEC\b|\bseeds?/", re.IGNORECASE)


@pytest.mark.parametrize("code", sorted(load_catalog()))
def test_rule_docs_speak_to_users(code: str, catalog) -> None:
    """`whowaits rule CODE`: what, why, how to fix, bad and good examples, and the provider fact
    with a link to its public documentation; no notes about where a rule came from."""
    rule = catalog[code]
    shown = rules_doc.text(rule)
    for field in (rule.summary, rule.rationale, rule.fix, rule.seed):
        assert not INTERNAL_NOTES.search(field), f"{code}: internal note in user-facing text: {field}"
    for heading in ("What", "Why", "How to fix", "Bad", "Good"):
        assert f"\n{heading}\n" in shown, f"{code}: no {heading!r} section"
    heading, fact, links = rules_doc.provider_fact(rule)
    if code.startswith(("WW1", "WW2", "WW3", "WW4")):  # rules about a provider's API cite its docs
        assert heading == "Provider fact" and fact and links, code
        assert all(re.match(r"^https://[\w.-]+\.(com|org|io)/\S+$", link) for link in links), links
        assert f"  Docs: {links[0]}" in shown and links[0] not in fact


def test_every_site_property_computes_what_it_declares() -> None:
    """Each registered site property is documented and computes, on real fixture sites, a value
    of its declared kind within its declared values; and a message may name every one of them
    (placeholders are validated against the same registry)."""
    from conftest import FIXTURES, run
    from whowaits.checks.policy import compile_when
    from whowaits.checks.sitefacts import PROPERTIES, Kind, site_facts
    from whowaits.core import Project

    seen = {name: set() for name in PROPERTIES}
    for case in ("projects/example", "manifests/github", "rules"):
        result = run([os.path.join(FIXTURES, case)], root=os.path.join(FIXTURES, case))
        for facts in site_facts(Project(result.root, result.sites, {}, 30.0)):
            for name, prop in PROPERTIES.items():
                value = facts.value(name)
                items = value if prop.kind is Kind.LIST else [value]
                assert prop.kind is not Kind.LIST or isinstance(value, list), (name, value)
                if prop.kind in (Kind.STR, Kind.LIST):
                    assert all(isinstance(item, str) for item in items), (name, value)
                elif prop.kind is Kind.BOOL:
                    assert isinstance(value, bool), (name, value)
                elif prop.kind is Kind.NUMBER:
                    assert value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)), (name, value)
                if prop.values is not None:
                    assert set(items) <= prop.values, (name, value)
                seen[name].update(map(repr, items))
    assert all(prop.doc for prop in PROPERTIES.values()), [n for n, p in PROPERTIES.items() if not p.doc]
    # Every boolean property is seen both true and false somewhere in these fixtures.
    flat = [name for name, prop in PROPERTIES.items() if prop.kind is Kind.BOOL and len(seen[name]) < 2]
    assert not flat, flat
    message = " ".join(f"{{{name}}}" for name in PROPERTIES) + " {matched_entry} {matched_kind}"
    assert compile_when({"model": "*"}, message)[0].message == message
