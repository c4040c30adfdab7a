"""libcst helpers the fixers and `migrate` share: find nodes by position, edit sequences
without breaking their commas, and turn a rewritten module back into one text edit."""

from __future__ import annotations

import json
import keyword
from typing import Iterator, Mapping, Optional, Sequence, Set, Tuple, Type, TypeVar, Union

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, ParentNodeProvider, PositionProvider


N = TypeVar("N", bound=cst.CSTNode)


class Located:
    """A parsed module with the position and parent of every node (identity kept: no copy)."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.positions: Mapping[cst.CSTNode, CodeRange] = wrapper.resolve(PositionProvider)
        self.parents: Mapping[cst.CSTNode, cst.CSTNode] = wrapper.resolve(ParentNodeProvider)
        self._names: Optional[Set[str]] = None

    def at(self, line: int, col: int, types: Union[Type[N], Tuple[Type[N], ...]]) -> Optional[N]:
        """The largest node of one of `types` starting at 1-based (line, col)."""
        best: Optional[N] = None
        best_end: Tuple[int, int] = (0, 0)
        for node, where in self.positions.items():
            if where.start.line == line and where.start.column == col - 1 and isinstance(node, types):
                end = (where.end.line, where.end.column)
                if best is None or end > best_end:
                    best, best_end = node, end
        return best

    def starting_at(self, line: int, col: int) -> Iterator[cst.CSTNode]:
        for node, where in self.positions.items():
            if where.start.line == line and where.start.column == col - 1:
                yield node

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def fresh_name(self, wanted: str) -> str:
        """`wanted`, or `wanted_2`, ... : a name the original module does not use anywhere."""
        if self._names is None:
            self._names = {n.value for n in self.positions if isinstance(n, cst.Name)}
        name, n = wanted, 1
        while name in self._names or keyword.iskeyword(name):
            n += 1
            name = f"{wanted}_{n}"
        return name

    def replace(self, old: cst.CSTNode, new: cst.CSTNode) -> cst.Module:
        return self.module.deep_replace(old, new)  # type: ignore[arg-type]


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

