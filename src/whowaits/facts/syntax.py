"""CPython `ast` nodes read the way the fact passes ask about them.

The passes read the `ast` tree the depth gate parsed anyway. Where `ast` shapes a construct
differently from what the passes ask (a call's positional and keyword arguments are two lists,
an attribute's name is a `str`, every literal is a `Constant`, `"a" "b"` is one node), the
answer is computed here, once, rather than inline in each pass.
"""

from __future__ import annotations

import ast
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, FrozenSet, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

from whowaits.facts.lexical import PREFIX, field_end, string_end

if TYPE_CHECKING:
    from typing_extensions import TypeGuard


class Arg(NamedTuple):
    """One argument of a call or a class statement as written: `x`, `*xs`, `key=v`, `**kw`."""

    value: ast.expr
    keyword: Optional[str] = None
    star: str = ""  # "", "*" or "**"


# Attributes this module keeps on the nodes it reads (`ast` nodes take any attribute): a
# call's arguments in source order, and whether a string node is an implicit concatenation.
_ARGUMENTS = "whowaits_arguments"
_PIECES = "whowaits_pieces"


def arguments(node: Union[ast.Call, ast.ClassDef]) -> List[Arg]:
    """The arguments of a call (or the bases and keywords of a class) in source order.

    `ast` keeps positional and keyword arguments apart; a starred one may follow keywords
    (`f(a=1, *rest)`), so the two lists are merged by position when both hold something and a
    starred argument is there. Remembered on the node: the passes ask for most calls often."""
    found = node.__dict__.get(_ARGUMENTS)
    if found is not None:
        return found
    positional = node.args if isinstance(node, ast.Call) else node.bases
    out = [Arg(a.value, None, "*") if isinstance(a, ast.Starred) else Arg(a) for a in positional]
    if node.keywords:
        keywords = [Arg(k.value, k.arg, "**" if k.arg is None else "") for k in node.keywords]
        if out and any(isinstance(a, ast.Starred) for a in positional):
            placed = [((a.lineno, a.col_offset), arg) for a, arg in zip(positional, out)]
            placed += [((k.lineno, k.col_offset), arg) for k, arg in zip(node.keywords, keywords)]
            placed.sort(key=lambda item: item[0])
            out = [arg for _, arg in placed]
        else:
            out += keywords
    setattr(node, _ARGUMENTS, out)
    return out


def positional(node: ast.Call) -> List[ast.expr]:
    """The values of a call's positional arguments that are not starred, in order."""
    return [a for a in node.args if not isinstance(a, ast.Starred)]


# Fields that never hold a child node: contexts, operators and flags, and text (names,
# attributes, a constant's value; `Global.names` is text where `Import.names` are nodes).
_NOT_CHILDREN = frozenset({
    "ctx", "op", "ops", "type_comment", "kind", "is_async", "conversion", "simple", "level", "id", "attr", "arg",
    "name", "asname", "module", "rest", "kwd_attrs", "tag",
})
_TEXT_FIELDS: Dict[type, FrozenSet[str]] = {
    ast.Constant: frozenset({"value"}), ast.Global: frozenset({"names"}), ast.Nonlocal: frozenset({"names"}),
}
if sys.version_info >= (3, 10):
    _TEXT_FIELDS[ast.MatchSingleton] = frozenset({"value"})


def _no_children(node: ast.AST) -> List[ast.AST]:
    """A leaf (a name, a constant, a `pass`)."""
    return []


def _field_children(kind: type) -> Callable[[ast.AST], List[ast.AST]]:
    """What reads the children of a node class with no rule of its own: its fields that may
    hold nodes, in declaration order (a list field holds nodes only)."""
    text = _TEXT_FIELDS.get(kind, frozenset())
    names = tuple(name for name in getattr(kind, "_fields") if name not in _NOT_CHILDREN and name not in text)
    if not names:
        return _no_children

    def children(node: ast.AST) -> List[ast.AST]:
        out: List[ast.AST] = []
        for name in names:
            value = getattr(node, name, None)
            if type(value) is list:
                out.extend(value)
            elif value is not None:
                out.append(value)
        return out

    return children


class _Children(Dict[type, Callable[[ast.AST], List[ast.AST]]]):
    """Node class -> what reads its children: a rule of its own (`_RULES`) or its fields."""

    def __missing__(self, kind: type) -> Callable[[ast.AST], List[ast.AST]]:
        found = self[kind] = _RULES.get(kind) or _field_children(kind)
        return found


def child_nodes(node: ast.AST) -> List[ast.AST]:
    """A node's children, in source order: its fields' nodes, without expression contexts and
    operators. A call's children are its function and its argument values (a `*xs` or `k=v`
    gives its value), a dict's its keys and values in turn, an f-string's the expressions in
    its braces. One lookup by class: most nodes the walks meet are names and constants."""
    return _CHILDREN[type(node)](node)


def _call_nodes(node: ast.Call) -> List[ast.AST]:
    """A call: its function, then its argument values in source order (`arguments`)."""
    return [node.func, *(a.value for a in arguments(node))]


def _dict_nodes(node: ast.Dict) -> List[ast.AST]:
    """A dict display: each key and its value in turn (`**rest` has no key)."""
    items: List[ast.AST] = []
    for key, item in zip(node.keys, node.values):
        if key is not None:
            items.append(key)
        items.append(item)
    return items


def _formatted_expressions(node: ast.JoinedStr) -> List[ast.AST]:
    """An f-string: the expressions in its braces, with those of their format specs; its text
    is no node of its own."""
    out: List[ast.AST] = []
    for part in node.values:
        if isinstance(part, ast.FormattedValue):
            out.append(part.value)
            if isinstance(part.format_spec, ast.JoinedStr):  # `{x:>{width}}`: no string of its own
                out.extend(_formatted_expressions(part.format_spec))
    return out


def _parameter_nodes(node: ast.arguments) -> List[ast.AST]:
    """Parameters, each followed by its default: positional ones, `*args`, keyword-only ones,
    `**kwargs`, then the positional-only ones (the order the passes were written against)."""
    regular = node.posonlyargs + node.args
    defaults: List[Optional[ast.expr]] = [None] * (len(regular) - len(node.defaults)) + list(node.defaults)
    out: List[ast.AST] = []
    pairs = list(zip(regular, defaults))
    for arg, default in pairs[len(node.posonlyargs):]:
        out.append(arg)
        if default is not None:
            out.append(default)
    if node.vararg is not None:
        out.append(node.vararg)
    for arg, default in zip(node.kwonlyargs, node.kw_defaults):
        out.append(arg)
        if default is not None:
            out.append(default)
    if node.kwarg is not None:
        out.append(node.kwarg)
    for arg, default in pairs[:len(node.posonlyargs)]:
        out.append(arg)
        if default is not None:
            out.append(default)
    return out


def _handler_nodes(node: ast.ExceptHandler) -> List[ast.AST]:
    """An `except` clause: its body before its type (the order the passes were written against)."""
    out: List[ast.AST] = list(node.body)
    if node.type is not None:
        out.append(node.type)
    return out


def _class_nodes(node: ast.ClassDef) -> List[ast.AST]:
    """A class: its body, its bases and keywords, then its decorators."""
    return [*node.body, *(a.value for a in arguments(node)), *node.decorator_list]


def _case_nodes(node: Any) -> List[ast.AST]:
    """A `case` clause (`ast.match_case`, Python 3.10+): its pattern, its body, then its guard."""
    out: List[ast.AST] = [node.pattern, *node.body]
    if node.guard is not None:
        out.append(node.guard)
    return out


_RULES: Dict[type, Callable[[Any], List[ast.AST]]] = {
    ast.Call: _call_nodes, ast.Dict: _dict_nodes, ast.JoinedStr: _formatted_expressions,
    ast.arguments: _parameter_nodes, ast.ExceptHandler: _handler_nodes, ast.ClassDef: _class_nodes,
}
if sys.version_info >= (3, 10):
    _RULES[ast.match_case] = _case_nodes
_CHILDREN = _Children()


def descendants(node: ast.AST) -> Iterator[ast.AST]:
    """`node` and every node under it (nested functions and classes included), in no
    particular order: for questions about a whole subtree (does it name X? collect every Y)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(child_nodes(current))


def identifiers(node: ast.AST, skip: Optional[Callable[[ast.AST], bool]] = None) -> Set[str]:
    """Every identifier written in a subtree: names read or bound, attribute names, keyword
    names, parameters, and `True`, `False` and `None`; not inside the nodes `skip` accepts."""
    out: Set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if skip is not None and skip(current):
            continue
        stack.extend(child_nodes(current))
        if isinstance(current, ast.Name):
            out.add(current.id)
        elif isinstance(current, ast.Attribute):
            out.add(current.attr)
        elif isinstance(current, ast.keyword) and current.arg is not None:
            out.add(current.arg)
        elif isinstance(current, ast.Call):
            out.update(k.arg for k in current.keywords if k.arg is not None)
        elif isinstance(current, ast.arg):
            out.add(current.arg)
        elif isinstance(current, ast.Constant) and (current.value is None or type(current.value) is bool):
            out.add(repr(current.value))
    return out


def mark_pieces(node: Union[ast.Constant, ast.JoinedStr], source: bytes, start: int, end: int) -> None:
    """Records on a string node whether its source holds more than one string token (`"a" "b"`,
    `"a" f"{b}"`): such a run is one `ast` node, and the passes tell it from a single string."""
    quote = source[end - 1:end]
    first = start
    while first < end and source[first] not in b"'\"":
        first += 1
    if source[first:first + 1] == quote and source.count(quote, start, end) == 2:
        return  # one token in one kind of quotes, none inside it (most strings)
    i = string_end(source, start)
    if start < i < end and source[i:end].strip(b" \t\r\n\\\x0c"):
        setattr(node, _PIECES, True)


def concatenated(node: ast.AST) -> bool:
    """Whether a string node is an implicit concatenation of tokens (see `mark_pieces`)."""
    return _PIECES in node.__dict__


def is_string(node: Optional[ast.AST]) -> "TypeGuard[ast.Constant]":
    """A single string token (`"x"`, `b"x"`, not an f-string nor `"a" "b"`)."""
    return isinstance(node, ast.Constant) and type(node.value) in (str, bytes) and _PIECES not in node.__dict__


def is_strings(node: Optional[ast.AST]) -> "TypeGuard[ast.Constant]":
    """A string literal or an implicit concatenation of them, f-strings left out."""
    return isinstance(node, ast.Constant) and type(node.value) in (str, bytes)


def is_number(node: Optional[ast.AST]) -> "TypeGuard[ast.Constant]":
    """An integer or float literal (`True` is not one)."""
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def is_fstring(node: Optional[ast.AST]) -> "TypeGuard[ast.JoinedStr]":
    """A single f-string token (not one concatenated with others)."""
    return isinstance(node, ast.JoinedStr) and _PIECES not in node.__dict__


def is_name(node: Optional[ast.AST], *names: str) -> "TypeGuard[ast.expr]":
    """A name (one of `names`, if given); `True`, `False` and `None` are names too."""
    if isinstance(node, ast.Name):
        return not names or node.id in names
    if isinstance(node, ast.Constant) and (node.value is None or type(node.value) is bool):
        return not names or repr(node.value) in names
    return False


def name_of(node: ast.AST) -> str:
    """The text of a name (`is_name`)."""
    return node.id if isinstance(node, ast.Name) else repr(getattr(node, "value"))


def fstring_parts(node: ast.JoinedStr, source: bytes, start: int) -> Optional[List[Union[str, ast.expr]]]:
    """The parts of an f-string token starting at byte `start` of `source`: its text as written
    (escapes and doubled braces as they are) and the expressions in its braces, in order. None
    when the source there does not hold the f-string `ast` describes."""
    end = string_end(source, start)
    token = source[start:end]
    found = PREFIX.match(token)
    prefix = found.group() if found else b""
    if b"f" not in prefix.lower():
        return None
    rest = token[len(prefix):]
    quote = rest[:3] if rest[:3] in (b'"""', b"'''") else rest[:1]
    body = token[len(prefix) + len(quote):len(token) - len(quote)]
    expressions = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
    texts = _fstring_texts(body)
    if texts is None or len(texts) != len(expressions) + 1:
        return None
    parts: List[Union[str, ast.expr]] = []
    for i, text in enumerate(texts):
        if text:
            parts.append(text.decode("utf-8", "replace"))
        if i < len(expressions):
            parts.append(expressions[i])
    return parts


def _fstring_texts(body: bytes) -> Optional[List[bytes]]:
    """The text around each top-level `{expression}` of an f-string's body; None where the body
    cannot be read (a lone closing brace, an unclosed expression)."""
    texts: List[bytes] = []
    i, text_start, stop = 0, 0, len(body)
    while i < stop:
        c = body[i]
        if c in b"{}" and body[i + 1:i + 2] == bytes([c]):
            i += 2
            continue
        if c == 0x7D:
            return None
        if c != 0x7B:
            i += 1
            continue
        texts.append(body[text_start:i])
        j = field_end(body, i + 1, stop)
        if j >= stop:
            return None
        i = text_start = j + 1
    texts.append(body[text_start:])
    return texts


_INLINE = "whowaits_inline"


def mark_inline(body: Sequence[ast.stmt]) -> None:
    """Records that a block's statements follow its header's colon on the same line
    (`if x: return`): the passes read such a block differently from an indented one."""
    if body:
        setattr(body[0], _INLINE, True)


def inline(body: Sequence[ast.AST]) -> bool:
    """Whether a block is written after its header's colon (see `mark_inline`)."""
    return bool(body) and _INLINE in body[0].__dict__


_COMPOUND_STATEMENTS: Tuple[type, ...] = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While, ast.With,
    ast.AsyncWith, ast.Try,
)
if sys.version_info >= (3, 10):
    _COMPOUND_STATEMENTS += (ast.Match,)
if sys.version_info >= (3, 11):
    _COMPOUND_STATEMENTS += (ast.TryStar,)
COMPOUND_STATEMENTS = frozenset(_COMPOUND_STATEMENTS)


def last_line(body: Sequence[ast.stmt]) -> List[ast.stmt]:
    """The simple statements of an indented block's last line (`x = 1; return x` is two); none
    when the block ends with a compound statement or is written after its header's colon."""
    if not body or inline(body) or type(body[-1]) in COMPOUND_STATEMENTS:
        return []
    i = len(body) - 1
    while i > 0 and type(body[i - 1]) not in COMPOUND_STATEMENTS and body[i - 1].end_lineno == body[i].lineno:
        i -= 1
    return list(body[i:])


def lines_of(body: Sequence[ast.stmt]) -> List[List[ast.stmt]]:
    """A block's statements by line: simple statements that share a line (`a = 1; b = 2`) are
    one entry, a compound statement is one alone."""
    out: List[List[ast.stmt]] = []
    previous: Optional[ast.stmt] = None
    for stmt in body:
        simple = type(stmt) not in COMPOUND_STATEMENTS
        if (simple and previous is not None and type(previous) not in COMPOUND_STATEMENTS
                and previous.end_lineno == stmt.lineno):
            out[-1].append(stmt)
        else:
            out.append([stmt])
        previous = stmt
    return out


def subscript_elements(node: ast.Subscript) -> List[ast.expr]:
    """What a subscript's brackets hold, element by element: `x[a, b]` has two (`ast` makes
    them one tuple), `x[(a, b)]` one, the tuple; a slice is an element of its own."""
    index = node.slice
    if isinstance(index, ast.Tuple) and index.elts:
        first, last = index.elts[0], index.elts[-1]
        opened = (index.lineno, index.col_offset) < (first.lineno, first.col_offset)
        closed = (index.end_lineno or 0, index.end_col_offset or 0) > (last.end_lineno or 0, last.end_col_offset or 0)
        if not (opened and closed):  # a parenthesized tuple spans its parentheses
            return list(index.elts)
    return [index]


def piece_texts(source: bytes, start: int, end: int) -> List[str]:
    """The text of each string token in `source[start:end]` (an implicit concatenation): a
    plain string's value, an f-string's text as written around its braces."""
    out: List[str] = []
    for i, j in _string_tokens(source, start, end):
        if j <= i:
            break
        token = source[i:j]
        found = PREFIX.match(token)
        prefix = found.group().lower() if found else b""
        if b"f" in prefix:
            rest = token[len(prefix):]
            quote = rest[:3] if rest[:3] in (b'"""', b"'''") else rest[:1]
            texts = _fstring_texts(token[len(prefix) + len(quote):len(token) - len(quote)]) or []
            out.extend(text.decode("utf-8", "replace") for text in texts if text)
        elif b"b" not in prefix:
            try:
                value = ast.literal_eval(token.decode("utf-8"))
            except (ValueError, SyntaxError, UnicodeDecodeError):
                value = None
            if isinstance(value, str):
                out.append(value)
    return out


def _string_tokens(source: bytes, start: int, end: int) -> Iterator[Tuple[int, int]]:
    """(start, end) of each string token in `source[start:end]` (one token or an implicit
    concatenation), the blanks and line continuations between them skipped; the last one ends
    at or before its start when a token cannot be read there."""
    i = start
    while i < end:
        while i < end and source[i] in b" \t\r\n\x0c\\":
            i += 1
        if i >= end:
            return
        j = string_end(source, i)
        yield i, j
        if j <= i:
            return
        i = j


def child_items(node: ast.AST) -> List[Union[ast.AST, str]]:
    """A node's children (`child_nodes`) with the identifiers written among them: an
    attribute's name after its value, a keyword argument's name after its value. For the
    passes that read such a name as they read a name (`x.batch_id` names `batch_id` too)."""
    if isinstance(node, ast.Attribute):
        return [node.value, node.attr]
    if isinstance(node, ast.Call):
        out: List[Union[ast.AST, str]] = [node.func]
        for arg in arguments(node):
            out.append(arg.value)
            if arg.keyword is not None:
                out.append(arg.keyword)
        return out
    return list(child_nodes(node))


def expression_spots(source: bytes, start: int, end: int) -> Optional[List[Tuple[int, bytes]]]:
    """Where the `{expression}`s of the f-strings in `source[start:end]` (one string token or an
    implicit concatenation) are: (byte offset, text) of each, in source order, those of a
    format spec (`{x:>{width}}`) right after the expression they format. None where a body
    cannot be read."""
    out: List[Tuple[int, bytes]] = []
    for i, j in _string_tokens(source, start, end):
        if j <= i:
            return None
        found = PREFIX.match(source, i)
        prefix = found.group() if found else b""
        if b"f" in prefix.lower():
            at = i + len(prefix)
            quote = 3 if source[at:at + 3] in (b'"""', b"'''") else 1
            if not _spots(source, at + quote, j - quote, out):
                return None
    return out


def _spots(body: bytes, i: int, stop: int, out: List[Tuple[int, bytes]]) -> bool:
    """`expression_spots` of the text from `i` to `stop` of an f-string's body or format spec."""
    while i < stop:
        c = body[i]
        if c in b"{}" and body[i + 1:i + 2] == bytes([c]) and i + 1 < stop:
            i += 2
            continue
        if c == 0x7D:
            return False
        if c != 0x7B:
            i += 1
            continue
        j = field_end(body, i + 1, stop, expression=True)
        if j >= stop:
            return False
        out.append((i + 1, body[i + 1:j]))
        if body[j] == 0x3D:
            j += 1
            while j < stop and body[j] in b" \t\r\n\x0c":
                j += 1
        if body[j:j + 1] == b"!":
            j += 2
        if body[j:j + 1] == b":":
            end, depth = j + 1, 0
            while end < stop:
                if body[end] == 0x7B:
                    depth += 1
                elif body[end] == 0x7D:
                    if depth == 0:
                        break
                    depth -= 1
                end += 1
            if not _spots(body, j + 1, end, out):
                return False
            j = end
        if body[j:j + 1] != b"}":
            return False
        i = j + 1
    return True


def formatted_values(node: ast.JoinedStr) -> List[ast.FormattedValue]:
    """An f-string's `{expression}`s in source order, those of a format spec right after the
    expression they format (as `expression_spots` lists them)."""
    out: List[ast.FormattedValue] = []
    for part in node.values:
        if isinstance(part, ast.FormattedValue):
            out.append(part)
            if isinstance(part.format_spec, ast.JoinedStr):
                out.extend(formatted_values(part.format_spec))
    return out
