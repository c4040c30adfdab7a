"""Text edits without a parser: where a rewrite differs from the original, and applying the
chosen edits. Kept apart from the libcst helpers so reading and applying fixes needs no libcst."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

from whowaits.core import Edit


def line_starts(text: str) -> Sequence[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def position(starts: Sequence[int], offset: int) -> Tuple[int, int]:
    """1-based (line, column) of a character offset."""
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo + 1, offset - starts[lo] + 1


def edit_between(old: str, new: str) -> Optional[Tuple[int, int, Edit]]:
    """The single replacement turning `old` into `new`: (start offset, end offset, edit)."""
    if old == new:
        return None
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]:
        suffix += 1
    while prefix > 0 and _word(old[prefix - 1]):  # whole words: `"failed"` -> `"errored"`, not `fail` -> `error`
        prefix -= 1
    while suffix > 0 and _word(old[len(old) - suffix]):
        suffix -= 1
    end = len(old) - suffix
    starts = line_starts(old)
    line, col = position(starts, prefix)
    end_line, end_col = position(starts, end)
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
