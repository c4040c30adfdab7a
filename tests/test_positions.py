"""The spans and source texts the facts print are libcst's, for every expression `ast` has.

The facts stage reads CPython's `ast`; what it prints (spans in the facts, the text of a
receiver or an argument) was fixed when the passes read libcst trees: libcst's positions, and
its `code_for_node`, which keeps a node's own parentheses and drops its statement's
indentation from continuation lines (not inside strings, nor after a line continuation). For
tricky code written here and every fixture, each `ast` expression is matched with the libcst
node of the same class and position, and its span and text must be libcst's.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

import whowaits.facts as facts_stage
from whowaits.core import Span
from whowaits.facts import extract
from whowaits.facts.positions import CodeFor
from whowaits.facts.scopes import ModuleIndex
from whowaits.facts.syntax import COMPOUND_STATEMENTS, descendants, subscript_elements

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
    SOURCES["match with mapping and class patterns"] = "match cmd(1):\n    case {'k': v, **rest}:\n        act(v)\n    case Point(x=0) as pt:\n        act(pt)\n"
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

SPAN_SOURCES = {
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
    "multi-line call": "result = client.messages.create(\n    model=MODEL,  # é comment\n    messages=[{'role': 'user'}],\n)\n",
    "windows line endings": "a = f(1)\r\nif g(2):\r\n    h(é, 3)\r\n",
    "form feed": "a = f(1)\n\x0c\nb = g(2)\n",
}

SOURCES["coding cookie"] = "# -*- coding: latin-1 -*-\nx = f('caf\xe9', g(1))\n"
SOURCES["lone carriage return"] = "x = f(1)\ry = g(\r  2)\n"
SOURCES["byte order mark"] = "\ufeffx = f(1)\n"

# The libcst classes an `ast` expression may be; a literal's depends on its value.
_KINDS: Dict[type, Tuple[type, ...]] = {
    ast.Call: (cst.Call,), ast.Compare: (cst.Comparison,), ast.Attribute: (cst.Attribute,),
    ast.Subscript: (cst.Subscript,), ast.ListComp: (cst.ListComp,), ast.SetComp: (cst.SetComp,),
    ast.DictComp: (cst.DictComp,), ast.Lambda: (cst.Lambda,), ast.UnaryOp: (cst.UnaryOperation,),
    ast.BinOp: (cst.BinaryOperation,), ast.IfExp: (cst.IfExp,), ast.Await: (cst.Await,), ast.Dict: (cst.Dict,),
    ast.List: (cst.List,), ast.Name: (cst.Name,), ast.BoolOp: (cst.BooleanOperation,),
    ast.GeneratorExp: (cst.GeneratorExp,), ast.Tuple: (cst.Tuple,), ast.Set: (cst.Set,),
    ast.NamedExpr: (cst.NamedExpr,), ast.Yield: (cst.Yield,), ast.YieldFrom: (cst.Yield,),
    ast.JoinedStr: (cst.FormattedString, cst.ConcatenatedString),
}
_CONSTANTS: Dict[type, Tuple[type, ...]] = {
    str: (cst.SimpleString, cst.ConcatenatedString), bytes: (cst.SimpleString, cst.ConcatenatedString),
    int: (cst.Integer,), float: (cst.Float,), complex: (cst.Imaginary,), bool: (cst.Name,), type(None): (cst.Name,),
}


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


def _compare(source: bytes) -> Tuple[int, List[str]]:
    """(expressions compared, mismatches) of one file."""
    tree = ast.parse(source)
    module = cst.parse_module(source)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    theirs: Dict[Tuple[Span, type], List[cst.CSTNode]] = {}
    for node, where in positions.items():
        span = Span(where.start.line, where.start.column + 1, where.end.line, where.end.column + 1)
        theirs.setdefault((span, type(node)), []).append(node)
    index = ModuleIndex(facts_stage._decoded(source).encode("utf-8"))
    index.walk(tree)
    code_for = CodeFor(index, facts_stage._decoded(source))
    # `a[1, 2]`: a tuple to `ast`, two elements of the subscript to libcst.
    unshaped = {id(n.slice) for n in ast.walk(tree) if isinstance(n, ast.Subscript) and len(subscript_elements(n)) > 1}
    compared, mismatches = 0, []
    for node in descendants(tree):
        if id(node) in unshaped:
            continue
        kinds = _CONSTANTS.get(type(node.value), ()) if isinstance(node, ast.Constant) else _KINDS.get(type(node), ())
        if not kinds:
            continue
        span = code_for.span(node)
        found = [match for kind in kinds for match in theirs.get((span, kind), [])]
        if not found:
            mismatches.append(f"{type(node).__name__} at {span}: no libcst node there")
            continue
        text = code_for.code(node)
        if text not in {module.code_for_node(match) for match in found}:
            mismatches.append(f"{type(node).__name__}: {text!r} vs {module.code_for_node(found[0])!r}")
        compared += 1
    return compared, mismatches


@pytest.mark.parametrize("name", sorted({**SOURCES, **SPAN_SOURCES}))
def test_spans_and_texts_are_libcsts(name: str) -> None:
    _, mismatches = _compare({**SOURCES, **SPAN_SOURCES}[name].encode())
    assert mismatches == []


def test_spans_and_texts_of_every_fixture_are_libcsts() -> None:
    checked = 0
    for source in _fixture_sources():
        compared, mismatches = _compare(source)
        assert mismatches == [], source[:200]
        checked += compared
    assert checked > 10_000


def test_compound_statements_are_cited_where_they_start() -> None:
    source = "if a:\n    pass\nelif b:\n    pass\nfor i in x:  # é\n    é = 1\n"
    tree = ast.parse(source)
    index = ModuleIndex(source.encode())
    index.walk(tree)
    code_for = CodeFor(index, source)
    starts = [code_for.span(n) for n in ast.walk(tree) if type(n) in COMPOUND_STATEMENTS]
    assert sorted(starts, key=lambda s: s.line) == [Span(1, 1, 1, 1), Span(3, 1, 3, 1), Span(5, 1, 5, 1)]


def test_the_scanned_codes_own_syntax_warnings_are_not_printed() -> None:
    """CPython warns about an invalid escape (`"\\{"`) while it parses (a SyntaxWarning from
    3.12, a DeprecationWarning before): that is about the scanned code, not whowaits' output."""
    import warnings

    source = b'import re\nP = re.compile("\\{x\\}")\nq = f"\\{P}"\n'
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert extract(source).error is None
    assert [str(w.message) for w in seen] == []
