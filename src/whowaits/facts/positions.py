"""Where nodes are in the source: spans and source text for the facts of one module.

libcst, the analyser, computes positions with a code generation pass over the whole module,
which costs more than parsing it. CPython's `ast` of the same bytes (parsed anyway, as the
depth gate) has a position on every expression, so spans come from pairing the two trees.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from whowaits.core import Span
from whowaits.cst_fields import LINE_BREAK, subclass_test
from whowaits.facts.scopes import child_nodes, ModuleIndex

if TYPE_CHECKING:
    from whowaits.facts.from_ast import Built

_PASS = cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Pass()])])


def _header_only(stmt: cst.CSTNode) -> Optional[cst.BaseCompoundStatement]:
    """A compound statement with its bodies replaced by `pass`: same header node objects."""
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef, cst.With)):
        return stmt.with_changes(body=_PASS, leading_lines=())
    if isinstance(stmt, (cst.If, cst.For, cst.While)):
        return stmt.with_changes(body=_PASS, orelse=None, leading_lines=())
    if isinstance(stmt, (cst.Try, cst.TryStar)):
        handlers = [h.with_changes(body=_PASS, leading_lines=()) for h in stmt.handlers]
        final = cst.Finally(body=_PASS) if stmt.finalbody is not None else None
        return stmt.with_changes(body=_PASS, handlers=handlers, orelse=None, finalbody=final, leading_lines=())
    return None


# Expression kinds both trees have one node for, as (`ast` class, libcst class); literals are
# `ast.Constant`s told apart by their value (`True` is a Name to libcst). Within one statement,
# the k-th node of a kind in source order is the same expression in both trees, so `ast`'s
# position is its span; a kind the trees count differently in a statement (`"a" "b"` is one
# `ast` node and two libcst nodes) is left to generation. Two kinds differ in shape and are
# mapped (see `_ast_spans`): `a and b and c` is one `ast` node and two nested libcst ones, and a
# generator expression's `ast` span holds its parentheses (a call's, in `sum(x for x in xs)`).
PAIRED: Dict[type, type] = {
    ast.Call: cst.Call, ast.Compare: cst.Comparison, ast.Attribute: cst.Attribute, ast.Subscript: cst.Subscript,
    ast.ListComp: cst.ListComp, ast.SetComp: cst.SetComp, ast.DictComp: cst.DictComp, ast.Lambda: cst.Lambda,
    ast.UnaryOp: cst.UnaryOperation, ast.BinOp: cst.BinaryOperation, ast.IfExp: cst.IfExp, ast.Await: cst.Await,
    ast.Dict: cst.Dict, ast.List: cst.List, ast.Name: cst.Name,
    ast.BoolOp: cst.BooleanOperation, ast.GeneratorExp: cst.GeneratorExp,
}
_PAIRED_CONSTANTS: Dict[type, type] = {
    int: cst.Integer, float: cst.Float, str: cst.SimpleString, bytes: cst.SimpleString, bool: cst.Name, type(None): cst.Name,
}
# libcst Names that are not expressions (`ast` holds them as plain text): by parent, the fields.
_DECLARED_NAMES: Dict[type, Tuple[str, ...]] = {
    cst.Attribute: ("attr",), cst.Arg: ("keyword",), cst.FunctionDef: ("name",), cst.ClassDef: ("name",),
    cst.Param: ("name",), cst.ImportAlias: ("name",), cst.NameItem: ("name",), cst.MatchAs: ("name",),
    cst.MatchStar: ("name",), cst.MatchKeywordElement: ("key",), cst.MatchMapping: ("rest",),
}
_PAIRED_KINDS = frozenset(PAIRED.values()) | frozenset(_PAIRED_CONSTANTS.values())
# Where a statement's own expressions stop: nested statements are numbered on their own, and
# positions inside f-strings differ between Python versions.
_is_cst_boundary = subclass_test((cst.BaseStatement, cst.BaseSmallStatement, cst.FormattedString))


def _paired_kind(node: ast.AST) -> Optional[type]:
    kind = PAIRED.get(type(node))
    if kind is None and isinstance(node, ast.Constant):
        kind = _PAIRED_CONSTANTS.get(type(node.value))
    return kind


def _own_ast_nodes(statement: ast.AST) -> Dict[type, List[ast.expr]]:
    """A statement's paired expressions (not those of nested statements), by libcst class, in
    source order: outer before inner where two start at the same place."""
    groups: Dict[type, List[ast.expr]] = {}
    stack = list(ast.iter_child_nodes(statement))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.stmt, ast.JoinedStr)):
            continue
        kind = _paired_kind(node)
        if kind is not None and isinstance(node, ast.expr):
            groups.setdefault(kind, []).append(node)
        stack.extend(ast.iter_child_nodes(node))
    for nodes in groups.values():
        nodes.sort(key=lambda n: (n.lineno, n.col_offset, -(n.end_lineno or 0), -(n.end_col_offset or 0)))
    return groups


# libcst node classes whose dataclass fields (what `child_nodes` reads) are not in source order,
# with the fields that hold children, in source order. libcst's own `children` is in source
# order but runs its visitor machinery for every node, several times slower.
_SOURCE_ORDER: Dict[type, Tuple[str, ...]] = {
    cst.FunctionDef: ("decorators", "name", "type_parameters", "params", "returns", "body"),
    cst.ClassDef: ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    cst.IfExp: ("body", "test", "orelse"),
    cst.ExceptHandler: ("type", "name", "body"),
    cst.Parameters: ("posonly_params", "posonly_ind", "params", "star_arg", "kwonly_params", "star_kwarg"),
    cst.Arg: ("keyword", "value"),
    cst.ImportFrom: ("module", "names"),
    cst.Slice: ("lower", "upper", "step"),
}


def source_children(node: cst.CSTNode) -> List[cst.CSTNode]:
    """A node's children in source order."""
    order = _SOURCE_ORDER.get(type(node))
    if order is None:
        return child_nodes(node)
    out: List[cst.CSTNode] = []
    for name in order:
        value = getattr(node, name, None)
        if isinstance(value, (list, tuple)):
            out.extend(item for item in value if isinstance(item, cst.CSTNode))
        elif isinstance(value, cst.CSTNode):
            out.append(value)
    return out


def _own_cst_nodes(statement: cst.CSTNode) -> Dict[type, List[cst.CSTNode]]:
    """The same for libcst's statement, in source order."""
    groups: Dict[type, List[cst.CSTNode]] = {}
    stack = [(child, statement) for child in reversed(source_children(statement))]
    while stack:
        node, parent = stack.pop()
        kind = type(node)
        if _is_cst_boundary(kind):
            continue
        if kind in _PAIRED_KINDS and not (
            kind is cst.Name and any(getattr(parent, slot) is node for slot in _DECLARED_NAMES.get(type(parent), ()))
        ):
            groups.setdefault(kind, []).append(node)
        stack.extend((child, node) for child in reversed(source_children(node)))
    return groups


class CodeFor:
    """Source text and spans of nodes, shared by the fact passes of one module.

    libcst computes positions with a code generation pass over the whole module, which costs
    more than parsing. CPython's `ast` of the same file has every expression's position, and
    its statements are matched with libcst's by ordinal: a node of a kind both trees share
    takes its span from the `ast` node it pairs with. Other nodes come from generating only
    their own statement (compound statements without their bodies) and shifting it into place;
    when even that is not possible, the whole module's positions are computed once.
    """

    def __init__(
        self,
        module: cst.Module,
        statement_lines: Optional[Sequence[int]] = None,
        statement_columns: Optional[Sequence[int]] = None,
        index: Optional[ModuleIndex] = None,
        source_lines: Sequence[str] = (),
        statement_nodes: Optional[Sequence[ast.AST]] = None,
        text: str = "",
        built: "Optional[Built]" = None,
    ) -> None:
        self.module = module
        # For a tree built from `ast`: what prints its nodes and gives the spans `ast` does not,
        # with libcst's parse of the file (`built.twin`) for what is left.
        self.built = built
        self.source_lines = source_lines
        self.statement_nodes = statement_nodes  # `ast`'s statements by ordinal, when matched
        self.text = text
        self._text_lines: Optional[List[str]] = None
        self._paired: Dict[int, Dict[int, Span]] = {}  # ordinal -> id(libcst node) -> span
        self._positions: Optional[Mapping[cst.CSTNode, CodeRange]] = None
        # Lines of statements in source order, from `ast` (much cheaper than positions);
        # None when they could not be matched with libcst's statements.
        self.statement_lines = statement_lines
        self.statement_columns = statement_columns
        self.index = index
        self._by_statement: Dict[int, Optional[Tuple[Mapping[cst.CSTNode, CodeRange], int, int, List[str], int]]] = {}

    def statement_line(self, ordinal: int, node: cst.CSTNode) -> int:
        """The line of the statement a node belongs to: exact for statements, the statement's
        first line for expressions inside it. Falls back to positions when unavailable."""
        if self.statement_lines is not None and 0 <= ordinal < len(self.statement_lines):
            return self.statement_lines[ordinal]
        return self.span(node).line

    def __call__(self, node: cst.CSTNode) -> str:
        if self.built is not None:
            text = self.built.code(node)
        else:
            text = self.module.code_for_node(node)
        return text if len(text) <= 120 else text[:117] + "..."

    def _printed(self, node: cst.CSTNode) -> cst.CSTNode:
        """The node of the tree that prints as the source did."""
        return self.built.twin.of(node) if self.built is not None else node

    def span(self, node: cst.CSTNode) -> Span:
        if self.built is not None:
            exact = self.built.span(node)
            if exact is not None:
                (line, col), (end_line, end_col) = exact
                return Span(line, self._column(line, col), end_line, self._column(end_line, end_col))
        local = self._statement_span(node)
        if local is not None:
            return local
        if self._positions is None:
            module = self.built.twin.module if self.built is not None else self.module
            wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
            self._positions = wrapper.resolve(PositionProvider)
        rng = self._positions[self._printed(node)]
        return Span(rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1)

    def _statement_span(self, node: cst.CSTNode) -> Optional[Span]:
        if self.index is None or self.statement_lines is None or self.statement_columns is None:
            return None
        ordinal = self.index.statement_at.get(id(node), -1)
        if ordinal < 0:
            return None
        statement = self.index.statements[ordinal]
        if node is statement and not isinstance(node, cst.BaseSmallStatement):
            # A compound statement (a loop, a def) is only ever cited by where it starts.
            line, col = self.statement_lines[ordinal], self.statement_columns[ordinal]
            return Span(line, col + 1, line, col + 1)
        paired = self._paired.get(ordinal)
        if paired is None:
            paired = self._paired[ordinal] = self._pair(ordinal)
        if id(node) in paired:
            return paired[id(node)]
        if ordinal not in self._by_statement:
            self._by_statement[ordinal] = self._generate(ordinal)
        found = self._by_statement[ordinal]
        if found is None:
            return None
        printed = self._printed(node)
        if printed not in found[0]:
            return None
        positions, offset, indent, code_lines, first = found
        rng = positions[printed]

        def column(line: int, col: int) -> int:
            # Generated alone, the statement lost its indentation on every line libcst keeps
            # relative to the block (most lines); a line that is the original minus that
            # indentation (minus a trailing comment the statement line owns) gets it back.
            if line == first:  # the statement's own first line: `ast` knows its column
                return col + indent + 1 + elif_shift
            generated = code_lines[line - 1] if 0 < line <= len(code_lines) else ""
            true = line + offset
            original = self.source_lines[true - 1] if 0 < true <= len(self.source_lines) else ""
            shifted = original[block:].startswith(generated) and original[:block].strip() == ""
            return col + (block if shifted else 0) + 1

        # An `elif` clause prints as `if` on its own: two characters short on its first line.
        elif_shift = 2 if id(self.index.statements[ordinal]) in self.index.elifs else 0
        # The indentation of the block the statement is in (not its column: `if x: stmt`).
        start = self.source_lines[first + offset - 1] if 0 < first + offset <= len(self.source_lines) else ""
        block = len(start) - len(start.lstrip(" \t"))

        return Span(rng.start.line + offset, column(rng.start.line, rng.start.column),
                    rng.end.line + offset, column(rng.end.line, rng.end.column))

    def _pair(self, ordinal: int) -> Dict[int, Span]:
        """Spans from `ast` for the paired nodes of one statement: a kind whose count differs
        between the trees is left to generation."""
        if self.statement_nodes is None or self.index is None:
            return {}
        theirs = _own_ast_nodes(self.statement_nodes[ordinal])
        out: Dict[int, Span] = {}
        for kind, ours in _own_cst_nodes(self.index.statements[ordinal]).items():
            same = self._ast_spans(kind, theirs.get(kind, []))
            if len(same) == len(ours):
                for node, span in zip(ours, same):
                    out[id(node)] = span
        return out

    def _ast_spans(self, kind: type, nodes: List[ast.expr]) -> List[Span]:
        """The spans libcst gives the nodes of one kind, from their `ast` twins, in source order.

        `a and b and c` is one `ast.BoolOp` and, left-nested, two libcst nodes that start where it
        starts: the outer ends where it ends, the inner after `b` and the parentheses `b` may
        have (before the next `and`, only `b`'s can close). A generator expression's `ast` span
        runs from its opening parenthesis (the call's, in `sum(x for x in xs)`) to the closing
        one; libcst's runs from its first token to the end of its last clause, with the
        parentheses that clause may have."""
        if kind is cst.BooleanOperation:
            out: List[Span] = []
            for node in nodes:
                assert isinstance(node, ast.BoolOp)
                start = self._char(node.lineno, node.col_offset)
                out.append(Span(*start, *self._end(node)))
                for value in reversed(node.values[1:-1]):
                    out.append(Span(*start, *self._closed(self._end(value))))
            return out
        if kind is cst.GeneratorExp:
            out = []
            for node in nodes:
                assert isinstance(node, ast.GeneratorExp)
                opening = self._char(node.lineno, node.col_offset)
                line, col = self._end(node)
                clause = node.generators[-1]
                end = self._closed(self._end(clause.ifs[-1] if clause.ifs else clause.iter), (line, col - 1))
                out.append(Span(*self._blank_after((opening[0], opening[1] + 1)), *end))
            return out
        return [Span(*self._char(n.lineno, n.col_offset), *self._end(n)) for n in nodes]

    def _char(self, line: int, offset: int) -> Tuple[int, int]:
        return line, self._column(line, offset)

    def _end(self, node: ast.expr) -> Tuple[int, int]:
        """Where an expression ends (line, 1-based column just after it); a parsed node has
        its end, the fallbacks only satisfy the type."""
        line = node.end_lineno or node.lineno
        return line, self._column(line, node.end_col_offset or 0)

    def _blank_after(self, at: Tuple[int, int]) -> Tuple[int, int]:
        """The first place at or after `at` (line, 1-based column) that is not blank: spaces,
        line breaks, comments and line continuations, which is all that can sit between the
        tokens this module looks across."""
        lines = self._lines()
        line, col = at
        while 0 < line <= len(lines):
            text = lines[line - 1]
            while col <= len(text) and text[col - 1] in " \t\x0c":
                col += 1
            if col <= len(text) and text[col - 1] != "#" and not (text[col - 1] == "\\" and col == len(text)):
                return line, col
            line, col = line + 1, 1
        return at

    def _closed(self, end: Tuple[int, int], limit: Optional[Tuple[int, int]] = None) -> Tuple[int, int]:
        """`end` moved past the closing parentheses that follow it (before `limit`, if given)."""
        while True:
            line, col = self._blank_after(end)
            text = self._lines()[line - 1] if 0 < line <= len(self._lines()) else ""
            if col > len(text) or text[col - 1] != ")" or (limit is not None and (line, col) >= limit):
                return end
            end = (line, col + 1)

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

    def _generate(self, ordinal: int) -> Optional[Tuple[Mapping[cst.CSTNode, CodeRange], int, int, List[str], int]]:
        index, lines, columns = self.index, self.statement_lines, self.statement_columns
        if index is None or lines is None or columns is None:
            return None
        stmt = self._printed(index.statements[ordinal])
        anchor: cst.CSTNode
        standalone: Union[cst.SimpleStatementLine, cst.BaseCompoundStatement, None]
        if isinstance(stmt, cst.BaseSmallStatement):
            anchor, standalone = stmt, cst.SimpleStatementLine(body=[stmt])
        else:
            standalone = _header_only(stmt)
            if standalone is None:
                return None
            anchor = standalone
        printer = self.built.twin.module if self.built is not None else self.module
        module = cst.Module(body=[standalone], header=(), footer=(),
                            default_indent=printer.default_indent, default_newline=printer.default_newline)
        try:
            positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        except Exception:  # an odd node libcst cannot print alone: use the whole module
            return None
        first = positions[anchor].start.line
        offset = lines[ordinal] - first
        indent = self._column(lines[ordinal], columns[ordinal]) - 1
        return positions, offset, indent, module.code.splitlines(), first
