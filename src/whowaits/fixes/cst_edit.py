"""libcst helpers the fixers and `migrate` share: find nodes by position, edit sequences
without breaking their commas, and turn a rewritten module back into one text edit."""

from __future__ import annotations

import json
import keyword
from bisect import bisect_right
from functools import cached_property
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple, Type, TypeVar, Union, cast

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, ParentNodeProvider, PositionProvider

from whowaits.cst_fields import field_names, is_node
from whowaits.facts.lexical import LINE_BREAK


N = TypeVar("N", bound=cst.CSTNode)


class Located:
    """A parsed module that finds nodes by position and knows their parents (identity kept: no copy).

    `check` offers a fix for every fixable finding, so finding the node must be cheap. libcst's
    metadata for a whole module is a full visit plus a full code generation that records every
    node's range: it cost most of offering fixes, nearly all of it for code far from the finding.
    Here each top-level statement's code is generated once (that gives the module's text and
    the line each statement starts on), and positions and parents are worked out only for the
    statements a question is about. A top-level statement starts a line at column 0 and its code
    does not depend on what comes before it, so its nodes' positions are those of a module
    holding it alone, moved down to its first line. `positions` and `parents` still give the
    whole module's metadata, resolved on first use, for callers that walk all of it (`migrate`).
    """

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self._header = "".join(module.code_for_node(line) for line in module.header)
        self._footer = "".join(module.code_for_node(line) for line in module.footer)
        self._codes: Dict[cst.CSTNode, str] = {}  # top-level statement -> its code
        self._starts: List[int] = []  # first line of each top-level statement
        line = 1 + _line_breaks(self._header)
        for statement in module.body:
            code = self._codes[statement] = module.code_for_node(statement)
            self._starts.append(line)
            line += _line_breaks(code)
        self.text = self._joined(module, [self._codes[s] for s in module.body])  # the module's code
        self._spots: Dict[int, Tuple[Mapping[cst.CSTNode, CodeRange], int]] = {}  # statement index -> (positions, line offset)
        self._parents: Dict[cst.CSTNode, cst.CSTNode] = {}  # of the nodes in the statements located so far
        self._names: Optional[Set[str]] = None

    @cached_property
    def positions(self) -> Mapping[cst.CSTNode, CodeRange]:
        """Every node's position in the whole module."""
        return MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)

    @cached_property
    def parents(self) -> Mapping[cst.CSTNode, cst.CSTNode]:
        """Every node's parent in the whole module."""
        return MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(ParentNodeProvider)

    def at(self, line: int, col: int, types: Union[Type[N], Tuple[Type[N], ...]]) -> Optional[N]:
        """The largest node of one of `types` starting at 1-based (line, col)."""
        best: Optional[N] = None
        best_end: Tuple[int, int] = (0, 0)
        for node, where, offset in self._starting(line, col):
            if isinstance(node, types):
                end = (where.end.line + offset, where.end.column)
                if best is None or end > best_end:
                    best, best_end = node, end
        return best

    def starting_at(self, line: int, col: int) -> Iterator[cst.CSTNode]:
        """The nodes starting at 1-based (line, col), innermost first (libcst's order)."""
        return (node for node, _, _ in self._starting(line, col))

    def _starting(self, line: int, col: int) -> Iterator[Tuple[cst.CSTNode, CodeRange, int]]:
        """(node, its position in its statement's own module, line offset) for the nodes
        starting at (line, col): all of them are in the top-level statement covering `line`."""
        index = bisect_right(self._starts, line) - 1
        if index < 0:  # the module's header: comments and blank lines only
            return
        positions, offset = self._spot(index)
        for node, where in positions.items():
            if where.start.line + offset == line and where.start.column == col - 1:
                yield node, where, offset

    def _spot(self, index: int) -> Tuple[Mapping[cst.CSTNode, CodeRange], int]:
        """Positions and parents of one top-level statement's nodes, worked out on first use."""
        spot = self._spots.get(index)
        if spot is None:
            statement = self.module.body[index]
            alone = self.module.with_changes(header=(), body=(statement,), footer=())
            positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            spot = self._spots[index] = ({n: r for n, r in positions.items() if n is not alone}, self._starts[index] - 1)
            self._parents[statement] = self.module
            for parent, child in _edges(statement):
                self._parents[child] = parent
        return spot

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """`node`'s parent (None for the module). Nodes found by position have theirs at hand;
        any other node costs the whole module's parents once."""
        if node is self.module:
            return None
        found = self._parents.get(node)
        return found if found is not None else self.parents.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parent(node)
        while current is not None:
            yield current
            current = self.parent(current)

    def fresh_name(self, wanted: str) -> str:
        """`wanted`, or `wanted_2`, ... : a name the original module does not use anywhere."""
        name, n = wanted, 1
        while keyword.iskeyword(name) or self._uses(name):
            n += 1
            name = f"{wanted}_{n}"
        return name

    def _uses(self, name: str) -> bool:
        """Whether a `Name` node of the module spells `name`. A name is spelled in the text as
        it is, so the module's names are collected (one walk) only when the text has `name`."""
        if name not in self.text:
            return False
        if self._names is None:
            self._names = {child.value for _, child in _edges(self.module) if isinstance(child, cst.Name)}
        return name in self._names

    def replace(self, old: cst.CSTNode, new: cst.CSTNode) -> cst.Module:
        """The module with `old` replaced by `new`. Only `old`'s ancestors are rebuilt: libcst's
        `deep_replace` rebuilds every node of the module, and the code comes out the same."""
        child, rebuilt = old, new
        while child is not self.module:
            parent = self.parent(child)
            if parent is None:  # not a node of this module
                return self.module.deep_replace(old, new)  # type: ignore[arg-type]
            rebuilt = _with_child(parent, child, rebuilt)
            child = parent
        return cast(cst.Module, rebuilt)

    def code_of(self, module: cst.Module) -> str:
        """The code of a module made from this one (`replace`, `with_changes(body=...)`): the
        top-level statements it kept are not generated again."""
        original = self.module
        if (module.header is not original.header or module.footer is not original.footer
                or module.default_indent != original.default_indent or module.default_newline != original.default_newline
                or module.has_trailing_newline != original.has_trailing_newline):
            return module.code
        return self._joined(module, [self._codes[s] if s in self._codes else module.code_for_node(s) for s in module.body])

    def _joined(self, module: cst.Module, statements: Sequence[str]) -> str:
        """What `module.code` gives for its header, these statements' code and its footer."""
        code = self._header + "".join(statements) + self._footer
        if module.has_trailing_newline:
            return code or module.default_newline
        # libcst drops the last token, which is always a line break (a `\r\n` is one token)
        return code[:-2] if code.endswith("\r\n") else code[:-1]


def _line_breaks(code: str) -> int:
    return len(LINE_BREAK.findall(code))


def _edges(root: cst.CSTNode) -> Iterator[Tuple[cst.CSTNode, cst.CSTNode]]:
    """(parent, child) for every node under `root`, read from the nodes' dataclass fields: the
    same pairs as libcst's ParentNodeProvider, whose visitor rebuilds every node it passes."""
    stack = [root]
    while stack:
        node = stack.pop()
        for name in field_names(type(node)):
            value = getattr(node, name)
            for child in value if type(value) in (tuple, list) else (value,):
                if is_node(type(child)):
                    yield node, child
                    stack.append(child)


def _with_child(parent: cst.CSTNode, old: cst.CSTNode, new: cst.CSTNode) -> cst.CSTNode:
    """`parent` with its child `old` (by identity) replaced by `new`."""
    for name in field_names(type(parent)):
        value = getattr(parent, name)
        if value is old:
            return parent.with_changes(**{name: new})
        if type(value) in (tuple, list) and any(item is old for item in value):
            return parent.with_changes(**{name: tuple(new if item is old else item for item in value)})
    raise ValueError(f"{type(old).__name__} is not a child of {type(parent).__name__}")


def without(elements: Sequence[N], drop: Sequence[cst.CSTNode]) -> Tuple[N, ...]:
    """`elements` minus `drop`, the last survivor taking the comma the old last element had,
    with its own line's comment (for calls, whose closing line lives in that comma)."""
    kept = []
    for element in elements:
        if not any(element is d for d in drop):
            kept.append(element)
        elif kept and element is not elements[-1]:
            kept[-1] = kept[-1].with_changes(comma=_line_break(kept[-1].comma, element.comma))  # type: ignore[attr-defined]
    if kept and elements and any(elements[-1] is d for d in drop):
        kept[-1] = kept[-1].with_changes(comma=_closing_comma(kept[-1].comma, elements[-1].comma))  # type: ignore[attr-defined]
    return tuple(kept)


def _line_break(own: object, removed: object) -> object:
    """When a removed item ended its line, the item before it ends the line instead (the removed
    line's comment goes with it)."""
    if (isinstance(own, cst.Comma) and isinstance(removed, cst.Comma)
            and isinstance(removed.whitespace_after, cst.ParenthesizedWhitespace)
            and not isinstance(own.whitespace_after, cst.ParenthesizedWhitespace)):
        return own.with_changes(whitespace_after=removed.whitespace_after.with_changes(first_line=cst.TrailingWhitespace()))
    return own


def _closing_comma(own: object, removed: object) -> object:
    if (isinstance(own, cst.Comma) and isinstance(removed, cst.Comma)
            and isinstance(own.whitespace_after, cst.ParenthesizedWhitespace)
            and isinstance(removed.whitespace_after, cst.ParenthesizedWhitespace)):
        return removed.with_changes(whitespace_after=removed.whitespace_after.with_changes(
            first_line=own.whitespace_after.first_line))
    if isinstance(own, cst.Comma) and isinstance(removed, cst.Comma):
        return removed.with_changes(whitespace_before=own.whitespace_before)
    return removed


def remove_items(node: N, drop: Sequence[cst.CSTNode]) -> N:
    """A call, dict, list or tuple without some of its items, keeping the layout around them:
    the closing bracket stays on its line and the new last item keeps its line's comment."""
    field = "args" if isinstance(node, cst.Call) else "elements"
    items = getattr(node, field)
    kept = without(items, drop)
    changes = {field: kept}
    bracket = "rbrace" if isinstance(node, cst.Dict) else "rbracket" if isinstance(node, cst.List) else ""
    if bracket and kept and any(items[-1] is d for d in drop):
        own = [e for e in items if not any(e is d for d in drop)][-1].comma
        closing = getattr(node, bracket).whitespace_before
        if (isinstance(own, cst.Comma) and isinstance(own.whitespace_after, cst.ParenthesizedWhitespace)
                and isinstance(closing, cst.ParenthesizedWhitespace)):
            changes[bracket] = getattr(node, bracket).with_changes(
                whitespace_before=closing.with_changes(first_line=own.whitespace_after.first_line))
    return node.with_changes(**changes)


def string_value(node: cst.CSTNode) -> Optional[str]:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def with_text(node: cst.SimpleString, text: str) -> cst.SimpleString:
    """The same string literal (prefix and quotes kept) holding `text` (no quote or escape in it)."""
    return node.with_changes(value=f"{node.prefix}{node.quote}{text}{node.quote}")


def parse(data: bytes) -> Optional[cst.Module]:
    try:
        return cst.parse_module(data)
    except (cst.ParserSyntaxError, UnicodeDecodeError, ValueError):
        return None


def literal_node(value: object) -> cst.BaseExpression:
    """A literal from a TOML value (strings in double quotes, numbers, booleans)."""
    return cst.parse_expression(json.dumps(value) if isinstance(value, str) else repr(value))

