"""Run-level properties: deterministic output whatever --jobs, and a cache that changes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import FIXTURES
from whowaits.catalog import load_catalog
from whowaits.pipeline import Options, analyze
from whowaits.report import json_out
from whowaits.report.output import Report


def _copy_fixtures(tmp_path) -> str:
    root = tmp_path / "tree"
    shutil.copytree(FIXTURES, root)
    (root / "pyproject.toml").write_text("")
    return str(root)


def _json(root: str, **options) -> str:
    catalog = load_catalog()
    return json_out.render(Report(analyze([root], catalog, Options(**options)), catalog))


def test_same_bytes_whatever_jobs(tmp_path) -> None:
    root = _copy_fixtures(tmp_path)
    serial = _json(root, jobs=1, use_cache=False)
    parallel = _json(root, jobs=2, use_cache=False)
    assert serial == parallel
    assert '"WW302"' in serial


def test_cache_round_trip_changes_nothing(tmp_path) -> None:
    root = _copy_fixtures(tmp_path)
    cold = _json(root, jobs=1)
    cache = os.path.join(root, ".whowaits_cache")
    assert os.path.isfile(os.path.join(cache, "CACHEDIR.TAG"))
    with open(os.path.join(cache, ".gitignore")) as fh:
        assert fh.read() == "*\n"
    assert _json(root, jobs=1) == cold


def test_warm_run_does_not_import_libcst(tmp_path) -> None:
    root = _copy_fixtures(tmp_path)
    _json(root, jobs=1)
    code = (
        "import sys\n"
        "from whowaits.catalog import load_catalog\n"
        "from whowaits.pipeline import Options, analyze\n"
        f"analyze([{root!r}], load_catalog(), Options(jobs=1))\n"
        "print('libcst' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_merged_findings_do_not_depend_on_the_hash_seed(tmp_path) -> None:
    """One problem reached by two chains is one finding whose evidence order and fingerprint
    are the same on every run (hits are deduplicated through a set, whose order varies with
    the string hash seed)."""
    root = tmp_path / "tree"
    root.mkdir()
    shutil.copy(os.path.join(FIXTURES, "rules", "ww302_shared_builder.py"), root)
    code = (
        "from whowaits.catalog import load_catalog\n"
        "from whowaits.pipeline import Options, analyze\n"
        "from whowaits.report import json_out\n"
        "from whowaits.report.output import Report\n"
        "catalog = load_catalog()\n"
        f"print(json_out.render(Report(analyze([{str(root)!r}], catalog, Options(jobs=1, use_cache=False)), catalog)))\n"
    )
    outputs = set()
    for seed in range(4):
        env = dict(os.environ, PYTHONHASHSEED=str(seed))
        outputs.add(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout)
    assert len(outputs) == 1
    assert '"note": "submitted by messages.batches.create in backfill"' in outputs.pop()


def test_context_search_follows_only_paths_that_lead_to_a_call(tmp_path) -> None:
    """Entry points whose calls never reach an LLM call are not searched, and pruning them
    changes nothing: the site keeps the one context that reaches it."""
    from whowaits.contexts import _callers, _leading_to

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "llm.py").write_text(
        "import anthropic\nclient = anthropic.Anthropic()\n\n"
        "def ask(q):\n    return client.messages.create(model='m', max_tokens=5, messages=[q])\n\n"
        "def helper():\n    return 1\n"
    )
    (tmp_path / "app.py").write_text(
        "from flask import Flask\nfrom llm import ask, helper\napp = Flask(__name__)\n\n"
        "@app.route('/ask')\ndef route():\n    return ask('q')\n\n"
        + "".join(f"@app.route('/other{i}')\ndef other{i}():\n    return helper()\n\n" for i in range(20))
    )
    result = analyze([str(tmp_path)], load_catalog(), Options(use_cache=False, jobs=1))
    (site,) = result.sites
    assert [(c.kind.value, c.entry) for c in site.contexts] == [("http_handler", "app.py:5 route (Flask route)")]
    assert result.graph is not None
    leads = _leading_to(_callers(result.graph), {(site.path, site.call.function)})
    assert leads == {("llm.py", "ask"), ("app.py", "route")}


@pytest.mark.parametrize("group", ["manifests", "contexts", "projects", "dispatch"])
def test_entries_kept_for_the_search_are_the_same_entries(group: str) -> None:
    """Only the entries of functions that lead to a site are made (`CallGraph.entries(wanted)`);
    each is the entry the whole list has, in the same order, in every fixture project."""
    from whowaits.contexts import _callers, _leading_to

    folders = sorted(entry.path for entry in os.scandir(os.path.join(FIXTURES, group)) if entry.is_dir())
    compared = 0
    for folder in folders:
        result = analyze([folder], load_catalog(), Options(use_cache=False, jobs=1))
        if result.graph is None or not result.sites:
            continue
        leads = _leading_to(_callers(result.graph), {(s.path, s.call.function) for s in result.sites})
        every = result.graph.entries()
        kept = result.graph.entries(leads)
        assert kept == [e for e in every if e.key in leads], folder
        compared += len(kept)
    assert compared > 0


def test_the_facts_stage_does_not_load_libcst() -> None:
    """The fact passes read CPython's `ast`; libcst is the engine of source edits (fixes,
    migrations, `--add-noqa`), so analysing files never imports it (a forked worker loads
    nothing it does not use). Only a file CPython refuses asks libcst's parser whether it is
    valid for a later Python."""
    import subprocess
    import sys

    probe = (
        "import sys\nfrom whowaits.facts import extract, preload\npreload()\n"
        "assert extract(b'import anthropic\\nc = anthropic.Anthropic()\\nc.messages.create(model=\"m\")\\n').error is None\n"
        "print('libcst' in sys.modules)\n"
        "assert extract(b'def broken(:\\n').error is not None\n"
        "print('libcst' in sys.modules)\n"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("mentions_sdk", [True, False])
def test_a_files_tree_is_freed_without_the_cyclic_collector(mentions_sdk: bool) -> None:
    """Once a file's facts are out, reference counting frees its syntax tree and scopes: the
    index drops what points back up (a binding's scope, a method's class, a function's own
    scope) and no pass keeps a table of its own bound methods. So the one collection of the
    young generation the facts stage runs after each file (for the odd cycle, such as
    `ast.literal_eval`'s closures) finds almost nothing to traverse; with a cycle left, it
    walked every node the file made. A caller that paused the collector keeps it paused.
    Both a file that mentions an SDK and one that does not are checked."""
    import gc

    from whowaits.facts import extract

    head = b"import anthropic\nclient = anthropic.Anthropic()\n" if mentions_sdk else b"import helpers\n"
    call = b"client.messages.create(model=x, max_tokens=1, messages=[])" if mentions_sdk else b"helpers.run(x)"
    source = head + b"".join(
        b"class C%d(Base):\n    size = 3\n    def m(self, x):\n        self.y = x\n        return %s\n"
        b"def f%d(x, k=lambda v: v):\n    for i in x:\n        g = [j for j in i]\n    return %s\n"
        % (i, call, i, call) for i in range(100))
    assert extract(source).error is None  # imports done
    runs: list = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            runs.append((info["generation"], gc.get_count()[0]))

    gc.callbacks.append(seen)
    try:
        assert gc.isenabled()
        assert extract(source).error is None
        assert gc.isenabled()
        # What is left is the facts and what the knowledge tables remember: about 2,000 and 600
        # objects here, against 32,000 and 12,500 when a cycle kept the tree.
        assert len(runs) == 1 and runs[0][0] == 0 and runs[0][1] < 5_000
        gc.disable()
        try:
            assert extract(source).error is None
            assert not gc.isenabled()
            assert len(runs) == 1
            assert gc.collect() < 1_000  # and a full collection finds little of it
        finally:
            gc.enable()
    finally:
        gc.callbacks.remove(seen)


def test_preload_leaves_nothing_for_a_forked_worker_to_import() -> None:
    """Workers are forked after `preload`: a module the facts stage loads lazily and `preload`
    misses would be imported again by every worker on its first file."""
    probe = (
        "import sys\nfrom whowaits.facts import extract, preload\npreload()\nloaded = set(sys.modules)\n"
        "source = b'import anthropic  # noqa: F401\\nclient = anthropic.Anthropic()\\nfor d in docs:\\n'"
        " + b'    client.messages.create(model=\"m\", max_tokens=1, messages=[])\\n'\n"
        "assert extract(source).error is None\n"
        "assert extract(b'import helpers\\nfor d in docs:\\n    helpers.run(d)\\n').error is None\n"
        "print(sorted(set(sys.modules) - loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
