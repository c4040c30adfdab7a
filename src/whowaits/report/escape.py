"""Names and text from the scanned tree, made safe to print in any output format.

File names may hold bytes that are not UTF-8 (carried through the run as `os.fsdecode`'s
surrogate escapes), newlines that would start a forged finding line or workflow command, ESC
sequences that repaint a terminal and bidirectional overrides that reorder what a reviewer
reads. The run keeps names exactly as they are (files are read and matched by them); every
output shows them through `printable`, so one escaping rule holds for all formats.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from typing import Any, Tuple, TypeVar

T = TypeVar("T")

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    if ch in _NAMED:
        return _NAMED[ch]
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with control, format (bidi) and undecodable characters as backslash escapes."""
    if text.isprintable() and (text.isascii() or not _SURROGATE.search(text)):
        return text
    return "".join(
        _escape(ch) if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") and ch != " " else ch
        for ch in text
    )


_SURROGATE = re.compile("[\ud800-\udfff]")


def printable_tree(value: T) -> T:
    """A copy of a result object (dataclasses, tuples, lists) with every string `printable`;
    the parts that need no escaping (nearly all) are the same objects."""
    return _walk(value)


# Values that hold no text: skipped where they are met rather than visited (a run's result
# is tens of thousands of values, most of them line numbers, flags and `None`).
_NO_TEXT = frozenset({int, float, bool, type(None)})


def _walk(value: Any) -> Any:
    kind: type = type(value)
    if kind is str or isinstance(value, str):
        return printable(value)
    if kind is tuple:
        items = tuple([item if type(item) in _NO_TEXT else _walk(item) for item in value])
        return value if all(a is b for a, b in zip(items, value)) else items
    if kind is list:
        return [_walk(v) for v in value]
    names = _init_fields(kind)
    if not names:
        return value
    changes = {}
    for name in names:
        old = getattr(value, name)
        if type(old) in _NO_TEXT:
            continue
        new = _walk(old)
        if new is not old:
            changes[name] = new
    return dataclasses.replace(value, **changes) if changes else value


@functools.lru_cache(maxsize=None)
def _init_fields(cls: type) -> Tuple[str, ...]:
    """The fields `dataclasses.replace` takes; none for anything that is not a dataclass."""
    if not dataclasses.is_dataclass(cls):
        return ()
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)
