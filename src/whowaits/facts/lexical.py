"""Where the string tokens and comments of Python source are, without tokenizing it.

Code that tells a `#` in a string from a comment, or finds the bracket that closes another,
skips each string token whole: its prefix, its quotes, its escapes and, from Python 3.12, the
strings nested in an f-string's braces. `tokenize` would get there a token at a time, in Python:
a twentieth of the facts stage on files that mention `noqa`. Nothing here imports libcst, so a
warm run that reads suppressions loads none of the parsing stages.
"""

from __future__ import annotations

import re
import sys
from typing import List, Optional, Tuple

PREFIX = re.compile(rb"[rRbBuUfF]{0,2}")
# What CPython's `ast` and libcst's positions both count as one line break (`str.splitlines`
# counts more: form feeds, `\x1c`, `\u2028`...).
LINE_BREAK = re.compile(r"\r\n?|\n")

# A string token: before Python 3.12 a string ends at the first unescaped quote like its own.
_STRING_TOKEN = re.compile(
    rb"[rRbBuUfF]{0,2}(?:"
    rb"'''(?:[^'\\]|\\.|'(?!''))*'''"
    rb'|"""(?:[^"\\]|\\.|"(?!""))*"""'
    rb"|'(?:[^'\\\n]|\\.)*'"
    rb'|"(?:[^"\\\n]|\\.)*")',
    re.DOTALL,
)
_NESTED_QUOTES = sys.version_info >= (3, 12)  # PEP 701: `f"{d["k"]}"`


def string_end(src: bytes, i: int) -> int:
    """Where the string token starting at `i` (its prefix or its quote) ends; `i` when there is
    none. From Python 3.12 the braces of an f-string's expressions may hold strings in the same
    quotes, so such f-strings are read character by character."""
    token = _STRING_TOKEN.match(src, i)
    if token is not None and not (_NESTED_QUOTES and b"{" in token.group() and b"f" in src[i:i + 2].lower()):
        return token.end()
    prefix = PREFIX.match(src, i)
    j = prefix.end() if prefix else i
    quote = src[j:j + 3] if src[j:j + 3] in (b'"""', b"'''") else src[j:j + 1]
    if quote not in (b'"', b"'", b'"""', b"'''"):
        return i
    formatted = prefix is not None and b"f" in prefix.group().lower()
    j += len(quote)
    depth = 0
    limit = len(src)
    while j < limit:
        c = src[j]
        if c == 0x5C:
            j += 2
            continue
        if formatted and c == 0x7B:
            if depth == 0 and src[j + 1:j + 2] == b"{":
                j += 2
                continue
            depth += 1
        elif formatted and c == 0x7D and depth:
            depth -= 1
        elif depth and c in b"'\"":
            j = max(j + 1, string_end(src, prefix_start(src, j)))
            continue
        elif not depth and src.startswith(quote, j):
            return j + len(quote)
        elif c == 0x0A and len(quote) == 1 and not depth:
            return i
        j += 1
    return i


def field_end(body: bytes, i: int, stop: int, expression: bool = False) -> int:
    """Where the replacement field of an f-string whose expression starts at `i` (just after
    its `{`) closes: its `}` at bracket depth 0, strings inside skipped; `stop` when it does not
    close before it. With `expression`, where the expression itself ends: also at a top-level
    `!` of a conversion, `:` of a format spec or `=` of `{x=}`."""
    depth = 0
    while i < stop:
        c = body[i]
        if c in b"'\"":
            i = max(i + 1, string_end(body, prefix_start(body, i)))
            continue
        if c in b"([{":
            depth += 1
        elif c in b")]":
            depth -= 1
        elif c == 0x7D:
            if depth == 0:
                return i
            depth -= 1
        elif expression and depth == 0 and (
                (c == 0x21 and body[i + 1:i + 2] != b"=") or c == 0x3A
                or (c == 0x3D and body[i - 1:i] not in (b"=", b"!", b"<", b">") and body[i + 1:i + 2] != b"=")):
            return i
        i += 1
    return stop


def prefix_start(src: bytes, quote: int) -> int:
    """Where the string whose quote is at `quote` starts: its prefix letters (`rb`, `f`)."""
    i = quote
    while i > 0 and quote - i < 2 and src[i - 1] in b"rRbBuUfF":
        i -= 1
    if i > 0 and (src[i - 1:i].isalnum() or src[i - 1] in b"_" or src[i - 1] >= 0x80):
        return quote  # the letters end a name (`if"x"`): the string starts at its quote
    return i


_COMMENT_OR_QUOTE = re.compile(rb"[#'\"]")
_LINE_END = re.compile(rb"[\r\n]")


def comments(source: bytes) -> Optional[List[Tuple[int, int, int]]]:
    """(line, byte offset of the `#`, byte offset of the comment's end) of every comment, in
    order, as the tokenizer finds them (lines end at `\\n`, a comment at `\\r` or `\\n`); None
    when a string does not end, where the tokenizer fails too."""
    out: List[Tuple[int, int, int]] = []
    line, counted = 1, 0
    i = 0
    while True:
        found = _COMMENT_OR_QUOTE.search(source, i)
        if found is None:
            return out
        k = found.start()
        if source[k] == 0x23:
            stop = _LINE_END.search(source, k)
            end = len(source) if stop is None else stop.start()
            line += source.count(b"\n", counted, k)
            counted = k
            out.append((line, k, end))
            i = end
        else:
            end = string_end(source, prefix_start(source, k))
            if end <= k:
                return None
            i = end
