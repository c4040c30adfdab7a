"""`Located` works out positions and parents one top-level statement at a time, and the text
of a rewritten module from the statements it kept. Each answer must be libcst's whole-module
one: the same nodes at each position, the same parents, the same code."""

from __future__ import annotations

import os
from typing import List, Tuple

import libcst as cst
import pytest
from conftest import FIXTURES
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

from whowaits.fixes.cst_edit import Located, parse

# Shapes that move lines or columns: header comments, decorators, `;`, a continued line, a
# string over several lines, nested blocks, a footer comment, CRLF, a lone CR, a BOM, a form
# feed, tabs, no trailing newline.
EDGE_CASES = [
    b"# header\n\n'''doc'''\nimport os\n",
    b"@decorate\n# between\n@decorate(1)\ndef f(a, b=2):\n    return g(a)\n\nx = 1; y = f(x)  # c\n",
    b"total = 1 + \\\n    2\ntext = '''one\ntwo'''\nprint(text)\n",
    b"class C:\n    def m(self):\n        for r in rows:\n            if r.result.type == 'error':\n                pass\n        # tail\n",
    b"def f():\n    return 1\n# footer\n",
    b"import os\r\n\r\ndef f():\r\n    return os.sep\r\n",
    b"a = 1\rb = call(a)\r",
    b"\xef\xbb\xbfx = call('\xc3\xa9')\n",
    b"x = 1\n\x0c\ny = call(x)\n",
    b"if x:\n\ty = call(1)\n\tz = 2\n",
    b"x = call(1,\n         2)",
    b"for r in rows:\n    print(r)  # no newline at the end",
    b"x = 1\r\ny = call(x)",
    b"# only a comment",
    b"",
]


def _fixture_sources() -> List[Tuple[str, bytes]]:
    out = []
    for folder in ("fixes", "migrations"):
        for path, _, names in sorted(os.walk(os.path.join(FIXTURES, folder))):
            for name in sorted(names):
                if name.endswith(".py"):
                    with open(os.path.join(path, name), "rb") as fh:
                        out.append((os.path.relpath(os.path.join(path, name), FIXTURES), fh.read()))
    return out


SOURCES = [(f"edge case {i}", data) for i, data in enumerate(EDGE_CASES)] + _fixture_sources()


def _whole(module: cst.Module):
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    return wrapper.resolve(PositionProvider), wrapper.resolve(ParentNodeProvider)


def _comment_lines(module: cst.Module) -> set:
    """The nodes of the module's header and footer: blank and comment lines, where no finding is."""
    nodes = set()
    stack: List[cst.CSTNode] = list(module.header) + list(module.footer)
    while stack:
        node = stack.pop()
        nodes.add(node)
        stack.extend(node.children)
    return nodes


@pytest.mark.parametrize("name,data", SOURCES, ids=[name for name, _ in SOURCES])
def test_positions_parents_and_text_are_libcsts(name: str, data: bytes) -> None:
    module = parse(data)
    assert module is not None
    positions, parents = _whole(module)
    loc = Located(module)
    assert loc.text == module.code
    skipped = _comment_lines(module) | {module}
    starts = sorted({(r.start.line, r.start.column + 1) for n, r in positions.items() if n not in skipped})
    for line, col in starts:
        expected = [n for n, r in positions.items() if n not in skipped and (r.start.line, r.start.column + 1) == (line, col)]
        assert list(loc.starting_at(line, col)) == expected, (line, col)
        for node in expected:
            assert loc.parent(node) is parents[node]
            assert list(loc.ancestors(node))[-1] is module
        widest = max(expected, key=lambda n: (positions[n].end.line, positions[n].end.column))
        assert loc.at(line, col, type(widest)) is not None
    assert "positions" not in loc.__dict__ and "parents" not in loc.__dict__, "the whole module's metadata was resolved"


@pytest.mark.parametrize("name,data", SOURCES, ids=[name for name, _ in SOURCES])
def test_replace_and_code_of_give_libcsts_code(name: str, data: bytes) -> None:
    """Replacing a node anywhere gives the code libcst's `deep_replace` on the module gives."""
    module = parse(data)
    assert module is not None
    positions, _ = _whole(module)
    loc = Located(module)
    names = [n for n in positions if isinstance(n, cst.Name)]
    calls = [n for n in positions if isinstance(n, cst.Call)]
    for old in names[:3] + names[-3:] + calls[:1] + calls[-1:] + list(module.body[-1:]):
        new = (cst.Name("renamed") if isinstance(old, cst.Name) else cst.Call(cst.Name("other")) if isinstance(old, cst.Call)
               else cst.parse_statement("pass\n"))
        next(loc.starting_at(positions[old].start.line, positions[old].start.column + 1))  # locate its statement
        assert loc.code_of(loc.replace(old, new)) == module.deep_replace(old, new).code
    if module.body:
        added = module.with_changes(body=(cst.parse_statement("import sys\n"),) + tuple(module.body))
        assert loc.code_of(added) == added.code
    assert loc.code_of(module) == module.code


def test_fresh_name_reads_names_not_text() -> None:
    """A name only in a string or a comment is free; a name the code uses is not."""
    loc = Located(parse(b"index = 1  # failed_ids\nprint('item', index_2)\n"))  # type: ignore[arg-type]
    assert loc.fresh_name("failed_ids") == "failed_ids"
    assert loc.fresh_name("item") == "item"
    assert loc.fresh_name("index") == "index_3"
    assert loc.fresh_name("class") == "class_2"
