"""Spans the facts stage reads from CPython's `ast` equal the ones libcst's own positions give.

`CodeFor` pairs libcst nodes with `ast` nodes by kind and order inside each statement, so a
wrong pairing would move findings silently. Every node of every statement here is asked for
its span and compared with libcst's whole-module positions, on code chosen to trip a pairing:
non-ASCII text before a node, decorators and defaults (fields libcst stores out of source
order), conditional expressions, chained and/or, implicit string concatenation, f-strings,
generator expressions, names in every declaring position, and other line endings.
"""

from __future__ import annotations

import ast
from typing import List

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from whowaits.core import Span
from whowaits.facts import statement_lines
from whowaits.facts.positions import CodeFor
from whowaits.facts.scopes import ModuleIndex

SOURCES = {
    "calls and non-ASCII": 'x = "héllo wörld"; y = f(g(x), "ü", k=h(1))\nz = obj.method(a)[0].other(b=-2)\n',
    "decorators and defaults": (
        "@dec(limit=3)\n@other.thing(call())\ndef fn(a=make(), *, b: int = size(4)) -> ret(5):\n"
        "    return a\n\nclass C(Base(1), metaclass=meta(2)):\n    attr = value(3)\n\n"
        "@route(path(1))\nasync def handler(req=dep(2), /, *args, key=opt(3), **rest) -> out(4):\n    await call(5)\n"
    ),
    "conditional expressions": "v = f(1) if test(2) else g(3)\nw = [h(i) for i in items(4) if ok(i)]\n",
    "and/or chains": "if a(1) and b(2) and c(3) or (d(4) and e(5)):\n    pass\n",
    "strings": 'msg = "a" "b" + f"{x(1)} and {y.z}" + str(2)\nflag = True or None\n',
    "generators and lambdas": "total = sum(f(x) for x in xs)\nkey = lambda item: item.size(1)\n",
    "generators with parentheses and comments": (
        "n = sum( (x, 1) for x in (xs) if (ok(x))  # é\n)\ng = ((y for y in ys))\n"
        "h = any(\n    # why\n    z.ok for z in f(zs)\n    if z\n)\nk = list(a async for a in src() if (a) )\n"
    ),
    "and/or with parentheses and comments": (
        "if (a(1)) and (b  # é\n        ) and c(3) or d:\n    pass\n"
        "ok = x and y or z and (w or v) and \\\n    u\nflag = not (p or q) and r\n"
    ),
    "declared names": (
        "import os.path as osp\nfrom pkg import name as alias\nglobal_value = 1\n"
        "def outer(p, q=1):\n    global global_value\n    try:\n        run(p)\n"
        "    except Error as exc:\n        log(exc)\n    with open(p) as fh, ctx() as (a, b):\n"
        "        return fh.read(q)\n"
    ),
    "match": "match cmd(1):\n    case {'k': v, **rest}:\n        act(v)\n    case Point(x=0) as pt:\n        act(pt)\n",
    "multi-line call": "result = client.messages.create(\n    model=MODEL,  # é comment\n    messages=[{'role': 'user'}],\n)\n",
    "windows line endings": "a = f(1)\r\nif g(2):\r\n    h(é, 3)\r\n",
    "form feed": "a = f(1)\n\x0c\nb = g(2)\n",
}


def _nodes(module: cst.Module) -> List[cst.CSTNode]:
    out: List[cst.CSTNode] = []
    stack: List[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.children)
    return out


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_span_matches_libcst_positions(name: str) -> None:
    source = SOURCES[name]
    module = cst.parse_module(source)
    tree = ast.parse(source)
    index = ModuleIndex()
    index.walk(module)
    lines, _, columns, statements = statement_lines(tree)
    assert len(lines) == index.statement_count
    code_for = CodeFor(module, lines, columns, index, source.splitlines(), statements, source)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    compared = 0
    for node in _nodes(module):
        if node not in positions or index.statement_at.get(id(node), -1) < 0:
            continue
        ordinal = index.statement_at[id(node)]
        if node is index.statements[ordinal] and not isinstance(node, cst.BaseSmallStatement):
            continue  # compound statements are cited by where they start, from `ast` directly
        rng = positions[node]
        assert code_for.span(node) == Span(rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1), (
            type(node).__name__, module.code_for_node(node))
        compared += 1
    assert compared > 5


def test_most_spans_come_from_ast_without_generating_statements() -> None:
    source = SOURCES["calls and non-ASCII"] + SOURCES["decorators and defaults"] + SOURCES["multi-line call"]
    module = cst.parse_module(source)
    index = ModuleIndex()
    index.walk(module)
    lines, _, columns, statements = statement_lines(ast.parse(source))
    code_for = CodeFor(module, lines, columns, index, source.splitlines(), statements, source)
    calls = [node for node in _nodes(module) if isinstance(node, cst.Call)]
    for call in calls:
        code_for.span(call)
    assert len(calls) == 21
    assert code_for._by_statement == {} and code_for._positions is None  # nothing was generated


def test_and_or_chains_and_generators_are_mapped_from_ast_without_generating() -> None:
    """The two kinds whose shape differs between the trees (a flat `ast.BoolOp`, a generator
    expression whose `ast` span holds parentheses) are mapped, not generated."""
    source = "".join(SOURCES[k] for k in ("and/or chains", "generators with parentheses and comments",
                                          "and/or with parentheses and comments"))
    module = cst.parse_module(source)
    index = ModuleIndex()
    index.walk(module)
    lines, _, columns, statements = statement_lines(ast.parse(source))
    code_for = CodeFor(module, lines, columns, index, source.splitlines(), statements, source)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    mapped = [node for node in _nodes(module) if isinstance(node, (cst.BooleanOperation, cst.GeneratorExp))]
    for node in mapped:
        rng = positions[node]
        assert code_for.span(node) == Span(rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1)
    assert len(mapped) == 18
    assert code_for._by_statement == {} and code_for._positions is None


def test_source_children_are_libcst_children_in_order() -> None:
    """`source_children` reads dataclass fields for speed; libcst's `children` is the reference."""
    from whowaits.facts.positions import source_children
    from whowaits.facts.scopes import child_nodes

    checked = 0
    for source in SOURCES.values():
        for node in _nodes(cst.parse_module(source)):
            mine = source_children(node)
            theirs = [child for child in node.children if any(child is m for m in mine)]
            assert [id(c) for c in mine] == [id(c) for c in theirs], type(node).__name__
            # the same children as the facts walk reads, only reordered
            assert sorted(map(id, mine)) == sorted(map(id, child_nodes(node))) or isinstance(node, cst.Slice)
            checked += 1
    assert checked > 500
