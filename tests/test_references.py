"""References between the facts stage and the project stage are typed classes, never text.

A file's facts point at things only the project stage resolves: a function of the same module,
a parameter the callers fill in, a script a subprocess runs. Each kind is a small class in
`core.py`; these tests keep the old text mini-language (`"local:"` + name, decoded with
`startswith`) from coming back, and hold every kind to a fixture whose facts produce it.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import typing
from typing import Iterator, Set

from conftest import FIXTURES, REPO
from whowaits import core
from whowaits.cache import dumps, loads
from whowaits.facts import extract

# The prefixes the references were once written with.
_PREFIXES = ("local:", "local-inst:", "class:", "task:", "@param:", "@arg:", "script:", "module:")

REFERENCE_KINDS = frozenset(
    cls
    for alias in (core.ValueRef, core.CallRef, core.EdgeTarget, core.ArgValue, core.RegisteredRef)
    for cls in typing.get_args(alias)
    if dataclasses.is_dataclass(cls)
) | {core.CollectionRef}


def test_no_encoded_reference_is_written_in_src() -> None:
    """No string literal (f-string parts included) starts with a reference prefix."""
    source = os.path.join(REPO, "src", "whowaits")
    found = []
    for folder, _, names in os.walk(source):
        for name in names:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as fh:
                tree = ast.parse(fh.read())
            rel = os.path.relpath(path, source).replace(os.sep, "/")
            found += [f"{rel}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
                      if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(_PREFIXES)]
    assert not found, found


def _references(value: object) -> Iterator[object]:
    if isinstance(value, tuple):
        for item in value:
            yield from _references(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        if type(value) in REFERENCE_KINDS:
            yield value
        for field in dataclasses.fields(value):
            yield from _references(getattr(value, field.name))


def test_every_reference_kind_comes_from_a_fixture_and_survives_the_cache() -> None:
    """Each kind is produced by the facts of some fixture, and every fixture's facts read back
    from the cache exactly (a `LocalRef` and a `LocalInstance` of one name stay apart)."""
    seen: Set[type] = set()
    for folder, _, names in os.walk(FIXTURES):
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            with open(os.path.join(folder, name), "rb") as fh:
                facts = extract(fh.read())
            assert loads(dumps(facts)) == facts, os.path.join(folder, name)
            seen.update(type(ref) for ref in _references(facts))
    assert seen == REFERENCE_KINDS, sorted(cls.__name__ for cls in REFERENCE_KINDS - seen)
