"""Glob patterns over value paths, as the knowledge tables write them.

`*` matches any run of characters (dots included) and `{a,b}` lists alternatives, so
`flask.Flask().{get,post}` covers both verbs.
"""

from __future__ import annotations

import re
from typing import Dict, Generic, Iterable, List, Optional, Pattern, Tuple, TypeVar

_BRACES = re.compile(r"\{([^{}]*)\}")


def expand(pattern: str) -> List[str]:
    """`a.{b,c}.d` -> [`a.b.d`, `a.c.d`] (nested lists expand left to right)."""
    match = _BRACES.search(pattern)
    if match is None:
        return [pattern]
    out: List[str] = []
    for option in match.group(1).split(","):
        out.extend(expand(pattern[: match.start()] + option + pattern[match.end() :]))
    return out


class Globs:
    """Compiled globs: the plain paths (most rows of the knowledge tables) in a set, the ones with
    a `*` in one anchored regex. Python's regex compiler is slow on long alternations: compiling
    every table as one regex cost about 60 ms per process, on every run that analyses anything."""

    __slots__ = ("exact", "wild")

    def __init__(self, patterns: Iterable[str]) -> None:
        globs = [glob for pattern in patterns for glob in expand(pattern)]
        self.exact = frozenset(glob for glob in globs if "*" not in glob)
        wild = [".*".join(re.escape(piece) for piece in glob.split("*")) for glob in globs if "*" in glob]
        self.wild: Optional[Pattern[str]] = re.compile("(?:" + "|".join(wild) + ")\\Z") if wild else None

    def match(self, text: str) -> bool:
        return text in self.exact or (self.wild is not None and self.wild.match(text) is not None)


def compile_globs(*patterns: str) -> Globs:
    """A matcher for any of the patterns (the whole text must match)."""
    return Globs(patterns)


Row = TypeVar("Row")
_REMEMBERED = 4096  # distinct texts a table remembers before it starts over


class GlobTable(Generic[Row]):
    """A knowledge table keyed by one glob per row: the rows whose glob a text matches, in
    table order.

    The facts stage asks with the value path of every call in a module; testing each row's
    glob in turn was 1.8 million matches on 750 files. Here a path no row names (nearly every
    one) costs one set lookup and one regex, and the answer per path is remembered: a module's
    calls share few distinct paths."""

    __slots__ = ("_any", "_rows", "_found")

    def __init__(self, rows: Iterable[Tuple[str, Row]]) -> None:
        listed = list(rows)
        self._any = Globs(pattern for pattern, _ in listed)
        self._rows = [(Globs((pattern,)), row) for pattern, row in listed]
        self._found: Dict[str, Tuple[Row, ...]] = {}

    def matching(self, text: str) -> Tuple[Row, ...]:
        found = self._found.get(text)
        if found is None:
            if len(self._found) >= _REMEMBERED:
                self._found.clear()
            found = tuple(row for globs, row in self._rows if globs.match(text)) if self._any.match(text) else ()
            self._found[text] = found
        return found
