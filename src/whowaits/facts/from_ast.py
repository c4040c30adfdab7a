"""libcst trees built from CPython's `ast`: the fact passes' input, at a fifth of libcst's parse.

The fact passes read libcst trees, and libcst's parser was most of a cold run: it builds a node
for every space, comma and parenthesis, several times the objects `ast` makes. So the same tree
is built from `ast`, which the depth gate parsed anyway: the node classes and every field the
passes read are what libcst's parser gives, and trivia fields (whitespace, commas, parentheses)
share one default each.

What the passes print comes from the source itself: an expression's text is its `ast` span,
with the parentheses libcst would count as its own and without its statement's indentation on
continuation lines, as libcst prints a node alone (`Built.code`). Spans are `ast`'s, paired in
`positions`; the builder gives those it alone knows (the pieces of `"a" "b"`, f-strings and the
expressions inside them, `Built.span`). What is left (the inner `a and b` of `a and b and c`
inside an f-string, a multi-line expression inside an f-string) comes from libcst's parse of
the same file, made on first use and paired with the built tree node by node (`ParsedTwin`):
none of the 750 files of the benchmark tree needs it. A construct
outside what this module builds raises `Unsupported`, and libcst parses the file as before;
libcst also stays the engine of every source edit (`--add-noqa`, fixes). `tests/test_from_ast.py`
compares both trees field by field, each expression's text, the spans given here and each
fixture's facts.
"""

from __future__ import annotations

import ast
import bisect
import functools
import re
import sys
from dataclasses import MISSING, fields
from typing import Any, Callable, Dict, Iterator, List, Optional, Protocol, Sequence, Tuple, Union, cast

import libcst as cst
from libcst import MaybeSentinel

from whowaits.facts import _parse, quiet_parse
from whowaits.facts.lexical import PREFIX, comments, prefix_start, string_end
from whowaits.facts.positions import PAIRED
from whowaits.facts.scopes import child_nodes


_OUTERMOST = -2  # in `_Builder.closers`: the outermost parentheses around it are its parent's


class _Located(Protocol):
    """An `ast` node with a position: expressions, statements, keywords, arguments."""

    lineno: int
    col_offset: int
    end_lineno: Optional[int]
    end_col_offset: Optional[int]


class Unsupported(Exception):
    """A construct this module leaves to libcst's parser."""


class TwinMismatch(Exception):
    """The built tree and libcst's parse of the same file differ: use libcst's."""


def _constructor(kind: type) -> Callable[..., object]:
    """A function that makes a node of `kind` as libcst's parser would, without libcst's
    `__init__` (which makes fresh whitespace nodes for every default and validates): each field
    is a keyword with libcst's default, made once and shared (trivia is never written). Like
    `dataclasses`, it is generated, so each field is one attribute store; a list given for a
    sequence field is stored as the tuple libcst's parser holds."""
    names: List[str] = []
    namespace: Dict[str, object] = {"_new": object.__new__, "_set": object.__setattr__, "_kind": kind,
                                    "_list": list, "_tuple": tuple, "_type": type}
    body = ["    node = _new(_kind)"]
    for i, f in enumerate(fields(kind)):
        if f.default is not MISSING:
            namespace[f"_d{i}"] = f.default
        elif f.default_factory is not MISSING:
            namespace[f"_d{i}"] = f.default_factory()
        else:
            namespace[f"_d{i}"] = None
        names.append(f"{f.name}=_d{i}")
        value = f"_tuple({f.name}) if _type({f.name}) is _list else {f.name}" if "Sequence" in str(f.type) else f.name
        body.append(f"    _set(node, {f.name!r}, {value})")
    code = f"def make({'*, ' if names else ''}{', '.join(names)}):\n" + "\n".join(body) + "\n    return node\n"
    exec(code, namespace)  # noqa: S102 - generated from libcst's own field names, not from input
    return cast(Callable[..., object], namespace["make"])


class _Constructors(Dict[type, Callable[..., object]]):
    """Node class -> its constructor (`_constructor`), made on first use: `_MAKE[cst.Call](func=f)`."""

    def __missing__(self, kind: type) -> Callable[..., object]:
        made = self[kind] = _constructor(kind)
        return made


_MAKE = _Constructors()


_BINARY: Dict[type, type] = {
    ast.Add: cst.Add, ast.Sub: cst.Subtract, ast.Mult: cst.Multiply, ast.Div: cst.Divide,
    ast.FloorDiv: cst.FloorDivide, ast.Mod: cst.Modulo, ast.Pow: cst.Power, ast.LShift: cst.LeftShift,
    ast.RShift: cst.RightShift, ast.BitAnd: cst.BitAnd, ast.BitOr: cst.BitOr, ast.BitXor: cst.BitXor,
    ast.MatMult: cst.MatrixMultiply,
}
_AUGMENTED: Dict[type, type] = {
    ast.Add: cst.AddAssign, ast.Sub: cst.SubtractAssign, ast.Mult: cst.MultiplyAssign, ast.Div: cst.DivideAssign,
    ast.FloorDiv: cst.FloorDivideAssign, ast.Mod: cst.ModuloAssign, ast.Pow: cst.PowerAssign,
    ast.LShift: cst.LeftShiftAssign, ast.RShift: cst.RightShiftAssign, ast.BitAnd: cst.BitAndAssign,
    ast.BitOr: cst.BitOrAssign, ast.BitXor: cst.BitXorAssign, ast.MatMult: cst.MatrixMultiplyAssign,
}
_UNARY: Dict[type, type] = {ast.USub: cst.Minus, ast.UAdd: cst.Plus, ast.Invert: cst.BitInvert, ast.Not: cst.Not}
_COMPARE: Dict[type, type] = {
    ast.Eq: cst.Equal, ast.NotEq: cst.NotEqual, ast.Lt: cst.LessThan, ast.LtE: cst.LessThanEqual,
    ast.Gt: cst.GreaterThan, ast.GtE: cst.GreaterThanEqual, ast.In: cst.In, ast.NotIn: cst.NotIn,
    ast.Is: cst.Is, ast.IsNot: cst.IsNot,
}
# Operators and other childless tokens: one shared node each (the passes read their class).
_SHARED: Dict[type, object] = {}


def _shared(kind: type) -> object:
    node = _SHARED.get(kind)
    if node is None:
        node = _SHARED[kind] = _MAKE[kind]()
    return node


# `ast` classes whose span is the span libcst gives the node built from them: those `positions`
# pairs as they are (an `and` chain and a generator expression are shaped differently there),
# and literals, whose libcst class depends on the value.
_SPANNED = (frozenset(PAIRED) - {ast.BoolOp, ast.GeneratorExp}) | {ast.Constant}
_BLANK = frozenset(b" \t\x0c\r\n")
_COMPOUND: Tuple[type, ...] = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor,
             ast.While, ast.With, ast.AsyncWith, ast.Try)


class _Builder:
    """Builds one source's tree; positions index `source` (the file, or an f-string's
    expression wrapped in parentheses)."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        # Built expression -> the `ast` node it came from, and the closing parenthesis of the
        # call or class whose lone argument it is: where its source text is (see `text`).
        self.origin: Dict[int, ast.AST] = {}
        self.closers: Dict[int, int] = {}
        self.nested: Dict[int, _Builder] = {}  # the builder of each node inside an f-string
        # Byte spans `ast` does not pair (see `positions`): the pieces of an implicit string
        # concatenation, f-strings, and the expressions inside them.
        self.spans: Dict[int, Tuple[int, int]] = {}
        # Where each statement, `except` clause and decorator starts: the indentation a
        # multi-line expression's lines lose when libcst prints it alone is its statement's.
        self.heads: List[int] = []  # sorted once the tree is built
        self.starts = [0]
        for line in source.split(b"\n")[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)

    # ---- positions and text --------------------------------------------------------------

    def line_and_column(self, offset: int) -> Tuple[int, int]:
        """1-based line and 0-based byte column of a byte offset."""
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1]

    def start(self, node: "_Located") -> int:
        return self.starts[node.lineno - 1] + node.col_offset

    def end(self, node: "_Located") -> int:
        return self.starts[(node.end_lineno or node.lineno) - 1] + (node.end_col_offset or 0)

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
            if b"\n" not in src[j:i]:  # on the same line: what precedes is code
                return j
            line_start = src.rfind(b"\n", 0, j) + 1
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

    def generator_span(self, node: ast.GeneratorExp) -> Tuple[int, int]:
        """libcst's span of a generator expression (as `positions` pairs it): from its first
        token, after the opening parenthesis `ast` starts it at, to the end of its last clause
        and the parentheses that clause may have before the closing one."""
        closing = self.end(node) - 1
        clause = node.generators[-1]
        end = self.end(clause.ifs[-1] if clause.ifs else clause.iter)
        while True:
            after = self.blank_after(end)
            if after >= closing or self.source[after:after + 1] != b")":
                return self.blank_after(self.start(node) + 1), end
            end = after + 1

    def parenthesized(self, node: ast.expr) -> bool:
        """Whether an expression whose `ast` span holds its own parentheses (a tuple, a
        generator expression) has them: the bracket at its start closes at its end."""
        start, end = self.start(node), self.end(node)
        return self.source[start:start + 1] == b"(" and self.closing(start) == end - 1

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

    def text(self, node: cst.CSTNode) -> Optional[str]:
        """The source text libcst would print for a built expression, with the parentheses
        that are its own; None where this cannot be sure (a nested `and`, a generator expression
        in a call's parentheses, lines of a string or a continuation inside it, a multi-line
        expression in an f-string)."""
        origin = self.origin.get(id(node))
        if origin is None:
            inner = self.nested.get(id(node))
            found = inner.text(node) if inner is not None else None
            # Across lines, libcst strips the statement's indentation, which this builder of an
            # f-string's expression does not know.
            return found if found is None or "\n" not in found else None
        if not isinstance(origin, ast.expr):
            return None
        src = self.source
        start, end = self.start(origin), self.end(origin)
        closer = self.closers.get(id(node), -1)
        if isinstance(origin, ast.GeneratorExp) and closer == end - 1:
            return None
        if start == 0 and end == len(src) and closer == end - 1:
            # An f-string's `{x, y}`: CPython's tuple took the parentheses this module wrapped
            # the expression in as its own; libcst's has none.
            wrapped = src[1:-1]
            start, end = len(src) - 1 - len(wrapped.lstrip()), 1 + len(wrapped.rstrip())
        pairs: List[Tuple[int, int]] = []
        while True:
            before = self.code_before(start)
            if before < 0:
                return None
            after = self.blank_after(end)
            if before > 0 and src[before - 1] == 0x28 and src[after:after + 1] == b")" and after != closer:
                start, end = before - 1, after + 1
                pairs.append((start, end))
            else:
                break
        if closer == _OUTERMOST and pairs:  # a class's lone base: the last pair is the class's
            pairs.pop()
            start, end = pairs[-1] if pairs else (self.start(origin), self.end(origin))
        text = src[start:end]
        if b"\n" not in text:
            return text.decode("utf-8", "replace")
        if b'"""' in text or b"'''" in text or re.search(rb"\\\r?\n", text):
            return None  # lines inside strings and after continuations keep their indentation
        # libcst prints an expression's continuation lines without its statement's indentation.
        head = self.heads[bisect.bisect_right(self.heads, start) - 1] if self.heads and self.heads[0] <= start else 0
        before_head = src[src.rfind(b"\n", 0, head) + 1:head]
        indent = before_head[:len(before_head) - len(before_head.lstrip(b" \t\x0c"))]
        lines = text.split(b"\n")
        if indent:
            lines[1:] = [line[len(indent):] if line.startswith(indent) else line for line in lines[1:]]
        return b"\n".join(lines).decode("utf-8", "replace")

    # ---- the module and statements -------------------------------------------------------

    def module(self, tree: ast.Module) -> cst.Module:
        newline = "\r\n" if b"\r\n" in self.source else "\n"
        body = self.block_statements(tree.body)
        self.heads.sort()
        return cast(cst.Module, _MAKE[cst.Module](body=body, encoding="utf-8", default_newline=newline,
                                                  has_trailing_newline=self.source.endswith((b"\n", b"\r"))))

    def block_statements(self, body: Sequence[ast.stmt]) -> List[object]:
        """Statements of an indented block or the module: small statements that share a line
        (`a = 1; b = 2`) are one `SimpleStatementLine`."""
        out: List[object] = []
        line: List[object] = []
        previous: Optional[ast.stmt] = None
        for stmt in body:
            build = _STATEMENTS.get(type(stmt))
            if build is None:
                raise Unsupported(type(stmt).__name__)
            self.heads.append(self.start(stmt))
            if isinstance(stmt, _COMPOUND):
                if line:
                    out.append(_MAKE[cst.SimpleStatementLine](body=line))
                    line = []
                out.append(build(self, stmt))
            else:
                if line and previous is not None and not self.same_line(previous, stmt):
                    out.append(_MAKE[cst.SimpleStatementLine](body=line))
                    line = []
                line.append(build(self, stmt))
            previous = stmt
        if line:
            out.append(_MAKE[cst.SimpleStatementLine](body=line))
        return out

    def same_line(self, previous: ast.stmt, stmt: ast.stmt) -> bool:
        """Whether `stmt` follows `previous` after a semicolon on the same logical line (a
        semicolon may also end a line alone)."""
        i = self.blank_after(self.end(previous))
        if self.source[i:i + 1] != b";":
            return False
        between = self.source[i + 1:self.start(stmt)].replace(b"\\\r\n", b"").replace(b"\\\n", b"")
        return b"\n" not in between

    def suite(self, body: Sequence[ast.stmt]) -> object:
        """An indented block, or the statements after the colon on the header's line."""
        first = self.start(body[0])
        line_start = self.source.rfind(b"\n", 0, first) + 1
        if self.source[line_start:first].strip(b" \t\x0c") == b"":
            before = self.source[:line_start].rstrip(b"\r\n")
            if before.endswith(b"\\"):
                raise Unsupported("a line continuation before a block")
            return _MAKE[cst.IndentedBlock](body=self.block_statements(body))
        small = []
        for stmt in body:
            self.heads.append(self.start(stmt))
            build = _STATEMENTS.get(type(stmt))
            if build is None or isinstance(stmt, _COMPOUND):
                raise Unsupported("a compound statement after a colon")
            small.append(build(self, stmt))
        return _MAKE[cst.SimpleStatementSuite](body=small)

    def orelse(self, body: Sequence[ast.stmt]) -> object:
        return _MAKE[cst.Else](body=self.suite(body)) if body else None

    def _expr_stmt(self, node: ast.Expr) -> object:
        return _MAKE[cst.Expr](value=self.expr(node.value))

    def _assign(self, node: ast.Assign) -> object:
        targets = [_MAKE[cst.AssignTarget](target=self.expr(t)) for t in node.targets]
        return _MAKE[cst.Assign](targets=targets, value=self.expr(node.value))

    def _annassign(self, node: ast.AnnAssign) -> object:
        return _MAKE[cst.AnnAssign](target=self.expr(node.target), annotation=self.annotation(node.annotation),
                     value=self.expr(node.value) if node.value is not None else None)

    def _augassign(self, node: ast.AugAssign) -> object:
        return _MAKE[cst.AugAssign](target=self.expr(node.target), operator=_shared(_AUGMENTED[type(node.op)]),
                     value=self.expr(node.value))

    def _return(self, node: ast.Return) -> object:
        return _MAKE[cst.Return](value=self.expr(node.value) if node.value is not None else None)

    def _raise(self, node: ast.Raise) -> object:
        cause = _MAKE[cst.From](item=self.expr(node.cause)) if node.cause is not None else None
        return _MAKE[cst.Raise](exc=self.expr(node.exc) if node.exc is not None else None, cause=cause)

    def _assert(self, node: ast.Assert) -> object:
        return _MAKE[cst.Assert](test=self.expr(node.test), msg=self.expr(node.msg) if node.msg is not None else None)

    def _delete(self, node: ast.Delete) -> object:
        if len(node.targets) == 1:
            return _MAKE[cst.Del](target=self.expr(node.targets[0]))
        return _MAKE[cst.Del](target=_MAKE[cst.Tuple](elements=[self.element(t) for t in node.targets]))

    def _global(self, node: ast.Global) -> object:
        return _MAKE[cst.Global](names=[_MAKE[cst.NameItem](name=_plain_name(n)) for n in node.names])

    def _nonlocal(self, node: ast.Nonlocal) -> object:
        return _MAKE[cst.Nonlocal](names=[_MAKE[cst.NameItem](name=_plain_name(n)) for n in node.names])

    def _import(self, node: ast.Import) -> object:
        return _MAKE[cst.Import](names=[self.alias(a) for a in node.names])

    def _import_from(self, node: ast.ImportFrom) -> object:
        if len(node.names) == 1 and node.names[0].name == "*":
            names: object = _MAKE[cst.ImportStar]()
        else:
            names = [self.alias(a) for a in node.names]
        return _MAKE[cst.ImportFrom](module=_dotted(node.module) if node.module else None, names=names,
                     relative=[_MAKE[cst.Dot]() for _ in range(node.level or 0)])

    def alias(self, node: ast.alias) -> object:
        asname = _MAKE[cst.AsName](name=_plain_name(node.asname)) if node.asname else None
        return _MAKE[cst.ImportAlias](name=_dotted(node.name), asname=asname)

    def _if(self, node: ast.If) -> object:
        orelse: object = None
        if node.orelse:
            first = node.orelse[0]
            if len(node.orelse) == 1 and isinstance(first, ast.If) and self.source.startswith(b"elif", self.start(first)):
                self.heads.append(self.start(first))
                orelse = self._if(first)
            else:
                orelse = self.orelse(node.orelse)
        return _MAKE[cst.If](test=self.expr(node.test), body=self.suite(node.body), orelse=orelse)

    def _for(self, node: Union[ast.For, ast.AsyncFor]) -> object:
        return _MAKE[cst.For](target=self.expr(node.target), iter=self.expr(node.iter), body=self.suite(node.body),
                     orelse=self.orelse(node.orelse),
                     asynchronous=_MAKE[cst.Asynchronous]() if isinstance(node, ast.AsyncFor) else None)

    def _while(self, node: ast.While) -> object:
        return _MAKE[cst.While](test=self.expr(node.test), body=self.suite(node.body), orelse=self.orelse(node.orelse))

    def _match(self, node: Any) -> object:
        """`match subject:` and its cases (`ast.Match`, Python 3.10+)."""
        cases = []
        for case in node.cases:
            self.heads.append(self.case_keyword(self.start(case.pattern)))
            guard = self.expr(case.guard) if case.guard is not None else None
            cases.append(_MAKE[cst.MatchCase](pattern=self.pattern(case.pattern), guard=guard, body=self.suite(case.body)))
        return _MAKE[cst.Match](subject=self.expr(node.subject), cases=cases)

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

    def pattern(self, node: Any) -> object:
        """A `case` pattern: libcst has a class for each of `ast`'s, and tells `(a, b)` from
        `[a, b]` or `a, b`, which `ast` does not (its first byte does)."""
        kind = type(node).__name__
        if kind == "MatchValue":
            return _MAKE[cst.MatchValue](value=self.expr(node.value))
        if kind == "MatchSingleton":
            return _MAKE[cst.MatchSingleton](value=_plain_name(repr(node.value)))
        if kind == "MatchSequence":
            elements = [self.pattern(p) if type(p).__name__ == "MatchStar"
                        else _MAKE[cst.MatchSequenceElement](value=self.pattern(p)) for p in node.patterns]
            tupled = self.source[self.start(node):self.start(node) + 1] == b"("  # else `[a, b]` or `a, b`
            return _MAKE[cst.MatchTuple if tupled else cst.MatchList](patterns=elements)
        if kind == "MatchStar":
            return _MAKE[cst.MatchStar](name=_plain_name(node.name) if node.name is not None else None)
        if kind == "MatchMapping":
            elements = [_MAKE[cst.MatchMappingElement](key=self.expr(k), pattern=self.pattern(p))
                        for k, p in zip(node.keys, node.patterns)]
            return _MAKE[cst.MatchMapping](elements=elements, rest=_plain_name(node.rest) if node.rest is not None else None)
        if kind == "MatchClass":
            positional = [_MAKE[cst.MatchSequenceElement](value=self.pattern(p)) for p in node.patterns]
            keywords = [_MAKE[cst.MatchKeywordElement](key=_plain_name(a), pattern=self.pattern(p))
                        for a, p in zip(node.kwd_attrs, node.kwd_patterns)]
            return _MAKE[cst.MatchClass](cls=self.expr(node.cls), patterns=positional, kwds=keywords)
        if kind == "MatchAs":
            inner = self.pattern(node.pattern) if node.pattern is not None else None
            return _MAKE[cst.MatchAs](pattern=inner, name=_plain_name(node.name) if node.name is not None else None)
        if kind == "MatchOr":
            last = len(node.patterns) - 1
            return _MAKE[cst.MatchOr](patterns=[
                _MAKE[cst.MatchOrElement](pattern=self.pattern(p), separator=_shared(cst.BitOr) if i < last else MaybeSentinel.DEFAULT)
                for i, p in enumerate(node.patterns)])
        raise Unsupported(kind)

    def _with(self, node: Union[ast.With, ast.AsyncWith]) -> object:
        items = [
            _MAKE[cst.WithItem](item=self.expr(item.context_expr),
                  asname=_MAKE[cst.AsName](name=self.expr(item.optional_vars)) if item.optional_vars is not None else None)
            for item in node.items
        ]
        return _MAKE[cst.With](items=items, body=self.suite(node.body),
                     asynchronous=_MAKE[cst.Asynchronous]() if isinstance(node, ast.AsyncWith) else None)

    def _try(self, node: ast.Try) -> object:
        """`try` and, from Python 3.11, `try` with `except*` clauses (`ast.TryStar`)."""
        star = type(node).__name__ == "TryStar"
        handler = cst.ExceptStarHandler if star else cst.ExceptHandler
        self.heads.extend(self.start(h) for h in node.handlers)
        handlers = [
            _MAKE[handler](body=self.suite(h.body), type=self.expr(h.type) if h.type is not None else None,
                  name=_MAKE[cst.AsName](name=_plain_name(h.name)) if h.name else None)
            for h in node.handlers
        ]
        final = _MAKE[cst.Finally](body=self.suite(node.finalbody)) if node.finalbody else None
        return _MAKE[cst.TryStar if star else cst.Try](body=self.suite(node.body), handlers=handlers,
                                                        orelse=self.orelse(node.orelse), finalbody=final)

    def _def(self, node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> object:
        if getattr(node, "type_params", None):
            raise Unsupported("type parameters")
        returns = self.annotation(node.returns) if node.returns is not None else None
        return _MAKE[cst.FunctionDef](name=_plain_name(node.name), params=self.parameters(node.args),
                     body=self.suite(node.body), decorators=self.decorators(node.decorator_list), returns=returns,
                     asynchronous=_MAKE[cst.Asynchronous]() if isinstance(node, ast.AsyncFunctionDef) else None)

    def _class(self, node: ast.ClassDef) -> object:
        if getattr(node, "type_params", None):
            raise Unsupported("type parameters")
        bases = [self.arg(b) for b in node.bases]
        keywords = [self.keyword(k) for k in node.keywords]
        if len(bases) + len(keywords) == 1:
            self.closers[id((bases or keywords)[0].value)] = _OUTERMOST
        return _MAKE[cst.ClassDef](name=_plain_name(node.name), body=self.suite(node.body), bases=bases,
                     keywords=keywords, decorators=self.decorators(node.decorator_list))

    def decorators(self, nodes: Sequence[ast.expr]) -> List[object]:
        self.heads.extend(self.start(d) for d in nodes)
        return [_MAKE[cst.Decorator](decorator=self.expr(d)) for d in nodes]

    def annotation(self, node: ast.expr) -> object:
        return _MAKE[cst.Annotation](annotation=self.expr(node))

    def parameters(self, args: ast.arguments) -> object:
        positional = [*args.posonlyargs, *args.args]
        defaults: List[Optional[ast.expr]] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
        built = [self.param(a, d, "") for a, d in zip(positional, defaults)]
        posonly = built[:len(args.posonlyargs)]
        star_arg: object = MaybeSentinel.DEFAULT
        if args.vararg is not None:
            star_arg = self.param(args.vararg, None, "*")
        elif args.kwonlyargs:
            star_arg = _MAKE[cst.ParamStar]()
        return _MAKE[cst.Parameters](
            params=built[len(args.posonlyargs):], star_arg=star_arg,
            kwonly_params=[self.param(a, d, "") for a, d in zip(args.kwonlyargs, args.kw_defaults)],
            star_kwarg=self.param(args.kwarg, None, "**") if args.kwarg is not None else None,
            posonly_params=posonly, posonly_ind=_MAKE[cst.ParamSlash]() if posonly else MaybeSentinel.DEFAULT,
        )

    def param(self, node: ast.arg, default: Optional[ast.expr], star: str) -> object:
        return _MAKE[cst.Param](name=_plain_name(node.arg), star=star,
                     annotation=self.annotation(node.annotation) if node.annotation is not None else None,
                     default=self.expr(default) if default is not None else None)

    # ---- expressions ---------------------------------------------------------------------

    def expr(self, node: ast.AST) -> object:
        build = _EXPRESSIONS.get(type(node))
        if build is None:
            raise Unsupported(type(node).__name__)
        built = build(self, node)
        self.origin[id(built)] = node
        return built

    def _name(self, node: ast.Name) -> object:
        return _plain_name(node.id)

    def _constant(self, node: ast.Constant) -> object:
        value = node.value
        if isinstance(value, (str, bytes)):
            return self._strings(node)
        if value is None or value is True or value is False:
            return _plain_name(repr(value))
        if value is Ellipsis:
            return _MAKE[cst.Ellipsis]()
        text = self.source[self.start(node):self.end(node)].decode("ascii")
        if isinstance(value, complex):
            return _MAKE[cst.Imaginary](value=text)
        if isinstance(value, float):
            return _MAKE[cst.Float](value=text)
        return _MAKE[cst.Integer](value=text)

    def _strings(self, node: ast.expr) -> object:
        """One string, or an implicit concatenation (`"a" "b"`, right-nested as libcst does)."""
        start, end = self.start(node), self.end(node)
        pieces: List[object] = []
        i = start
        while i < end:
            i = self.blank_after(i)
            if i >= end:
                break
            j = string_end(self.source, i)
            if j <= i:
                raise Unsupported("a string this module cannot read")
            piece = self.string(self.source[i:j], i)
            pieces.append(piece)
            if len(pieces) > 1 or type(piece) is cst.FormattedString or self.blank_after(j) < end:
                self.spans[id(piece)] = (i, j)
            i = j
        if not pieces:
            raise Unsupported("an empty string run")
        built = pieces[-1]
        for piece in reversed(pieces[:-1]):
            built = _MAKE[cst.ConcatenatedString](left=piece, right=built)
        return built

    def string(self, token: bytes, at: int) -> object:
        """One string token, found at byte `at` of the source."""
        found = PREFIX.match(token)
        prefix = found.group().decode() if found else ""
        text = token.decode("utf-8")
        if "f" not in prefix.lower():
            return _MAKE[cst.SimpleString](value=text)
        rest = token[len(prefix):]
        quote = rest[:3] if rest[:3] in (b'"""', b"'''") else rest[:1]
        body = token[len(prefix) + len(quote):len(token) - len(quote)]
        parts = self.formatted_parts(body, 0, len(body), at + len(prefix) + len(quote))
        return _MAKE[cst.FormattedString](parts=parts, start=prefix + quote.decode(), end=quote.decode())

    def formatted_parts(self, body: bytes, i: int, stop: int, base: int) -> List[object]:
        """The text and `{expression}` parts of an f-string's body (or of a format spec)."""
        parts: List[object] = []
        text_start = i
        while i < stop:
            c = body[i]
            if c in b"{}" and body[i + 1:i + 2] == bytes([c]) and i + 1 < stop:
                i += 2
                continue
            if c == 0x7D:  # a lone '}'
                raise Unsupported("a lone closing brace in an f-string")
            if c != 0x7B:
                i += 1
                continue
            if i > text_start:
                parts.append(_MAKE[cst.FormattedStringText](value=body[text_start:i].decode("utf-8")))
            i = self.formatted_expression(body, i, stop, parts, base)
            text_start = i
        if i > text_start:
            parts.append(_MAKE[cst.FormattedStringText](value=body[text_start:i].decode("utf-8")))
        return parts

    def formatted_expression(self, body: bytes, i: int, stop: int, parts: List[object], base: int) -> int:
        """Reads `{expression!conversion:spec}` from `i` (its opening brace) and returns where
        it ends."""
        j = i + 1
        depth = 0
        while j < stop:
            c = body[j]
            if c in b"'\"":
                j = max(j + 1, string_end(body, prefix_start(body, j)))
                continue
            if c in b"([{":
                depth += 1
            elif c in b")]":
                depth -= 1
            elif c == 0x7D:
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and c == 0x21 and body[j + 1:j + 2] != b"=":  # '!' of a conversion
                break
            elif depth == 0 and c == 0x3A:  # ':' of a format spec
                break
            elif depth == 0 and c == 0x3D and body[j - 1:j] not in (b"=", b"!", b"<", b">") and body[j + 1:j + 2] != b"=":
                break  # `{x=}`: the expression is printed before its value
            elif c == 0x23:
                raise Unsupported("a comment in an f-string")
            j += 1
        if j >= stop:
            raise Unsupported("an unclosed f-string expression")
        expression, inner = _expression_tree(body[i + 1:j])
        self.nested.update(dict.fromkeys(inner.origin, inner))
        self.nested.update(inner.nested)
        shift = base + i  # the expression's text is at `base + i + 1`, and at 1 in `inner`'s
        for key, origin in inner.origin.items():
            if type(origin) in _SPANNED and isinstance(origin, ast.expr):
                self.spans[key] = (inner.start(origin) + shift, inner.end(origin) + shift)
            elif isinstance(origin, ast.GeneratorExp):
                start, end = inner.generator_span(origin)
                self.spans[key] = (start + shift, end + shift)
        for key, (start, end) in inner.spans.items():
            self.spans[key] = (start + shift, end + shift)
        equal = None
        if body[j] == 0x3D:
            equal = _shared(cst.AssignEqual)
            j += 1
            while j < stop and body[j] in _BLANK:
                j += 1
        conversion: Optional[str] = None
        if body[j] == 0x21:
            conversion = body[j + 1:j + 2].decode()
            j += 2
        spec: Optional[List[object]] = None
        if body[j:j + 1] == b":":
            end = j + 1
            depth = 0
            while end < stop:
                c = body[end]
                if c == 0x7B:
                    depth += 1
                elif c == 0x7D:
                    if depth == 0:
                        break
                    depth -= 1
                end += 1
            spec = self.formatted_parts(body, j + 1, end, base)
            j = end
        if body[j:j + 1] != b"}":
            raise Unsupported("an f-string expression this module cannot read")
        parts.append(_MAKE[cst.FormattedStringExpression](expression=expression, conversion=conversion,
                           format_spec=spec, equal=equal))
        return j + 1

    def _attribute(self, node: ast.Attribute) -> object:
        return _MAKE[cst.Attribute](value=self.expr(node.value), attr=_plain_name(node.attr))

    def _call(self, node: ast.Call) -> object:
        items = [(self.start(a), self.arg(a)) for a in node.args]
        items += [(self.start(k), self.keyword(k)) for k in node.keywords]
        items.sort(key=lambda item: item[0])
        if len(items) == 1:
            self.closers[id(items[0][1].value)] = self.end(node) - 1
        return _MAKE[cst.Call](func=self.expr(node.func), args=[a for _, a in items])

    def arg(self, node: ast.expr) -> cst.Arg:
        if isinstance(node, ast.Starred):
            return cast(cst.Arg, _MAKE[cst.Arg](value=self.expr(node.value), star="*"))
        return cast(cst.Arg, _MAKE[cst.Arg](value=self.expr(node)))

    def keyword(self, node: ast.keyword) -> cst.Arg:
        if node.arg is None:
            return cast(cst.Arg, _MAKE[cst.Arg](value=self.expr(node.value), star="**"))
        return cast(cst.Arg, _MAKE[cst.Arg](value=self.expr(node.value), keyword=_plain_name(node.arg)))

    def _subscript(self, node: ast.Subscript) -> object:
        index = node.slice
        if isinstance(index, ast.Tuple) and not self.parenthesized(index):
            elements = [self.subscript_element(e) for e in index.elts]
        else:
            elements = [self.subscript_element(index)]
        return _MAKE[cst.Subscript](value=self.expr(node.value), slice=elements)

    def subscript_element(self, node: ast.expr) -> object:
        if isinstance(node, ast.Slice):
            second: object = MaybeSentinel.DEFAULT
            if node.step is not None or self.colons(node) > 1:
                second = _shared(cst.Colon)
            inner: object = _MAKE[cst.Slice](
                lower=self.expr(node.lower) if node.lower is not None else None,
                upper=self.expr(node.upper) if node.upper is not None else None,
                step=self.expr(node.step) if node.step is not None else None,
                first_colon=_shared(cst.Colon), second_colon=second)
        elif isinstance(node, ast.Starred):
            raise Unsupported("a starred subscript")
        else:
            inner = _MAKE[cst.Index](value=self.expr(node))
        return _MAKE[cst.SubscriptElement](slice=inner)

    def colons(self, node: ast.Slice) -> int:
        """Colons of a slice outside its parts' brackets (`a[1:2:]` has two)."""
        src = self.source
        i, end, count = self.start(node), self.end(node), 0
        while i < end:
            c = src[i]
            if c in b"([{":
                i = self.closing(i) + 1
                if i <= 0:
                    raise Unsupported("unbalanced brackets")
                continue
            if c in b"'\"":
                i = max(i + 1, string_end(src, prefix_start(src, i)))
                continue
            if c == 0x3A:
                count += 1
            i += 1
        return count

    def _binop(self, node: ast.BinOp) -> object:
        return _MAKE[cst.BinaryOperation](left=self.expr(node.left), operator=_shared(_BINARY[type(node.op)]),
                     right=self.expr(node.right))

    def _unaryop(self, node: ast.UnaryOp) -> object:
        return _MAKE[cst.UnaryOperation](operator=_shared(_UNARY[type(node.op)]), expression=self.expr(node.operand))

    def _boolop(self, node: ast.BoolOp) -> object:
        """`a and b and c`: left-nested; only the outermost has `node`'s text."""
        operator = _shared(cst.And if isinstance(node.op, ast.And) else cst.Or)
        built = self.expr(node.values[0])
        for value in node.values[1:]:
            built = _MAKE[cst.BooleanOperation](left=built, operator=operator, right=self.expr(value))
        return built

    def _compare(self, node: ast.Compare) -> object:
        targets = [_MAKE[cst.ComparisonTarget](operator=_shared(_COMPARE[type(op)]), comparator=self.expr(c))
                   for op, c in zip(node.ops, node.comparators)]
        return _MAKE[cst.Comparison](left=self.expr(node.left), comparisons=targets)

    def _ifexp(self, node: ast.IfExp) -> object:
        return _MAKE[cst.IfExp](test=self.expr(node.test), body=self.expr(node.body), orelse=self.expr(node.orelse))

    def _lambda(self, node: ast.Lambda) -> object:
        return _MAKE[cst.Lambda](params=self.parameters(node.args), body=self.expr(node.body))

    def _await(self, node: ast.Await) -> object:
        return _MAKE[cst.Await](expression=self.expr(node.value))

    def _yield(self, node: ast.Yield) -> object:
        return _MAKE[cst.Yield](value=self.expr(node.value) if node.value is not None else None)

    def _yield_from(self, node: ast.YieldFrom) -> object:
        return _MAKE[cst.Yield](value=_MAKE[cst.From](item=self.expr(node.value)))

    def _named(self, node: ast.NamedExpr) -> object:
        return _MAKE[cst.NamedExpr](target=self.expr(node.target), value=self.expr(node.value))

    def element(self, node: ast.expr) -> object:
        if isinstance(node, ast.Starred):
            return _MAKE[cst.StarredElement](value=self.expr(node.value))
        return _MAKE[cst.Element](value=self.expr(node))

    def _starred_alone(self, node: ast.Starred) -> object:
        raise Unsupported("a starred expression outside a collection")

    def _list(self, node: ast.List) -> object:
        return _MAKE[cst.List](elements=[self.element(e) for e in node.elts])

    def _tuple(self, node: ast.Tuple) -> object:
        return _MAKE[cst.Tuple](elements=[self.element(e) for e in node.elts])

    def _set(self, node: ast.Set) -> object:
        return _MAKE[cst.Set](elements=[self.element(e) for e in node.elts])

    def _dict(self, node: ast.Dict) -> object:
        elements = [
            _MAKE[cst.StarredDictElement](value=self.expr(v)) if k is None
            else _MAKE[cst.DictElement](key=self.expr(k), value=self.expr(v))
            for k, v in zip(node.keys, node.values)
        ]
        return _MAKE[cst.Dict](elements=elements)

    def comp_for(self, generators: Sequence[ast.comprehension]) -> object:
        built: object = None
        for gen in reversed(generators):
            built = _MAKE[cst.CompFor](target=self.expr(gen.target), iter=self.expr(gen.iter),
                          ifs=[_MAKE[cst.CompIf](test=self.expr(t)) for t in gen.ifs], inner_for_in=built,
                          asynchronous=_MAKE[cst.Asynchronous]() if gen.is_async else None)
        return built

    def _listcomp(self, node: ast.ListComp) -> object:
        return _MAKE[cst.ListComp](elt=self.expr(node.elt), for_in=self.comp_for(node.generators))

    def _setcomp(self, node: ast.SetComp) -> object:
        return _MAKE[cst.SetComp](elt=self.expr(node.elt), for_in=self.comp_for(node.generators))

    def _genexp(self, node: ast.GeneratorExp) -> object:
        return _MAKE[cst.GeneratorExp](elt=self.expr(node.elt), for_in=self.comp_for(node.generators))

    def _dictcomp(self, node: ast.DictComp) -> object:
        return _MAKE[cst.DictComp](key=self.expr(node.key), value=self.expr(node.value),
                     for_in=self.comp_for(node.generators))


def _leaf(kind: type) -> Callable[[_Builder, ast.AST], object]:
    return lambda builder, node: _MAKE[kind]()


# What builds each `ast` class (functions of `_Builder`, not bound methods: a builder that
# pointed at itself through its tables would be cyclic garbage the collector must find).
_EXPRESSIONS: Dict[type, Callable[[_Builder, Any], object]] = {
    ast.Name: _Builder._name, ast.Constant: _Builder._constant, ast.JoinedStr: _Builder._strings,
    ast.Attribute: _Builder._attribute, ast.Call: _Builder._call, ast.Subscript: _Builder._subscript,
    ast.BinOp: _Builder._binop, ast.UnaryOp: _Builder._unaryop, ast.BoolOp: _Builder._boolop,
    ast.Compare: _Builder._compare, ast.IfExp: _Builder._ifexp, ast.Lambda: _Builder._lambda,
    ast.Await: _Builder._await, ast.Yield: _Builder._yield, ast.YieldFrom: _Builder._yield_from,
    ast.NamedExpr: _Builder._named, ast.List: _Builder._list, ast.Tuple: _Builder._tuple, ast.Set: _Builder._set,
    ast.Dict: _Builder._dict, ast.ListComp: _Builder._listcomp, ast.SetComp: _Builder._setcomp,
    ast.GeneratorExp: _Builder._genexp, ast.DictComp: _Builder._dictcomp, ast.Starred: _Builder._starred_alone,
}
_STATEMENTS: Dict[type, Callable[[_Builder, Any], object]] = {
    ast.Expr: _Builder._expr_stmt, ast.Assign: _Builder._assign, ast.AnnAssign: _Builder._annassign,
    ast.AugAssign: _Builder._augassign, ast.Return: _Builder._return, ast.Raise: _Builder._raise,
    ast.Assert: _Builder._assert, ast.Delete: _Builder._delete, ast.Pass: _leaf(cst.Pass),
    ast.Break: _leaf(cst.Break), ast.Continue: _leaf(cst.Continue), ast.Global: _Builder._global,
    ast.Nonlocal: _Builder._nonlocal, ast.Import: _Builder._import, ast.ImportFrom: _Builder._import_from,
    ast.If: _Builder._if, ast.For: _Builder._for, ast.AsyncFor: _Builder._for, ast.While: _Builder._while,
    ast.With: _Builder._with, ast.AsyncWith: _Builder._with, ast.Try: _Builder._try,
    ast.FunctionDef: _Builder._def, ast.AsyncFunctionDef: _Builder._def, ast.ClassDef: _Builder._class,
}
if sys.version_info >= (3, 10):
    _STATEMENTS[ast.Match] = _Builder._match
    _COMPOUND += (ast.Match,)
if sys.version_info >= (3, 11):
    _STATEMENTS[ast.TryStar] = _Builder._try
    _COMPOUND += (ast.TryStar,)


def _plain_name(text: str) -> object:
    return _MAKE[cst.Name](value=text)


def _dotted(text: str) -> object:
    """`a.b.c` as libcst holds a module path: `Attribute(Attribute(Name a, b), c)`."""
    parts = text.split(".")
    built = _plain_name(parts[0])
    for part in parts[1:]:
        built = _MAKE[cst.Attribute](value=built, attr=_plain_name(part))
    return built


def _parsed_expression(wrapped: bytes) -> ast.expr:
    """CPython's parse of an f-string's expression; short ones are remembered (the same few,
    `{name}`, `{e}`, `{self.model}`, recur in every file, and the builder only reads the tree)."""
    return _remembered_expression(wrapped) if len(wrapped) <= 80 else _expression_of(wrapped)


def _expression_of(wrapped: bytes) -> ast.expr:
    body = quiet_parse(wrapped).body
    if len(body) != 1 or not isinstance(body[0], ast.Expr):
        raise SyntaxError("not one expression")
    return body[0].value


_remembered_expression = functools.lru_cache(maxsize=4096)(_expression_of)


def _expression_tree(text: bytes) -> Tuple[object, "_Builder"]:
    """An f-string's `{expression}`, built from its own parse (positions inside f-strings
    differ between Python versions; the expression's text is certain), and the builder that
    knows the text of its nodes."""
    wrapped = b"(" + text + b")"
    try:
        tree = _parsed_expression(wrapped)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise Unsupported("an f-string expression CPython does not parse alone") from None
    builder = _Builder(wrapped)
    built = builder.expr(tree)
    builder.closers[id(built)] = len(wrapped) - 1  # the parentheses are this module's, not the source's
    return built, builder


_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=]", re.MULTILINE)


def build(source: bytes, tree: ast.Module) -> "Built":
    """The libcst tree of a file CPython parsed into `tree`, built from it; `Unsupported` when
    the file holds something left to libcst's parser (type parameters, a source encoding other
    than UTF-8, lone carriage returns)."""
    head = source[: source.find(b"\n", source.find(b"\n") + 1) + 1] if b"\n" in source else source
    if source.startswith(b"\xef\xbb\xbf") or _COOKIE.search(head) or re.search(rb"\r(?!\n)", source):
        raise Unsupported("an encoding or line ending left to libcst")
    builder = _Builder(source)
    try:
        return Built(builder.module(tree), builder)
    except (UnicodeDecodeError, IndexError, KeyError, AttributeError) as exc:
        raise Unsupported(f"{type(exc).__name__}") from None


class Built:
    """A tree built from `ast`, and what prints its nodes as the source did: the source text
    of an expression where `ast` places it, libcst's parse of the file (`ParsedTwin`)
    otherwise."""

    def __init__(self, module: cst.Module, builder: _Builder) -> None:
        self.module = module
        self.twin = ParsedTwin(builder.source, module)
        self._builder = builder

    def text(self, node: cst.CSTNode) -> Optional[str]:
        """The node's source text where `ast` places it (most expressions), else None."""
        return self._builder.text(node)

    def span(self, node: cst.CSTNode) -> Optional[Tuple[Tuple[int, int], Tuple[int, int]]]:
        """(line, byte column) of where the node starts and ends, for the nodes `ast` does not
        pair (string pieces, f-strings and what is inside them), else None."""
        found = self._builder.spans.get(id(node))
        if found is None:
            return None
        return self._builder.line_and_column(found[0]), self._builder.line_and_column(found[1])

    def code(self, node: cst.CSTNode) -> str:
        """What libcst's `code_for_node` prints for the node."""
        text = self._builder.text(node)
        if text is None:
            text = self.twin.module.code_for_node(self.twin.of(node))
        return text


class ParsedTwin:
    """libcst's parse of a file whose tree was built from `ast`, for what only it can give:
    the source text of a node and the spans `ast` has none for. Parsed on first use; the two
    trees are walked together to pair their nodes, and any difference raises `TwinMismatch`."""

    def __init__(self, source: bytes, built: cst.Module) -> None:
        self.source = source
        self.built = built
        self._module: Optional[cst.Module] = None
        self._pairs: Dict[int, cst.CSTNode] = {}

    @property
    def module(self) -> cst.Module:
        if self._module is None:
            try:
                parsed = _parse(self.source, True)
            except Exception as exc:  # libcst refuses what CPython took: its error is the file's
                raise TwinMismatch(f"libcst cannot parse the file: {type(exc).__name__}") from None
            self._pairs = dict(_paired(self.built, parsed))
            self._module = parsed
        return self._module

    def of(self, node: cst.CSTNode) -> cst.CSTNode:
        """The parsed tree's node for a built one; a node that is not part of the built tree
        (one a pass made) is its own: it prints the same in either."""
        self.module  # noqa: B018 - parses and pairs on first use
        return self._pairs.get(id(node), node)


def _paired(built: cst.CSTNode, parsed: cst.CSTNode) -> Iterator[Tuple[int, cst.CSTNode]]:
    stack = [(built, parsed)]
    while stack:
        ours, theirs = stack.pop()
        if type(ours) is not type(theirs):
            raise TwinMismatch(f"{type(ours).__name__} vs {type(theirs).__name__}")
        yield id(ours), theirs
        mine, its = child_nodes(ours), child_nodes(theirs)
        if len(mine) != len(its):
            raise TwinMismatch(f"children of {type(ours).__name__}")
        stack.extend(zip(mine, its))
