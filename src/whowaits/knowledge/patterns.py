"""Glob patterns over value paths, as the knowledge tables write them.

`*` matches any run of characters (dots included) and `{a,b}` lists alternatives, so
`flask.Flask().{get,post}` covers both verbs. Patterns compile to one regular expression.
"""

from __future__ import annotations

import re
from typing import List, Pattern

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


def compile_globs(*patterns: str) -> Pattern[str]:
    """One anchored regex matching any of the patterns."""
    parts = []
    for pattern in patterns:
        for glob in expand(pattern):
            parts.append(".*".join(re.escape(piece) for piece in glob.split("*")))
    return re.compile("^(?:" + "|".join(parts) + ")$")
