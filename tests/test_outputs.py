"""Machine formats (SARIF against the official schema, GitHub, GitLab, JUnit), baselines,
--changed-since and the portfolio report."""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from whowaits.cli import main

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(FIXTURES, "projects", "example")
FLASK = os.path.join(FIXTURES, "contexts", "flask_app")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_sarif_is_valid_against_the_2_1_0_schema() -> None:
    with open(os.path.join(HERE, "data", "sarif-schema-2.1.0.json"), encoding="utf-8") as fh:
        schema = json.load(fh)
    for project in (EXAMPLE, FLASK):
        doc = json.loads(invoke("check", project, "--no-cache", "--output-format", "sarif").output)
        jsonschema.validate(doc, schema)
        run = doc["runs"][0]
        rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
        assert "WW101" in rules and rules["WW101"]["help"]["markdown"]
        for result in run["results"]:
            assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
            assert result["partialFingerprints"]["whowaits/v1"]
    flask = json.loads(invoke("check", FLASK, "--no-cache", "--output-format", "sarif").output)["runs"][0]
    ww101 = next(r for r in flask["results"] if r["ruleId"] == "WW101")
    flow = ww101["codeFlows"][0]["threadFlows"][0]["locations"]
    assert flow[0]["location"]["message"]["text"] == "entry: review_now (Flask route)"
    assert len(ww101["relatedLocations"]) == len(flow)


def test_github_gitlab_and_junit_formats(tmp_path) -> None:
    project = tmp_path / "example"
    shutil.copytree(EXAMPLE, project)
    github = invoke("check", str(project), "--no-cache", "--output-format", "github").output.splitlines()
    assert github[0].startswith("::error file=supportdesk/nightly.py,line=15,col=30,title=WW302 custom-id-invalid::")
    assert all(line.startswith("::") for line in github)
    gitlab = json.loads(invoke("check", str(project), "--no-cache", "--output-format", "gitlab").output)
    assert {(i["check_name"].split()[0], i["severity"], i["location"]["lines"]["begin"]) for i in gitlab} == {
        ("WW302", "major", 15), ("WW101", "major", 28), ("WW404", "minor", 28), ("WW403", "minor", 34),
        ("WW401", "minor", 40), ("WW201", "minor", 6)}
    assert len({i["fingerprint"] for i in gitlab}) == 6
    junit = ET.fromstring(invoke("check", str(project), "--no-cache", "--output-format", "junit").output)
    assert junit.get("failures") == "6" and junit.get("tests") == "6"
    assert [f.get("type") for f in junit.iter("failure")] == ["WW302", "WW101", "WW404", "WW403", "WW401", "WW201"]


def test_junit_has_one_test_case_per_finding() -> None:
    """Viewers show one failure per test case: two findings on one file are two cases."""
    junit = ET.fromstring(invoke("check", EXAMPLE, "--no-cache", "--output-format", "junit").output)
    suites = {s.get("name"): s for s in junit.iter("testsuite")}
    nightly = suites["fixtures/projects/example/supportdesk/nightly.py"]
    cases = list(nightly.iter("testcase"))
    assert nightly.get("tests") == "5" and len(cases) == 5
    assert all(len(list(case.iter("failure"))) == 1 for case in cases)
    assert cases[1].get("name") == "WW101 batch-awaited-in-blocking-path at fixtures/projects/example/supportdesk/nightly.py:28:12"
    assert cases[1].get("line") == "28"
    clean = ET.fromstring(invoke("check", os.path.join(FIXTURES, "rules", "ww104_ok.py"), "--no-cache",
                                 "--output-format", "junit").output)
    assert [(c.get("name"), list(c)) for c in clean.iter("testcase")] == [("whowaits", [])]


def _git(root: str, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def test_baseline_round_trip_survives_unrelated_edits(tmp_path) -> None:
    root = tmp_path / "app"
    shutil.copytree(EXAMPLE, root)
    baseline = str(tmp_path / "baseline.json")
    written = invoke("baseline", "write", baseline, str(root), "--no-cache")
    assert written.output.strip() == f"Recorded 6 findings in {baseline}."
    assert invoke("check", str(root), "--no-cache", "--baseline", baseline).output.startswith(
        "All clear: 5 LLM call sites in 3 files, no findings (6 more in the baseline).")
    nightly = root / "supportdesk" / "nightly.py"
    text = nightly.read_text()
    # Unrelated edits: lines added above every finding.
    nightly.write_text('"""Nightly digest."""\n\n# A comment that shifts every line.\n' + text.split("\n", 1)[1])
    assert invoke("check", str(root), "--no-cache", "--baseline", baseline).exit_code == 0
    # A new misroute: exactly one finding.
    nightly.write_text(nightly.read_text() + (
        "\n\ndef another(tickets):\n"
        "    get_client().messages.batches.create(requests=[{\"custom_id\": \"same\", \"params\": {}} for t in tickets])\n"
    ))
    again = invoke("check", str(root), "--no-cache", "--baseline", baseline, "-q", "--no-show-evidence")
    assert again.exit_code == 1
    assert [line.split()[1] for line in again.output.splitlines()] == ["error[WW301]"]
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    bad = CliRunner().invoke(main, ["check", str(root), "--baseline", str(broken)])
    assert bad.exit_code == 2 and "not a whowaits baseline" in bad.output


def test_changed_since_reports_only_changed_lines(tmp_path) -> None:
    root = tmp_path / "app"
    shutil.copytree(EXAMPLE, root)
    _git(str(root), "init", "-q")
    _git(str(root), "-c", "user.email=a@b", "-c", "user.name=a", "add", ".")
    _git(str(root), "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "base")
    assert invoke("check", str(root), "--no-cache", "--changed-since", "HEAD").exit_code == 0
    nightly = root / "supportdesk" / "nightly.py"
    nightly.write_text(nightly.read_text().replace("time.sleep(10)", "time.sleep(5)"))
    changed = invoke("check", str(root), "--no-cache", "--changed-since", "HEAD", "--no-show-evidence")
    lines = changed.output.splitlines()
    assert [line.split()[:2] for line in lines if line.startswith("/")] == [[f"{root}/supportdesk/nightly.py:34:9:", "warning[WW403]"]]
    assert "Found 1 finding (1 warning) (5 more outside the changed lines): 5 LLM call sites in 3 files." in lines
    bad = CliRunner().invoke(main, ["check", str(root), "--changed-since", "no-such-ref"])
    assert bad.exit_code == 2 and "--changed-since no-such-ref" in bad.output


def test_portfolio_formats() -> None:
    markdown = invoke("audit", EXAMPLE, "--no-cache", "--format", "markdown").output
    assert "## Could move to the Batch API (1)" in markdown
    assert "- `supportdesk/triage.py:6` messages.create in `label`" in markdown
    csv_lines = invoke("audit", FIXTURES + "/contexts/bulk_two_modules", "--no-cache", "--format", "csv").output.splitlines()
    assert csv_lines[0] == ("location,provider,operation,method,function,verdict,contexts,findings,"
                            "model,usd_per_1k_calls,batch_saving_usd_per_1k_calls,cost_unknown")
    assert csv_lines[1].startswith("app/llm.py:12,anthropic,sync,messages.create,ask,tolerant,")
    html = invoke("audit", FLASK, "--no-cache", "--format", "html").output
    assert html.startswith("<!DOCTYPE html>") and '<table class="stack" id="sites">' in html and '<svg id="verdict-chart"' in html
    # Self-contained: nothing to fetch.
    assert "://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<link" not in html and " src=" not in html


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


# The page is shown in a frame of the width under test: Chromium will not make a window
# narrower than 500 px, and phones are narrower. The frame's results are copied to the top page.
_FRAME = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="audit.html" style="width:%dpx;height:1600px;border:0;display:block"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {
  var doc = this.contentDocument;
  document.body.setAttribute('data-ready', doc.body.getAttribute('data-ready') || '');
  document.body.setAttribute('data-scroll-width', String(doc.documentElement.scrollWidth));
  document.body.setAttribute('data-client-width', String(doc.documentElement.clientWidth));
  document.body.setAttribute('data-errors', doc.getElementById('script-errors').textContent);
  document.body.setAttribute('data-shown', doc.getElementById('shown').textContent);
});
</script></body></html>"""


def _chromium(tmp_path, page, width: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--allow-file-access-from-files",
         f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={max(width, 500)},1600", "--virtual-time-budget=3000",
         *args, page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (CI installs Debian's chromium)")
@pytest.mark.parametrize("width", [1400, 390])
def test_html_report_renders_in_a_browser(tmp_path, width: int) -> None:
    """At desktop and phone width: the script runs cleanly, nothing scrolls sideways, and a
    screenshot is taken (kept in $WHOWAITS_SCREENSHOTS when set, for people to look at)."""
    page = tmp_path / "audit.html"
    invoke("audit", os.path.join(FIXTURES, "contexts"), os.path.join(FIXTURES, "cost"), "--no-cache", "--format", "html",
           "--output-file", str(page))
    html = page.read_text()
    assert 'class="card money"' in html  # the priced sites of fixtures/cost add up
    assert html.count("<tr data-verdict=") > 10 and 'class="bar"' in html
    frame = tmp_path / "frame.html"
    frame.write_text(_FRAME % width)
    proc = _chromium(tmp_path, frame, width, "--dump-dom")
    body = re.search(r"<body[^>]*>", proc.stdout)
    assert body is not None, proc.stderr[-2000:]
    attrs = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', body.group(0)))
    assert attrs.get("data-ready") == "yes", proc.stderr[-2000:]  # the script ran to the end
    assert attrs.get("data-errors") == ""  # and raised nothing
    assert re.match(r"^(\d+) of \1 call sites$", attrs["data-shown"])  # the filters start with every row shown
    scroll, client = int(attrs["data-scroll-width"]), int(attrs["data-client-width"])
    assert client <= width and scroll <= client, f"horizontal scroll at {width}px: {scroll} > {client}"
    shot = tmp_path / f"audit-{width}.png"
    _chromium(tmp_path, frame, width, f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    keep = os.environ.get("WHOWAITS_SCREENSHOTS")
    if keep:
        shutil.copy(shot, os.path.join(keep, shot.name))


def test_html_report_groups_contexts_links_findings_and_lists_manifests() -> None:
    html = invoke("audit", EXAMPLE, "--no-cache", "--format", "html").output
    assert "<title>whowaits audit: supportdesk</title>" in html or "<title>whowaits audit: example</title>" in html
    assert re.search(r'<p class="muted" id="meta">(commit <code>\w+</code> · )?\d{4}-\d{2}-\d{2} · ', html)
    # Findings show their message and link to their rule's section.
    assert '<a class="sev-error" href="#rule-WW101">WW101</a>' in html and '<div class="rule" id="rule-WW101">' in html
    assert "batch submitted in a blocking path" in html
    # Filters by verdict, provider, rule and path.
    for name in ("verdict", "provider", "rule", "path"):
        assert f'name="{name}"' in html
    # The CI / cron / deploy entries and what each reaches.
    assert '<table class="stack" id="manifests">' in html and ".github/workflows/nightly.yml" in html
    assert "@media print" in html
    # A site reached from many entries of one kind shows one group with a count.
    many = invoke("audit", os.path.join(FIXTURES, "contexts", "schedulers"), "--no-cache", "--format", "html").output
    groups = re.findall(r'<summary><span class="(?:blocking|tolerant)">([a-z ]+)</span>( &times;\d+)?</summary>', many)
    assert groups and all(kind for kind, _ in groups)


def test_ci_paths_are_relative_to_the_repository_root(tmp_path) -> None:
    """In a monorepo the project root (services/api) is not where CI resolves paths."""
    repo = tmp_path / "repo"
    api = repo / "services" / "api"
    shutil.copytree(EXAMPLE, api)
    _git(str(repo), "init", "-q")
    nightly = api / "supportdesk" / "nightly.py"
    nightly.write_text(nightly.read_text().replace(
        "time.sleep(10)", "time.sleep(10)  # whowaits: ignore[WW403] -- a person watches this one"))
    github = invoke("check", str(api), "--no-cache", "--output-format", "github").output.splitlines()
    assert github[0].startswith("::error file=services/api/supportdesk/nightly.py,line=15,col=30,")
    assert "%0A  -> services/api/supportdesk/web.py:20: entry: digest_now" in github[1]
    gitlab = json.loads(invoke("check", str(api), "--no-cache", "--output-format", "gitlab").output)
    assert {i["location"]["path"] for i in gitlab} == {"services/api/supportdesk/nightly.py", "services/api/supportdesk/triage.py"}
    junit = ET.fromstring(invoke("check", str(api), "--no-cache", "--output-format", "junit").output)
    assert [s.get("name") for s in junit.iter("testsuite")] == [
        "services/api/supportdesk/nightly.py", "services/api/supportdesk/triage.py"]

    text = invoke("check", str(api), "--no-cache", "--output-format", "sarif").output
    assert str(tmp_path) not in text  # no absolute path of this machine
    run = json.loads(text)["runs"][0]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"description": {"text": "The root of the repository."}}}
    results = run["results"]
    first = results[0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"] == {"uri": "services/api/supportdesk/nightly.py", "uriBaseId": "%SRCROOT%"}
    assert first["region"] == {"startLine": 15, "startColumn": 30, "endLine": 15, "endColumn": 51}  # f"ticket:{ticket.id}"
    for result in results:
        for location in result["locations"]:
            region = location["physicalLocation"]["region"]
            assert region["endLine"] >= region["startLine"] and "endColumn" in region
        for location in result.get("relatedLocations", []):
            assert location["physicalLocation"]["region"]["endLine"] == location["physicalLocation"]["region"]["startLine"]
    suppressed = [r for r in results if "suppressions" in r]
    assert [(r["ruleId"], r["suppressions"]) for r in suppressed] == [
        ("WW403", [{"kind": "inSource", "justification": "a person watches this one"}])]
    assert len(results) == 6


class _Distribution:
    """What importlib.metadata tells about an installed whowaits: PEP 610 data and Project-URLs."""

    def __init__(self, direct_url: str = "", project_urls: tuple = ()) -> None:
        import email.message

        self.direct_url = direct_url
        self.metadata = email.message.Message()
        for url in project_urls:
            self.metadata["Project-URL"] = url

    def read_text(self, name: str):
        return self.direct_url or None if name == "direct_url.json" else None


@pytest.mark.parametrize("dist, base", [
    (_Distribution('{"url": "https://git.example/acme/whowaits.git", "vcs_info": {"vcs": "git", "commit_id": "abc123"}}'),
     "https://git.example/acme/whowaits/blob/abc123/rules/"),
    (_Distribution(project_urls=("Homepage, https://acme.example", "Repository, https://git.example/acme/whowaits")),
     "https://git.example/acme/whowaits/blob/main/rules/"),
    (_Distribution('{"url": "file:///home/me/whowaits", "dir_info": {"editable": true}}'), None),
])
def test_sarif_rules_link_to_their_docs_in_the_repository(monkeypatch, dist, base) -> None:
    """helpUri points at the rule's file in the repository whowaits was installed from; with no
    web address known (a local folder), there is no link rather than a made-up one."""
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: dist)
    rules = json.loads(invoke("check", FLASK, "--no-cache", "--output-format", "sarif").output)["runs"][0]["tool"]["driver"]["rules"]
    if base is None:
        assert all("helpUri" not in r for r in rules)
    else:
        assert all(r["helpUri"] == f"{base}{r['id']}.toml" for r in rules)
