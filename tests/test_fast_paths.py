"""The shortcuts the facts stage takes for speed give the answers of the long way round.

Each shortcut skips work when a cheap test proves it would find nothing: a glob table answers
for all its rows at once, a module that cannot spell a literal is not searched for it, the
child walk reads only fields that can hold nodes. A shortcut that skipped too much would lose
findings silently, so each is compared here with the plain computation.
"""

from __future__ import annotations

import ast
import sys
from typing import List

import pytest

from whowaits.facts.entrypoints import TOOL_USE, may_spell
from whowaits.facts.syntax import child_nodes
from whowaits.knowledge.patterns import GlobTable, compile_globs

ROWS = [
    ("flask.Flask().{get,post}", "verbs"),
    ("*.run_in_executor", "executor"),
    ("schedule.every().*do", "schedule"),
    ("flask.Flask().get", "get again"),
    ("gradio.*().click", "gradio"),
]
PATHS = ["flask.Flask().get", "flask.Flask().post", "flask.Flask().put", "loop.run_in_executor",
         "asyncio.get_event_loop().run_in_executor", "schedule.every().minutes.do", "gradio.Button().click",
         "gradio.click", "", "run_in_executor"]


@pytest.mark.parametrize("path", PATHS)
def test_glob_table_gives_every_matching_row_in_table_order(path: str) -> None:
    table = GlobTable(ROWS)
    expected = tuple(row for pattern, row in ROWS if compile_globs(pattern).match(path))
    assert table.matching(path) == expected
    assert table.matching(path) == expected  # remembered: the same answer again


def _literal_values(source: str) -> List[object]:
    return [node.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Constant)]


@pytest.mark.parametrize("literal", [
    '"tool_use"', "r'tool_use'", '"tool\\x5fuse"', '"\\164ool_use"', '"tool\\u005fuse"', '"tool\\U0000005fuse"',
    '"\\N{LATIN SMALL LETTER T}ool_use"', '"tool_\\\nuse"', '"tool_\\\r\nuse"', '"""tool_use"""',
])
def test_a_module_whose_literal_spells_tool_use_may_spell_it(literal: str) -> None:
    source = f"for turn in turns:\n    if turn.type == {literal}:\n        run(turn)\n"
    assert TOOL_USE in _literal_values(source)  # the case is real
    assert may_spell(source, TOOL_USE)


@pytest.mark.parametrize("source", [
    'x = "tool-use"\n', 'x = "a\\nb\\tc"\n', "# tool use\n", 'x = "tool" "_use"\n',
])
def test_a_module_that_cannot_spell_tool_use_as_one_literal_is_not_searched(source: str) -> None:
    # Implicit concatenation is one `ConcatenatedString`, which the search never counts either.
    singles = [v for v in _literal_values(source) if v == TOOL_USE]
    assert not singles or '" "' in source
    assert not may_spell(source, TOOL_USE)


def test_child_walk_reaches_every_name_call_and_literal() -> None:
    """`child_nodes` reads fields by a table per class and flattens what `ast` wraps (a call's
    keywords and starred arguments give their values, an f-string its expressions): it
    reaches the names, calls and literals `ast.walk` does, each node once, bar the text
    between an f-string's braces."""
    source = (
        "@dec(a)\nasync def f(x: int = g(1), *args, y=[k for k in ks if k], **kw) -> T:\n"
        "    async with ctx() as (a, b):\n        return await x.m(*args, key=lambda z: z + 1)\n"
        "class C(B, metaclass=M):\n    v: int = 3\n    w = {'a': 1, **rest}\n"
        "print(f'{v!r:>{w}}', 1 if t else 2, a[1:2, ...], not b, -c, (d := 5))\n"
        "try:\n    pass\nexcept (E, F) as e:\n    log(e)\n"
    )
    if sys.version_info >= (3, 10):  # CPython reads match statements from 3.10
        source += "match cmd:\n    case [x, *ys] if x > 0:\n        pass\n"
    tree = ast.parse(source)
    walked: List[ast.AST] = []
    stack: List[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        walked.append(node)
        stack.extend(child_nodes(node))
    texts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values if isinstance(v, ast.Constant)}
    wanted = (ast.Name, ast.Call, ast.Constant, ast.Lambda, ast.ListComp, ast.Attribute)
    every = {id(n) for n in ast.walk(tree) if isinstance(n, wanted) and id(n) not in texts}
    assert every == {id(n) for n in walked if isinstance(n, wanted)}
    assert len({id(n) for n in walked}) == len(walked)  # nothing reached twice


def test_string_annotations_keep_their_own_values() -> None:
    """`p: "m.T"` is parsed into a node of its own, and the evaluator's caches are keyed by
    node identity: a parsed annotation dropped after use left its identity to the next one,
    which then read the first one's value (38 of these 60 took another parameter's type)."""
    from whowaits.facts.scopes import ModuleIndex
    from whowaits.facts.values import Evaluator, Ext

    count = 60
    source = ("import " + ", ".join(f"m{i}" for i in range(count)) + "\ndef f("
              + ", ".join(f'p{i}: "m{i}.T{i}"' for i in range(count)) + "):\n    pass\n")
    tree = ast.parse(source)
    index = ModuleIndex(source.encode())
    index.walk(tree)
    evaluator = Evaluator(index.module_scope, index.calls)
    function = tree.body[1]
    assert isinstance(function, ast.FunctionDef)
    found = []
    for param in function.args.args:
        assert param.annotation is not None
        found.append(evaluator.annotation_value(param.annotation, index.module_scope))
    assert found == [Ext(f"m{i}.T{i}()") for i in range(count)]
