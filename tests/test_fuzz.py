"""Property tests: whatever bytes a file holds, analysis returns facts or a reason, never raises,
and what it returns survives the cache's data-only round trip unchanged.

CI runs a fixed, derandomised sample; a maintainer runs a longer one with
`WHOWAITS_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz.py -q` (see bench/README.md).
"""

from __future__ import annotations

import os
from typing import List

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from whowaits.cache import dumps, loads
from whowaits.catalog import load_catalog
from whowaits.core import FileFacts
from whowaits.facts import extract
from whowaits.pipeline import Options, analyze_sources

EXAMPLES = int(os.environ.get("WHOWAITS_FUZZ_EXAMPLES", "40"))
# CI: the same sample every run (a failure reproduces); a long run explores new inputs.
FUZZ = settings(max_examples=EXAMPLES, derandomize="WHOWAITS_FUZZ_EXAMPLES" not in os.environ, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _fixture_sources() -> List[bytes]:
    out = []
    for folder, _, files in os.walk(FIXTURES):
        for name in sorted(files):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as fh:
                    out.append(fh.read())
    return sorted(out)


SOURCES = _fixture_sources()

# Pieces of the programs whowaits reads: clients, calls, loops, entry points, batch shapes.
_LINES = [
    "import anthropic", "from anthropic import Anthropic as C", "import openai", "from openai import OpenAI",
    "client = anthropic.Anthropic()", "client = C()", "oa = OpenAI(base_url='http://localhost:1/v1')",
    "@app.route('/x')", "@app.task", "@celery.task(bind=True)", "def handler(req):", "async def run(items):",
    "class Job(Base):", "    def __init__(self): self.c = anthropic.Anthropic()", "for item in items:",
    "while True:", "    time.sleep(5)", "if __name__ == '__main__':", "with ThreadPoolExecutor() as ex:",
    "    ex.map(handler, rows)", "await asyncio.gather(*[run(x) for x in xs])",
    "    client.messages.create(model='claude', max_tokens=10, messages=[])",
    "    client.messages.batches.create(requests=[{'custom_id': f'id-{i}', 'params': {}} for i in range(3)])",
    "    b = client.messages.batches.retrieve(bid)", "    for r in client.messages.batches.results(bid): r.result.message",
    "    oa.chat.completions.create(model='gpt', messages=[])", "    return handler(x)", "    yield from run(x)",
    "x = lambda: client.messages.create(**kw)", "# noqa: WW201", "# whowaits: ignore[WW101] -- reason",
    "'''", '"""', "\\", "(", ")", "[", "}", ":", "    ", "\t", "def", "@", "\x00", "\xe9", "# -*- coding: latin-1 -*-",
]


@st.composite
def programs(draw) -> bytes:
    """A sequence of plausible lines with random indentation: mostly valid-ish, often broken."""
    lines = draw(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(_LINES)), max_size=40))
    text = "\n".join("    " * depth + line for depth, line in lines) + draw(st.sampled_from(["", "\n", "\r\n"]))
    return text.encode("utf-8", "surrogateescape")


@st.composite
def mutated_fixtures(draw) -> bytes:
    """A fixture with a few byte-level edits: deletions, duplications, flips and insertions."""
    data = bytearray(draw(st.sampled_from(SOURCES)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["delete", "dup", "flip", "insert"]))
        width = draw(st.integers(1, 40))
        if op == "delete":
            del data[at:at + width]
        elif op == "dup":
            data[at:at] = data[at:at + width]
        elif op == "flip":
            data[at] ^= draw(st.integers(1, 255))
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def _check(source: bytes) -> FileFacts:
    facts = extract(source)
    assert isinstance(facts, FileFacts)
    assert facts.error is None or ("internal error" not in facts.error and "\n" not in facts.error), facts.error
    assert loads(dumps(facts)) == facts
    return facts


@FUZZ
@given(programs())
def test_generated_programs(source: bytes) -> None:
    _check(source)


@FUZZ
@given(mutated_fixtures())
def test_mutated_fixtures(source: bytes) -> None:
    _check(source)


@FUZZ
@given(st.lists(st.one_of(programs(), mutated_fixtures()), min_size=1, max_size=4))
def test_projects_of_broken_files_still_analyse(sources: List[bytes]) -> None:
    """The project stages take whatever the per-file stage gives them."""
    facts = {f"pkg/m{i}.py": _check(src) for i, src in enumerate(sources)}
    analysis = analyze_sources(facts, load_catalog(), Options(use_cache=False, jobs=1))
    assert all(f.code for f in analysis.findings)
