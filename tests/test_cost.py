"""The saving in money: per-site cost from a dated price table, in messages and every report."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from whowaits.cli import main
from whowaits.cost import BUILTIN_PRICES, price_table, read_price_file, usd

PRICED = os.path.join(FIXTURES, "cost", "priced_jobs")
EXAMPLE = os.path.join(FIXTURES, "projects", "example")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def sites_by_line(path: str, *extra: str):
    doc = json.loads(invoke("audit", path, "--no-cache", "--format", "json", *extra).output)
    return {s["line"]: s for s in doc["sites"]}, doc


def test_site_cost_from_constants_of_other_modules_literal_max_tokens_and_prompt_text() -> None:
    sites, _ = sites_by_line(PRICED)
    # model from models.SUMMARY_MODEL; system (33 chars) + literal f-string text (16 chars) = 49 -> 13 tokens.
    assert sites[18]["cost"] == {
        "model": "claude-haiku-4-5", "input_tokens": 13, "output_tokens": 400,
        "usd_per_1k_calls": 2.013, "batch_usd_per_1k_calls": 1.0065, "batch_saving_usd_per_1k_calls": 1.0065,
        "unknown": ["prompt:doc"], "price_date": "2026-12-01",
    }
    # model from an instance of another module's settings class; "Label: " is 7 chars -> 2 tokens.
    assert sites[27]["cost"]["model"] == "gpt-4o-mini"
    assert sites[27]["cost"]["usd_per_1k_calls"] == pytest.approx(1000 * (2 * 0.15 + 10 * 0.6) / 1e6)
    # What the code does not show is named, not guessed.
    assert sites[39]["cost"]["model"] is None and sites[39]["cost"]["usd_per_1k_calls"] is None
    assert sites[39]["cost"]["unknown"] == ["model", "prompt:doc"]
    assert sites[44]["cost"]["unknown"] == ["price", "prompt:doc"]
    # Everything literal: nothing unknown.
    assert sites[48]["cost"]["unknown"] == [] and sites[48]["cost"]["input_tokens"] == 2


def test_ww201_and_ww202_messages_state_cost_and_saving_per_1000_items() -> None:
    out = invoke("check", PRICED, "--no-cache", "--no-show-evidence", "--output-format", "json").output
    messages = {f["line"]: f["message"] for f in json.loads(out)["findings"]}
    assert ("about $2.01 per 1,000 items with claude-haiku-4-5 (~13 input tokens plus `doc`, up to 400 output "
            "tokens each); batch saves about $1.01") in messages[18]
    assert "about $0.0063 per 1,000 items with gpt-4o-mini" in messages[27] and "batch saves about $0.0032" in messages[27]
    assert "cost per 1,000 items unknown: the model is neither a literal nor a project constant" in messages[39]
    assert "cost per 1,000 items unknown: `claude-3-sonnet-20240229` is not in the price table of 2026-12-01" in messages[44]


def test_only_synchronous_generation_is_priced() -> None:
    sites, _ = sites_by_line(os.path.join(FIXTURES, "projects", "example"))
    kinds = {s["operation"]: s["cost"] for s in sites.values()}
    assert kinds["batch_submit"] is None and kinds["batch_poll"] is None
    assert kinds["sync"]["model"] == "claude-sonnet-4-5"


def test_audit_shows_cost_per_site_per_entry_point_and_total_in_every_format() -> None:
    _, doc = sites_by_line(PRICED)
    total = doc["summary"]["could_move_to_batch"]
    assert (total["sites"], total["priced_sites"], total["unpriced_sites"]) == (5, 3, 2)
    assert total["batch_saving_usd_per_1k_calls"] == pytest.approx(1.0065 + 0.00315 + 1.255)
    assert [e["kind"] for e in total["by_entry"]] == ["offline_script"] and total["by_entry"][0]["priced_sites"] == 3

    table = invoke("audit", PRICED, "--no-cache").output
    assert "$2.01 / $1.01" in table and "$2.51 / $1.25" in table
    assert "3 priced sites: about $4.53 per 1,000 calls of each site, batch saves about $2.26; 2 without a price" in table
    assert re.search(r"jobs\.py:\d+ <main> .*\[offline_script\]: 3 priced sites", table)

    markdown = invoke("audit", PRICED, "--no-cache", "--format", "markdown").output
    assert "Total: 3 priced sites: about $4.53" in markdown
    assert "| Entry point | Kind | Could move to batch |" in markdown
    assert "`jobs.py:18` messages.create in `summarize` (offline_script" in markdown and "about $2.01 per 1,000 calls" in markdown

    rows = list(csv.DictReader(io.StringIO(invoke("audit", PRICED, "--no-cache", "--format", "csv").output)))
    by_location = {r["location"]: r for r in rows}
    assert by_location["jobs.py:18"]["usd_per_1k_calls"] == "2.013"
    assert by_location["jobs.py:18"]["batch_saving_usd_per_1k_calls"] == "1.0065"
    assert by_location["jobs.py:39"]["cost_unknown"] == "model prompt:doc"

    html = invoke("audit", PRICED, "--no-cache", "--format", "html").output
    assert "Total: 3 priced sites: about $4.53" in html and "$2.01 / $1.01" in html


def test_sarif_results_carry_the_cost_of_their_site() -> None:
    sarif = json.loads(invoke("check", PRICED, "--no-cache", "--output-format", "sarif").output)
    props = {r["locations"][0]["physicalLocation"]["region"]["startLine"]: r.get("properties") for r in sarif["runs"][0]["results"]}
    assert props[18]["cost"]["batch_saving_usd_per_1k_calls"] == 1.0065
    assert props[39]["cost"]["unknown"] == ["model", "prompt:doc"]


def test_user_price_file_comes_first_and_is_validated(tmp_path) -> None:
    project = tmp_path / "proj"
    shutil.copytree(PRICED, project)
    (project / "prices.toml").write_text(
        'date = "2026-11-30"\nsource = "our negotiated rates"\n'
        '[[model]]\nprovider = "anthropic"\nname = "Haiku, our rate"\nids = ["claude-haiku-4-5"]\n'
        "input = 0.5\noutput = 2.5\nbatch_input = 0.25\nbatch_output = 1.25\nsource = \"contract\"\n"
    )
    (project / "pyproject.toml").write_text('[project]\nname = "priced-jobs"\n[tool.whowaits]\nprices = "prices.toml"\n')
    sites, _ = sites_by_line(str(project))
    assert sites[18]["cost"]["usd_per_1k_calls"] == pytest.approx(1000 * (13 * 0.5 + 400 * 2.5) / 1e6)
    assert sites[18]["cost"]["price_date"] == "2026-11-30"
    assert sites[48]["cost"]["usd_per_1k_calls"] == 2.51  # not in the user's file: the built-in table
    (project / "prices.toml").write_text('date = "2026-11-30"\nsource = "x"\n[[model]]\nprovider = "anthropic"\nname = "n"\n'
                                         'ids = ["m"]\ninput = "cheap"\noutput = 1\nbatch_input = 1\nbatch_output = 1\nsource = "s"\n')
    bad = CliRunner().invoke(main, ["check", str(project), "--no-cache"])
    assert bad.exit_code == 2
    assert "pyproject.toml: `prices`:" in bad.output and "prices.toml: model[0]: field `input` must be a non-negative number" in bad.output
    (project / "pyproject.toml").write_text('[tool.whowaits]\nprices = "missing.toml"\n')
    missing = CliRunner().invoke(main, ["check", str(project), "--no-cache"])
    assert missing.exit_code == 2 and "missing.toml, which is not a file" in missing.output


def test_builtin_price_table_is_dated_and_sourced() -> None:
    table = read_price_file(BUILTIN_PRICES)
    assert re.match(r"^\d{4}-\d{2}-\d{2}$", table.date)
    providers = {m.provider for m in table.models}
    assert {"anthropic", "openai"} <= providers
    for model in table.models:
        assert model.source.startswith("https://"), model.name
        assert model.batch_input <= model.input and model.batch_output <= model.output, model.name
    # The first matching entry wins: no id may be claimed by two entries.
    ids = [p for m in table.models for p in m.patterns if "*" not in p]
    assert len(ids) == len(set(ids))
    assert price_table() is price_table()


def test_dollar_formatting() -> None:
    assert [usd(x) for x in (1234.5, 2.013, 0.5, 0.0063, 0.0, 0.00001)] == [
        "$1,234", "$2.01", "$0.50", "$0.0063", "$0", "under $0.0001"]
