"""Trees built from `ast` (`facts.from_ast`) are libcst's trees, as far as whowaits reads them.

The fact passes read node classes and every field but trivia (whitespace, commas, parentheses),
and print expressions as the source did. So for tricky code written here and every fixture:
the built tree equals libcst's parse field by field (trivia skipped), the source text given for
each expression equals libcst's `code_for_node`, and the facts of the file are the same either
way. What the builder leaves to libcst raises `Unsupported`, and such files keep their facts.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Iterator, List, Optional

import libcst as cst
import pytest

import whowaits.facts as facts_stage
from whowaits.core import FileFacts
from whowaits.cst_fields import field_names
from whowaits.facts import _parse_unvalidated, extract
from whowaits.facts.from_ast import Built, TwinMismatch, Unsupported, build
from whowaits.facts.scopes import descendants

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

SOURCES = {
    "statements on one line": "a = 1; b = f(2)\nc = 3;\nd = g(4)  ;  # note\nif x: y(1); z(2)\nclass K: pass\n",
    "elif and else-if": (
        "if a(1):\n    pass\nelif b(\n    2,\n):\n    pass\nelse:\n    if c(3):\n        pass\n    elif d:\n"
        "        pass\n"
    ),
    "strings": (
        's = "a" \'b\' r"c\\d"\nt = (\n    "one"  # é\n    f"two {x!r:>{width}.{p}f} {{lit}} {y[\'k\']}"\n)\n'
        'u = rb"raw" + Rb\'x\' + u"ü"\nv = f"{a}{b!s}" f\'\'\'multi\n{c:%Y}\nline\'\'\'\n'
        'w = call("""\n    indented text\n""", key=f"{d + 1}")\nx = f"{ {1: 2}[1] }"\n'
        'y = f"{sum(1 for i in j if i)} {sum((k) for k in (m)) } {list( n for n in o )}"\n'
        'z = f"{a, b} { c, d } {(e, f)}"\n'
        'd = f"{value=} {other = !r} {n=:>{width}} {x == y} {a<=b} {call(k=1)=}"\n'
    ),
    "subscripts and slices": (
        "a[1]; a[1, 2]; a[(1, 2)]; a[1:2]; a[1:2:]; a[::3]; a[:, None]; a[x[0]:]; a['k'][(i)]\n"
        "b = m[lambda: 0, f(1)]\nc = m['a:b']\n"
    ),
    "parameters": (
        "def f(a, b=1, /, c=2, *args, d, e=3, **kw) -> int: ...\ndef g(*, a: int, b: 'T' = None): pass\n"
        "def h(a, /): pass\nl = lambda x, *y, z=1, **w: (x, y)\nm = lambda: 0\nasync def i(): pass\n"
    ),
    "parentheses around expressions": (
        "f((x))\nf(( x ), (y))\nclass A((B)): pass\nclass C(D): pass\nclass E(metaclass=M): pass\n"
        "g(x for x in y)\nh((x for x in y))\nk = (a)\nm = ((a + b) * (c))\nn = (  # why\n    v\n)\n"
        "p = (a, b)\nq = a, (b)\nif (r):\n    pass\nfor (i) in (j):\n    pass\nwhile (s): break\n"
    ),
    "calls": (
        "f(a, *b, c=1, **d)\nf(*a, b)\nf(**k, x=1)\nobj.method(a)[0].other(b=-2)(c)\n"
        "x = foo(\n    bar(\n        1,\n    ),\n    baz,\n)\n"
    ),
    "compound statements": (
        "try:\n    a()\nexcept (E, F) as e:\n    b(e)\nexcept G:\n    pass\nelse:\n    c()\nfinally:\n    d()\n"
        "for i, (j, k) in x:\n    pass\nelse:\n    pass\nwhile y:\n    pass\nelse:\n    pass\n"
        "with a as b, c() as (d, e), f:\n    pass\nwith (g as h, i):\n    pass\n"
        "async def m():\n    async for q in r:\n        await s(q)\n    async with t as u:\n        pass\n"
        "    return [v async for v in w if v]\n"
    ),
    "expressions": (
        "a = b if c else d\ne = not f and g or h and i\nj = k < l <= m == n != o > p >= q is r is not s in t not in u\n"
        "v = -w + +x * ~y / z // a % b ** c @ d << e >> f & g | h ^ i\nj += 1; k -= 1; l *= 2; m /= 2; n //= 2\n"
        "o %= 2; p **= 2; q @= r; s <<= 1; t >>= 1; u &= 1; v |= 1; w ^= 1\nx: int\ny: 'str' = 'z'\n"
        "if (n := len(a)) > 10: pass\n{**a, 'b': 1}; {1, *c}; [*d, e]; (*f, g)\n"
        "def gen():\n    x = yield\n    y = yield z\n    yield from w\n"
        "del a, b\ndel (c, d)\ndel e[0]\nglobal_x = 1\ndef h():\n    global global_x\n    def k():\n"
        "        nonlocal_y = 1\n    return ...\n"
        "n = 0x1F + 1_000 + 1.5e3 + 2j + True + None\nassert a, 'msg'\nraise E from F\n"
        "r = {k: v for k, v in x if k for v in y}\ns = {i for i in j}\n"
    ),
    "imports": (
        "import os, os.path as osp\nfrom . import a\nfrom .. import b as c\nfrom ...pkg.mod import (d, e as f)\n"
        "from x import *\nfrom __future__ import annotations\n"
    ),
    "decorators and nesting": (
        "@dec(\n    limit=3,\n)\n@other.thing\nclass C(Base, metaclass=M):\n    @property\n    def p(self):\n"
        "        if self.x:\n            return call(\n                a,\n                b,\n            )\n"
        "        elif self.y in [\n            'one',\n            'two',\n        ]:\n            pass\n"
    ),
    "line continuations": "x = 1 + \\\n    2\nif a and \\\n        b:\n    pass\ny = call(a,\n         b)\n",
    "non-ASCII and windows line endings": 'a = "héllo"; b = f(g("ü"), k=h(1))\r\nif x(é):\r\n    y(\r\n        2)\r\n',
    "comments": (
        "# top\nx = [  # open\n    1,  # one\n    # alone\n    2,\n]  # close\n"
        "foo(\n    # why\n\n    # and why\n    (x),\n    # more\n    y,\n)\n# a comment\nz = call(a)\n"
        "s = '#', ((u))\nt = [1,  # note (\n     (v)]\n"
        "w = K(  # type: ignore\n    {'type': 'e'}\n)\nq = g('#(', (  # (\n    h),\n    '''#''', (  # )\n    (k)))\n"
    ),
    "f-string expression across lines": (
        "def f(row):\n    if row:\n        text = (\n            f'head '\n            f\"\"\"\n"
        "            {row['a']['b']\n            [row['a']['c']]}\n            \"\"\"\n        )\n    return text\n"
    ),
}

if sys.version_info >= (3, 10):  # CPython reads match statements from 3.10
    SOURCES["match statements"] = (
        "match command.split():\n    case [action]:\n        pass\n    case [action, obj]:\n        f(obj)\n"
        "    case (x, y, *rest) if x > 0:\n        g(rest)\n    case a, b:\n        pass\n"
        "    case Point(x=0, y=0) | Point(1, 2):\n        pass\n    case {'k': v, **kw}:\n        h(v, kw)\n"
        "    case None | True | -1 | 1+2j | 'text' | Color.RED:\n        pass\n"
        "    case [*_, last] as whole:\n        pass\n    case (inner):\n        pass\n"
        "    case (\n        'a'\n        | 'b'\n    ) if ok(\n        inner,\n    ):\n        pass\n    case _:\n        pass\n"
        "match a, b:\n    case (1, 2) | [3, 4]:\n        pass\n"
    )

if sys.version_info >= (3, 11):  # `except*` is read from 3.11
    SOURCES["exception groups"] = (
        "try:\n    run()\nexcept* (ValueError, TypeError) as group:\n    log(group)\nexcept* OSError:\n    pass\n"
        "else:\n    done()\nfinally:\n    close()\n"
    )

UNSUPPORTED = {
    "coding cookie": "# -*- coding: latin-1 -*-\nx = 1\n",
    "lone carriage return": "x = 1\ry = 2\n",
}

# Fields that hold trivia: the builder shares one default each, libcst records the source's.
_TRIVIA = re.compile(
    r"whitespace|^(?:lpar|rpar|lbracket|rbracket|lbrace|rbrace|comma|semicolon|colon|equal|dot|leading_lines|"
    r"lines_after_decorators|header|footer|first_line|default_indent|default_newline|has_trailing_newline|"
    r"indent|newline|trailing_whitespace)$"
)


def _difference(ours: object, theirs: object, path: str = "") -> Optional[str]:
    if type(ours) is not type(theirs):
        return f"{path}: {type(ours).__name__} vs {type(theirs).__name__}"
    if isinstance(ours, cst.CSTNode):
        for name in field_names(type(ours)):
            if not _TRIVIA.search(name):
                found = _difference(getattr(ours, name), getattr(theirs, name), f"{path}.{type(ours).__name__}.{name}")
                if found:
                    return found
        return None
    if isinstance(ours, (list, tuple)):
        assert isinstance(theirs, (list, tuple))
        if len(ours) != len(theirs):
            return f"{path}: {len(ours)} items vs {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            found = _difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if ours == theirs else f"{path}: {ours!r} vs {theirs!r}"


def _fixture_sources() -> Iterator[bytes]:
    for path in sorted(FIXTURES.rglob("*.py")):
        source = path.read_bytes()
        if facts_stage.decode_problem(source) is not None:
            continue
        try:
            ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        yield source


def _built(source: bytes) -> Built:
    return build(source, ast.parse(source))


def _mismatches(source: bytes) -> List[str]:
    """Where the built tree differs from libcst's: its fields, then each expression's text."""
    built = _built(source)
    parsed = _parse_unvalidated(source)
    found = _difference(built.module, parsed)
    if found:
        return [found]
    out = []
    for node in descendants(built.module):
        text = built.text(node)
        if text is not None:
            expected = built.twin.module.code_for_node(built.twin.of(node))
            if text != expected:
                out.append(f"{type(node).__name__}: {text!r} vs {expected!r}")
    return out


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_built_tree_is_libcsts(name: str) -> None:
    assert _mismatches(SOURCES[name].encode()) == []


def test_built_trees_of_every_fixture_are_libcsts() -> None:
    checked = 0
    for source in _fixture_sources():
        try:
            mismatches = _mismatches(source)
        except Unsupported:
            continue
        assert mismatches == [], source[:200]
        checked += 1
    assert checked > 200


def test_text_covers_ordinary_expressions() -> None:
    """The source text of a plain expression comes from `ast`, not from a second parse."""
    built = _built(b"value = outer(inner(a, b), c.d)\nflag = (x  # why\n)\n# note\nrun(\n    # arg\n    (y),\n)\n"
                   b"hint = K(  # type: ignore\n    {'type': 'e'}\n)\nq = g('#(', (  # (\n    h))\n")
    texts = {built.text(node) for node in descendants(built.module)}
    assert {"outer(inner(a, b), c.d)", "inner(a, b)", "c.d", "a", "(x  # why\n)", "(y)", "{'type': 'e'}",
            "'#('", "(  # (\n    h)"} <= texts
    assert built.twin._module is None


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_what_the_builder_leaves_to_libcst(name: str) -> None:
    source = UNSUPPORTED[name].encode()
    with pytest.raises(Unsupported):
        build(source, ast.parse(source))


def _left_to_libcst(source: bytes, tree: ast.Module) -> Built:
    raise Unsupported("this test")


def _parsed_facts(source: bytes, monkeypatch: pytest.MonkeyPatch) -> FileFacts:
    """The facts of libcst's own parse of the file."""
    with monkeypatch.context() as patch:
        patch.setattr("whowaits.facts.from_ast.build", _left_to_libcst)
        return extract(source)


def test_facts_are_the_same_from_either_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    sources = [s.encode() for s in (*SOURCES.values(), *UNSUPPORTED.values())] + list(_fixture_sources())
    for source in sources:
        assert extract(source) == _parsed_facts(source, monkeypatch), source[:200]
    assert len(sources) > 200


def test_a_tree_that_differs_from_libcsts_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pairing a built tree with libcst's parse checks every node's class and children: when
    a pass needs libcst's tree (here to print a poll loop's sleep) and they differ, the file's
    facts come from libcst's tree."""
    source = b"import time\nwhile True:\n    time.sleep(5)\n"
    other = b"import time\nimport os\nwhile True:\n    time.sleep(5)\n"

    def wrong(data: bytes, tree: ast.Module) -> Built:
        return Built(_built(other).module, _built(source)._builder)

    with pytest.raises(TwinMismatch):
        wrong(source, ast.parse(source)).twin.module
    expected = _parsed_facts(source, monkeypatch)
    assert expected != _parsed_facts(other, monkeypatch)
    monkeypatch.setattr("whowaits.facts.from_ast.build", wrong)
    monkeypatch.setattr("whowaits.facts.from_ast._Builder.text", lambda self, node: None)
    assert extract(source) == expected


def test_the_scanned_codes_own_syntax_warnings_are_not_printed() -> None:
    """CPython warns about an invalid escape (`"\\{"`) while it parses (a SyntaxWarning from
    3.12, a DeprecationWarning before): that is about the scanned code, not whowaits' output."""
    import warnings

    source = b'import re\nP = re.compile("\\{x\\}")\nq = f"\\{P}"\n'
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert extract(source).error is None
    assert [str(w.message) for w in seen] == []


def test_spans_the_builder_gives_are_libcsts() -> None:
    """String pieces, f-strings and the expressions inside them are not paired with `ast` by
    `positions`; the builder knows their bytes, and their spans are libcst's positions."""
    from libcst.metadata import MetadataWrapper, PositionProvider

    from whowaits.core import Span
    from whowaits.facts.positions import CodeFor

    compared = 0
    for source in [s.encode() for s in SOURCES.values()] + list(_fixture_sources()):
        try:
            built = _built(source)
        except Unsupported:
            continue
        nodes = [node for node in descendants(built.module) if built.span(node) is not None]
        if not nodes:
            continue
        positions = MetadataWrapper(built.twin.module, unsafe_skip_copy=True).resolve(PositionProvider)
        code_for = CodeFor(built.module, text=source.decode("utf-8", "replace"), built=built)
        for node in nodes:
            where = positions[built.twin.of(node)]
            expected = Span(where.start.line, where.start.column + 1, where.end.line, where.end.column + 1)
            assert code_for.span(node) == expected, (type(node).__name__, built.code(node))
            compared += 1
    assert compared > 150
