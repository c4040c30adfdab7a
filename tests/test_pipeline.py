"""Run-level properties: deterministic output whatever --jobs, and a cache that changes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

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
    from whowaits.contexts import _leading_to

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
    leads = _leading_to(result.graph, {(site.path, site.call.function)})
    assert leads == {("llm.py", "ask"), ("app.py", "route")}


def test_libcst_validates_again_after_the_facts_parse() -> None:
    """The facts stage parses without libcst's per-node checks; trees built by hand (fixes,
    migrations) must still be checked afterwards, also after a file that does not parse."""
    import libcst as cst
    import pytest

    from whowaits.facts import extract

    assert extract(b"import anthropic\nx = anthropic.Anthropic()\n").error is None
    assert extract(b"def broken(:\n").error is not None
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not an identifier")


def test_facts_stage_frees_each_file_in_one_young_collection() -> None:
    """The cyclic collector is paused while a file is analysed and the file's cyclic garbage
    (its scopes and the syntax tree they point into) is freed right after, by one collection of
    the young generation; a caller that paused the collector itself keeps it paused."""
    import gc

    from whowaits.facts import extract

    source = b"import anthropic\nclient = anthropic.Anthropic()\n" + b"".join(
        b"def f%d(x):\n    return client.messages.create(model=x, max_tokens=1, messages=[])\n" % i for i in range(200))
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
        assert len(runs) == 1 and runs[0][0] == 0 and runs[0][1] > 10_000  # one pass, over everything the file made
        gc.disable()
        try:
            assert extract(source).error is None
            assert not gc.isenabled()
            assert len(runs) == 1
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
