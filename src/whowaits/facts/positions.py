"""Where nodes are in the source: spans and source text for the facts of one module.

Every `ast` node the passes cite has its position; a span is that position in characters, and
a node's text is its source slice. What the facts print was fixed when the passes read libcst
trees, and stays so: a span leaves out the parentheses around a tuple and runs over a
generator expression's own tokens (not the call's parentheses in `sum(x for x in xs)`), and a
text holds the parentheses that are the node's own, with the indentation of its statement
taken off its continuation lines (not inside a string, nor after a line continuation).
"""

from __future__ import annotations

import ast
import bisect
import functools
from typing import Any, List, Optional, Tuple

from whowaits.core import Span
from whowaits.facts.lexical import LINE_BREAK, comments, field_end, prefix_start, string_end
from whowaits.facts.scopes import ModuleIndex
from whowaits.facts.syntax import COMPOUND_STATEMENTS, piece_texts

_OUTERMOST = -2  # in `ModuleIndex.lone`: the outermost parentheses around it are its class's
_BLANK = frozenset(b" \t\x0c\r\n")
_CASE = getattr(ast, "match_case", None)  # a `case` clause, Python 3.10+


class CodeFor:
    """Source text and spans of nodes, shared by the fact passes of one module."""

    def __init__(self, index: ModuleIndex, text: str) -> None:
        self.index = index
        self.source = index.source  # the file as UTF-8, which `ast`'s byte columns count
        self.text = text
        self._text_lines: Optional[List[str]] = None

    def statement_line(self, ordinal: int, node: ast.AST) -> int:
        """The line of the statement a node belongs to: exact for statements, the statement's
        first line for expressions inside it."""
        if 0 <= ordinal < len(self.index.statements):
            return self.index.statements[ordinal].lineno
        return self.span(node).line

    def __call__(self, node: ast.AST) -> str:
        text = self.code(node)
        return text if len(text) <= 120 else text[:117] + "..."

    # -- spans ------------------------------------------------------------------------------

    def span(self, node: ast.AST) -> Span:
        kind = type(node)
        at: Any = node  # every node the passes cite has a position
        if kind in COMPOUND_STATEMENTS:
            # A compound statement (a loop, a def) is only ever cited by where it starts.
            line, col = at.lineno, at.col_offset
            return Span(line, col + 1, line, col + 1)
        if kind is _CASE:
            line = self._line_of(self.case_keyword(self._start(at.pattern)))
            return Span(line, 1, line, 1)
        if isinstance(node, ast.GeneratorExp):
            start, end = self.generator_span(node)
            return Span(*self._place(start), *self._place(end))
        if isinstance(node, ast.Tuple) and node.elts and self.parenthesized(node):
            start, end = self._start(node) + 1, self._end(node) - 1
            return Span(*self._place(self.blank_after(start)), *self._place(self.code_before(end)))
        line, end_line = at.lineno, at.end_lineno or at.lineno
        return Span(line, self._column(line, at.col_offset), end_line, self._column(end_line, at.end_col_offset or 0))

    def _place(self, offset: int) -> Tuple[int, int]:
        """(line, 1-based character column) of a byte offset."""
        line = bisect.bisect_right(self.index.starts, offset)
        return line, self._column(line, offset - self.index.starts[line - 1])

    def _line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.index.starts, offset)

    def _lines(self) -> List[str]:
        if self._text_lines is None:
            self._text_lines = LINE_BREAK.split(self.text)
        return self._text_lines

    def _column(self, line: int, offset: int) -> int:
        """1-based character column of `ast`'s UTF-8 byte offset on a line."""
        lines = self._lines()
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        if text.isascii():
            return offset + 1
        return len(text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "replace")) + 1

    # -- byte offsets -----------------------------------------------------------------------

    def _start(self, node: ast.AST) -> int:
        at: Any = node
        return self.index.offset(at.lineno, at.col_offset)

    def _end(self, node: ast.AST) -> int:
        at: Any = node
        return self.index.offset(at.end_lineno or at.lineno, at.end_col_offset or 0)

    def blank_after(self, i: int) -> int:
        """The first byte at or after `i` that is not a space, line break, comment or line
        continuation."""
        src = self.source
        while i < len(src):
            c = src[i]
            if c in _BLANK:
                i += 1
            elif c == 0x23:  # '#'
                j = src.find(b"\n", i)
                i = len(src) if j < 0 else j
            elif c == 0x5C and src[i + 1:i + 2] in (b"\n", b"\r"):
                i += 1
            else:
                break
        return i

    def code_before(self, i: int) -> int:
        """The index just after the last byte of code before `i`, across spaces, line breaks and
        comments; -1 where the file's strings cannot be told from its comments."""
        src = self.source
        while True:
            j = i
            while j > 0 and src[j - 1] in _BLANK:
                j -= 1
            if b"\n" not in src[j:i] and b"\r" not in src[j:i]:  # on the same line: what precedes is code
                return j
            line_start = max(src.rfind(b"\n", 0, j), src.rfind(b"\r", 0, j)) + 1
            if b"#" not in src[line_start:j]:
                return j
            starts = self.comment_starts
            if starts is None:
                return -1
            at = bisect.bisect_left(starts, line_start)
            if at == len(starts) or starts[at] >= j:
                return j  # the `#` is in a string
            i = starts[at]  # before the line's comment

    @functools.cached_property
    def comment_starts(self) -> Optional[List[int]]:
        """Where each comment starts (`lexical.comments`, read on first use), None if a string
        does not end."""
        found = comments(self.source)
        return None if found is None else [start for _, start, _ in found]

    def closing(self, i: int) -> int:
        """Where the bracket at `i` closes, skipping strings and comments; -1 if it does not."""
        src = self.source
        depth = 0
        while i < len(src):
            c = src[i]
            if c in b"([{":
                depth += 1
            elif c in b")]}":
                depth -= 1
                if depth == 0:
                    return i
            elif c == 0x23:
                j = src.find(b"\n", i)
                i = len(src) if j < 0 else j
                continue
            elif c in b"'\"":
                i = max(i + 1, string_end(src, prefix_start(src, i)))
                continue
            i += 1
        return -1

    def parenthesized(self, node: ast.expr) -> bool:
        """Whether an expression whose `ast` span holds its own parentheses (a tuple, a
        generator expression) has them: the bracket at its start closes at its end."""
        start, end = self._start(node), self._end(node)
        return self.source[start:start + 1] == b"(" and self.closing(start) == end - 1

    def generator_span(self, node: ast.GeneratorExp) -> Tuple[int, int]:
        """A generator expression's own tokens: from its first one, after the opening
        parenthesis `ast` starts it at, to the end of its last clause and the parentheses that
        clause may have before the closing one."""
        closing = self._end(node) - 1
        clause = node.generators[-1]
        end = self._end(clause.ifs[-1] if clause.ifs else clause.iter)
        while True:
            after = self.blank_after(end)
            if after >= closing or self.source[after:after + 1] != b")":
                return self.blank_after(self._start(node) + 1), end
            end = after + 1

    def case_keyword(self, pattern: int) -> int:
        """Where the `case` before a pattern starts (`ast` places the clause only by its pattern,
        which may begin lines below it, inside parentheses): the last `case` before it that
        is the first word of its line."""
        src = self.source
        at = pattern
        while True:
            at = src.rfind(b"case", 0, at)
            if at < 0:
                return pattern
            if not src[src.rfind(b"\n", 0, at) + 1:at].strip(b" \t\x0c"):
                return at

    def literal_pieces(self, node: ast.AST) -> List[str]:
        """The text of each string of an implicit concatenation (`syntax.piece_texts`)."""
        return piece_texts(self.source, self._start(node), self._end(node))

    # -- text -------------------------------------------------------------------------------

    def code(self, node: ast.AST) -> str:
        """The source text of a node as the facts print it (see the module's docstring)."""
        src = self.source
        start, end = self._start(node), self._end(node)
        if not isinstance(node, ast.expr):
            return self._dedented(start, src[start:end])
        closer = self.index.lone.get(id(node), -1)
        if isinstance(node, ast.GeneratorExp) and closer == end - 1:  # `sum(x for x in xs)`
            start, end = self.generator_span(node)
            return self._dedented(start, src[start:end])
        pairs: List[Tuple[int, int]] = []
        while True:
            before = self.code_before(start)
            if before < 0:
                break
            after = self.blank_after(end)
            if before > 0 and src[before - 1] == 0x28 and src[after:after + 1] == b")" and after != closer:
                start, end = before - 1, after + 1
                pairs.append((start, end))
            else:
                break
        if closer == _OUTERMOST and pairs:  # a class's lone base: the last pair is the class's
            pairs.pop()
            start, end = pairs[-1] if pairs else (self._start(node), self._end(node))
        return self._dedented(start, src[start:end])

    def _dedented(self, start: int, text: bytes) -> str:
        """Text that starts at byte `start`, without its statement's indentation on the lines
        that continue it inside brackets (a string's lines and those after a backslash keep
        theirs)."""
        if b"\n" not in text and b"\r" not in text:
            return text.decode("utf-8", "replace")
        heads = self._heads
        head = heads[bisect.bisect_right(heads, start) - 1] if heads and heads[0] <= start else 0
        before_head = self.source[self.source.rfind(b"\n", 0, head) + 1:head]
        indent = before_head[:len(before_head) - len(before_head.lstrip(b" \t\x0c"))]
        if not indent:
            return text.decode("utf-8", "replace")
        return _dedent(text, indent).decode("utf-8", "replace")

    @functools.cached_property
    def _heads(self) -> List[int]:
        """Where each statement, `except` clause, decorator and `case` clause starts: the
        indentation a multi-line expression's lines lose is that of the innermost before it."""
        heads: List[int] = []
        for stmt in self.index.statements:
            heads.append(self._start(stmt))
            heads.extend(self._start(d) for d in getattr(stmt, "decorator_list", ()))
            heads.extend(self._start(h) for h in getattr(stmt, "handlers", ()))
            heads.extend(self.case_keyword(self._start(c.pattern)) for c in getattr(stmt, "cases", ()))
        heads.sort()
        return heads


def _dedent(text: bytes, indent: bytes) -> bytes:
    """`text` without `indent` at the start of each line that continues code: a string's
    lines keep theirs (but the braces of an f-string hold code), and so does a line after a
    backslash continuation."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c in b"'\"":
            start = prefix_start(text, i)
            j = max(i + 1, string_end(text, start))
            if b"f" in text[start:i].lower():
                out += _fstring_dedent(text[i:j], indent)
            else:
                out += text[i:j]
            i = j
            continue
        if c == 0x23:  # a comment runs to the end of its line
            j = text.find(b"\n", i)
            j = len(text) if j < 0 else j
            out += text[i:j]
            i = j
            continue
        if c == 0x5C and text[i + 1:i + 2] in (b"\n", b"\r"):
            j = i + (3 if text[i + 1:i + 3] == b"\r\n" else 2)
            out += text[i:j]
            i = j
            continue
        out.append(c)
        i += 1
        if c == 0x0A and text.startswith(indent, i):
            i += len(indent)
    return bytes(out)


def _fstring_dedent(token: bytes, indent: bytes) -> bytes:
    """An f-string token (from its quote) with `_dedent` applied to the code in its braces."""
    quote = token[:3] if token[:3] in (b'"""', b"'''") else token[:1]
    out = bytearray(quote)
    i, stop = len(quote), len(token) - len(quote)
    while i < stop:
        c = token[i]
        if c == 0x7B and token[i + 1:i + 2] != b"{":
            j = field_end(token, i + 1, stop)
            out.append(c)
            out += _dedent(token[i + 1:j], indent)
            i = j
            continue
        if c in b"{}" and token[i + 1:i + 2] == bytes([c]):
            out += token[i:i + 2]
            i += 2
            continue
        out.append(c)
        i += 1
    out += token[stop:]
    return bytes(out)
