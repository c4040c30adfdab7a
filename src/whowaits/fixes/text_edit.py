"""Text edits without a parser: where a rewrite differs from the original, and applying the
chosen edits. Kept apart from the libcst helpers so reading and applying fixes needs no libcst.

Fixes are offered on every `check`, so these compare whole files with string operations that
run in C (slices, `count`, `find`) rather than a Python loop over every character."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

from whowaits.core import Edit


def line_starts(text: str) -> Sequence[int]:
    starts = [0]
    at = text.find("\n")
    while at >= 0:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return starts


def _position(text: str, offset: int) -> Tuple[int, int]:
    """1-based (line, column) of a character offset."""
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def _common_length(old: str, new: str, limit: int, from_end: bool) -> int:
    """How many characters (at most `limit`) `old` and `new` share at their start (or end),
    found by halving: each step compares two slices."""
    low, high = 0, limit
    while low < high:
        mid = (low + high + 1) // 2
        same = old[len(old) - mid:] == new[len(new) - mid:] if from_end else old[:mid] == new[:mid]
        if same:
            low = mid
        else:
            high = mid - 1
    return low


def edit_between(old: str, new: str) -> Optional[Tuple[int, int, Edit]]:
    """The single replacement turning `old` into `new`: (start offset, end offset, edit)."""
    if old == new:
        return None
    limit = min(len(old), len(new))
    prefix = _common_length(old, new, limit, from_end=False)
    suffix = _common_length(old, new, limit - prefix, from_end=True)
    while prefix > 0 and _word(old[prefix - 1]):  # whole words: `"failed"` -> `"errored"`, not `fail` -> `error`
        prefix -= 1
    while suffix > 0 and _word(old[len(old) - suffix]):
        suffix -= 1
    end = len(old) - suffix
    line, col = _position(old, prefix)
    end_line, end_col = _position(old, end)
    return prefix, end, Edit(line, col, end_line, end_col, new[prefix:len(new) - suffix])


def _word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def apply_edits(text: str, edits: Sequence[Tuple[int, int, str]]) -> str:
    """Apply non-overlapping (start, end, content) replacements."""
    out = []
    cursor = 0
    for start, end, content in sorted(edits):
        out.append(text[cursor:start])
        out.append(content)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)
