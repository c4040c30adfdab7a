"""The cache serves what it stored: a warm run parses nothing, and entries round-trip exactly."""

from __future__ import annotations

import os
import typing

import pytest

from conftest import FIXTURES
from whowaits import facts as facts_module, pipeline
from whowaits.cache import FactsCache, Invalid, _tagged, content_key, decode, dumps, encode, loads
from whowaits.core import (
    ArgRef,
    CallEdge,
    ClassFact,
    ClassRef,
    ContextFact,
    ContextKind,
    EdgeTarget,
    FileFacts,
    LocalInstance,
    LocalRef,
    ModuleRef,
    ParamRef,
    RegistrationFact,
    ScriptRef,
    TaskRef,
)
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
    facts = FileFacts(registrations=(RegistrationFact(ContextKind.SCHEDULED, "every", LocalRef("job"), 3, "<module>", 24.0),))
    data = dumps(facts)
    assert b'"kind":"scheduled"' in data
    back = loads(data)
    assert back == facts and back.registrations[0].kind == ContextKind.SCHEDULED
    assert dumps(back) == data
    # A field typed with the enum (the run cache's contexts) comes back as the member itself.
    context = ContextFact(ContextKind.HTTP_HANDLER, True, "app.py:3 index (Flask route)")
    assert encode(context)["kind"] == "http_handler"
    assert decode(ContextFact, encode(context)).kind is ContextKind.HTTP_HANDLER


def test_references_keep_their_kind() -> None:
    """Where a field may hold several kinds of reference, each names its class: a `LocalRef`
    and a `LocalInstance` of one name (same fields) read back as what they were."""
    edges = tuple(CallEdge("main", target, 3, ()) for target in (
        "pkg.mod.run", LocalRef("Job"), LocalInstance("Job"), ParamRef("handle", 1, "llm.reply"), ArgRef(0),
        ScriptRef("scripts/x.py"), ModuleRef("pkg.job")))
    passing = CallEdge("main", LocalRef("step"), 4, (), through=LocalInstance("Runner"), through_arg=0,
                       args=(LocalInstance("Client"), "", ParamRef("main", 0), "pkg.client"))
    registrations = tuple(RegistrationFact(ContextKind.HTTP_HANDLER, "route", target, 5, "<module>") for target in (
        "pkg.views.index", LocalRef("index"), ClassRef(LocalRef("View")), ClassRef("pkg.views.View"), TaskRef("pkg.tasks.nightly")))
    facts = FileFacts(edges=edges + (passing,), registrations=registrations,
                      classes=(ClassFact("View", 1, (LocalRef("Base"), "django.views.View")),))
    data = dumps(facts)
    assert b'{"@":"LocalInstance","qualname":"Job"}' in data and b'{"@":"LocalRef","qualname":"Job"}' in data
    assert b'"bases":[{"qualname":"Base"},"django.views.View"]' in data  # one kind of object there: no tag
    back = loads(data)
    assert back == facts
    assert [type(e.target) for e in back.edges] == [type(e.target) for e in facts.edges]


@pytest.mark.parametrize("target", [
    {"qualname": "f"},  # an object without its kind
    {"@": "Span", "line": 1, "col": 1, "end_line": 1, "end_col": 2},  # a class that is no option there
    {"@": ["LocalRef"], "qualname": "f"},
    {"@": "LocalRef", "qualname": "f", "extra": 1},
    ["local", "f"],
])
def test_a_reference_of_no_known_kind_is_refused(target) -> None:
    with pytest.raises(Invalid):
        decode(CallEdge, {"caller": "main", "target": target, "line": 1, "loops": []})


def test_a_union_of_references_is_only_allowed_where_tags_are_written() -> None:
    """The encoder tags a field's value or a `Tuple[X, ...]`'s items; a union of several classes
    nested anywhere else would be decoded expecting tags it never got, so it is refused."""
    assert _tagged(EdgeTarget) and _tagged(typing.Tuple[EdgeTarget, ...]) and not _tagged(typing.Tuple[str, ...])
    with pytest.raises(TypeError):
        _tagged(typing.Optional[typing.Tuple[EdgeTarget, ...]])


def _project_files(count: int) -> typing.Dict[str, bytes]:
    source = open(os.path.join(FIXTURES, "projects", "example", "supportdesk", "nightly.py"), "rb").read()
    return {f"m{i}.py": source + b"\n# file %d\n" % i for i in range(count)}


def test_an_entry_that_does_not_decode_is_analysed_again_and_replaced(tmp_path) -> None:
    contents = _project_files(2)
    options = pipeline.Options(jobs=1)
    cold = pipeline.compute_facts(contents, str(tmp_path), options)
    cache = FactsCache(str(tmp_path))
    key = content_key(contents["m0.py"])
    folder, path = cache._entry(key)
    with open(path, "wb") as fh:
        fh.write(b'{"calls": "not a tuple"}')
    assert cache.get(key) is None
    assert pipeline.compute_facts(contents, str(tmp_path), options) == cold
    assert cache.get(key) == cold["m0.py"]


def test_files_analysed_while_cached_ones_are_decoded_give_the_same_facts(tmp_path) -> None:
    """After an edit, the changed files go to worker processes while the main one decodes the
    cached others (enough of them to be worth a worker); the facts are the same as in order."""
    contents = _project_files(pipeline._PARALLEL_THRESHOLD + 2)
    alone = pipeline.compute_facts(contents, str(tmp_path / "alone"), pipeline.Options(use_cache=False, jobs=1))
    pipeline.compute_facts(contents, str(tmp_path), pipeline.Options(jobs=1))
    contents["m0.py"] += b"def added():\n    return 1\n"
    contents["m1.py"] += b"\n"
    seen: typing.List[typing.Tuple[int, int]] = []
    mixed = pipeline.compute_facts(contents, str(tmp_path), pipeline.Options(jobs=2, progress=lambda n, t: seen.append((n, t))))
    assert seen == [(1, 2), (2, 2)]  # two files analysed, the others decoded
    expected = pipeline.compute_facts(contents, str(tmp_path / "alone"), pipeline.Options(use_cache=False, jobs=1))
    assert mixed == expected and mixed["m2.py"] == alone["m2.py"]
    assert "added" in [f.qualname for f in mixed["m0.py"].functions]


def test_workers_store_the_entries_they_compute(tmp_path, monkeypatch) -> None:
    """On a cold run the worker processes write each file's entry themselves; the next run
    parses nothing."""
    contents = _project_files(pipeline._PARALLEL_THRESHOLD + 1)
    cold = pipeline.compute_facts(contents, str(tmp_path), pipeline.Options(jobs=2))

    def no_parse(data: bytes):
        raise AssertionError("a cached file was parsed again")

    monkeypatch.setattr(facts_module, "extract", no_parse)
    assert pipeline.compute_facts(contents, str(tmp_path), pipeline.Options(jobs=1)) == cold
    assert pipeline.compute_facts(contents, str(tmp_path), pipeline.Options(jobs=2)) == cold
