"""libcst trees read through their dataclass fields, for the fixes.

libcst's visitors (and its `children`) dispatch through per-node hooks that cost several times
more than reading the fields, and `isinstance` on its node classes, which are ABCs, runs in
Python; whowaits reads trees far more often than it rewrites them, so it reads fields directly
and remembers class tests per type.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Callable, Dict, Tuple, Union

import libcst as cst


def subclass_test(bases: Union[type, Tuple[type, ...]]) -> Callable[[type], bool]:
    """`issubclass(kind, bases)`, remembered per type."""
    known: Dict[type, bool] = {}

    def test(kind: type) -> bool:
        found = known.get(kind)
        if found is None:
            found = known[kind] = issubclass(kind, bases)
        return found

    return test


is_node = subclass_test(cst.CSTNode)

_FIELD_NAMES: Dict[type, Tuple[str, ...]] = {}


def field_names(kind: type) -> Tuple[str, ...]:
    """The dataclass fields of a node class, in declaration order (not always source order)."""
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    return names
