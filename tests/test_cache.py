"""The cache serves what it stored: a warm run parses nothing, and entries round-trip exactly."""

from __future__ import annotations

import os

import pytest

from conftest import FIXTURES
from whowaits import facts as facts_module, pipeline
from whowaits.cache import FactsCache, content_key, decode, dumps, encode, loads
from whowaits.core import ContextFact, ContextKind, FileFacts, RegistrationFact
from whowaits.facts import extract


def test_a_warm_run_parses_nothing(tmp_path, monkeypatch) -> None:
    source = open(os.path.join(FIXTURES, "projects", "example", "supportdesk", "nightly.py"), "rb").read()
    contents = {"a.py": source, "b.py": source + b"\n# another file\n"}
    options = pipeline.Options(jobs=1)
    cold = pipeline.compute_facts(contents, str(tmp_path), options)

    def no_parse(data: bytes):
        raise AssertionError("a cached file was parsed again")

    monkeypatch.setattr(facts_module, "extract", no_parse)
    assert pipeline.compute_facts(contents, str(tmp_path), options) == cold


@pytest.mark.parametrize("name", ["rules/ww301_bad.py", "rules/ww401_bad.py", "projects/example/supportdesk/web.py"])
def test_entries_round_trip(tmp_path, name) -> None:
    data = open(os.path.join(FIXTURES, name), "rb").read()
    facts = extract(data)
    assert loads(dumps(facts)) == facts
    cache = FactsCache(str(tmp_path))
    cache.put(content_key(data), facts)
    assert cache.get(content_key(data)) == facts


def test_kinds_are_stored_as_their_text() -> None:
    """A kind in a cached fact is a str enum member: it is stored as its text and reads back
    equal to the member, so a warm run sees what a cold one did."""
    facts = FileFacts(registrations=(RegistrationFact(ContextKind.SCHEDULED, "every", "local:job", 3, "<module>", 24.0),))
    data = dumps(facts)
    assert b'"kind":"scheduled"' in data
    back = loads(data)
    assert back == facts and back.registrations[0].kind == ContextKind.SCHEDULED
    assert dumps(back) == data
    # A field typed with the enum (the run cache's contexts) comes back as the member itself.
    context = ContextFact(ContextKind.HTTP_HANDLER, True, "app.py:3 index (Flask route)")
    assert encode(context)["kind"] == "http_handler"
    assert decode(ContextFact, encode(context)).kind is ContextKind.HTTP_HANDLER
