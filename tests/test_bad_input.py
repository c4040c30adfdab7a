"""Bad input is normal input: one WW000 per file that cannot be analysed, the rest still is."""

from __future__ import annotations

import os
import sys

import pytest

from conftest import run
from whowaits.facts import MAX_FILE_BYTES, extract

GOOD = b"import anthropic\nclient = anthropic.Anthropic()\nclient.messages.create(model='m', max_tokens=1, messages=[])\n"


def _project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "good.py").write_bytes(GOOD)
    return tmp_path


def _problems(result):
    return {(f.path, f.message) for f in result.findings if f.code == "WW000"}


def test_broken_symlink_is_reported_and_the_rest_analysed(tmp_path) -> None:
    root = _project(tmp_path)
    os.symlink(root / "missing.py", root / "dangling.py")
    result = run([str(root)], root=str(root))
    assert _problems(result) == {("dangling.py", "file not analyzed: broken symlink")}
    assert [s.path for s in result.sites] == ["good.py"]


def test_fifo_is_not_read(tmp_path) -> None:
    root = _project(tmp_path)
    os.mkfifo(root / "pipe.py")
    result = run([str(root)], root=str(root))
    assert _problems(result) == {("pipe.py", "file not analyzed: not a regular file")}
    assert len(result.sites) == 1


def test_deeply_nested_file(tmp_path) -> None:
    root = _project(tmp_path)
    (root / "deep.py").write_text("import anthropic\nx = " + "(" * 5000 + "1" + ")" * 5000 + "\n")
    result = run([str(root)], root=str(root))
    [(path, message)] = _problems(result)
    assert path == "deep.py" and message.startswith("file not analyzed:")
    assert len(result.sites) == 1


def test_huge_file(tmp_path) -> None:
    root = _project(tmp_path)
    (root / "huge.py").write_bytes(b"import anthropic\n" + b"#" * (MAX_FILE_BYTES + 1))
    result = run([str(root)], root=str(root))
    assert _problems(result) == {("huge.py", "file not analyzed: file is larger than 5 MB")}


def test_extract_reasons() -> None:
    assert extract(b"import anthropic\x00").error == "file contains NUL bytes"
    assert extract(b"import anthropic\n# \xe9\n").error == "not valid utf-8 (line 2)"
    assert extract(b"# coding: klingon\nimport anthropic\n").error == "unknown source encoding 'klingon'"
    broken = extract(b"import anthropic\ndef f(:\n")
    assert broken.error == "syntax error at line 2, column 7: invalid syntax" and (broken.error_line, broken.error_col) == (2, 7)
    assert extract(GOOD).error is None


def test_token_count_is_the_token_regex_count() -> None:
    """The token bound counts by byte class; it must count what the regex it stands for
    matches, on every byte class and boundary (word runs at the start, after white space, after
    other bytes; non-ASCII and control bytes are tokens of their own)."""
    import random
    import re

    from whowaits.facts import _token_count

    regex = re.compile(rb"[A-Za-z_0-9]+|[^\s\w]")
    alphabet = b"aZ_9 \t\n\r\x0b\x0c.(\x80\xe9\xff\x00\x1f\x7f"
    rnd = random.Random(7)
    samples = [b"", b"w", b" w", b"..", GOOD, bytes(range(256))]
    samples += [bytes(rnd.choice(alphabet) for _ in range(rnd.randint(1, 40))) for _ in range(3000)]
    for sample in samples:
        assert _token_count(sample) == len(regex.findall(sample)), sample


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="needs syntax newer than the running Python")
def test_newer_syntax_is_a_warning_not_a_syntax_error(tmp_path) -> None:
    """A file of a later Python (`type X = ...` under 3.11) is valid code out of this parser's
    reach: WW000 says to run whowaits under the project's Python; a real syntax error is WW001."""
    root = _project(tmp_path)
    (root / "newer.py").write_text("import anthropic\ntype Rows = list[str]\n")
    (root / "broken.py").write_text("import anthropic\ndef f(:\n")
    result = run([str(root)], root=str(root))
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert sorted((f.code, f.path, f.severity) for f in result.findings) == [
        ("WW000", "newer.py", "warning"), ("WW001", "broken.py", "error")]
    [newer] = [f for f in result.findings if f.code == "WW000"]
    assert f"written for a newer Python than the {running} whowaits runs on" in newer.message


def test_never_writes_to_scanned_files(tmp_path) -> None:
    root = _project(tmp_path)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.iterdir()}
    run([str(root)], root=str(root))
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.iterdir()}
    assert before == after


def _depth(node, level: int = 1) -> int:
    """The exact number of levels of an `ast` tree, iteratively."""
    import ast

    deepest, stack = 0, [(node, level)]
    while stack:
        item, at = stack.pop()
        deepest = max(deepest, at)
        stack.extend((child, at + 1) for child in ast.iter_child_nodes(item))
        stack.extend((ctx, at + 1) for ctx in [getattr(item, "ctx", None)] if ctx is not None)
    return deepest


@pytest.mark.parametrize("shape", [
    "x = 1{}\n", "x = f'{{a{}}}'\n", "x = a{}\n", "if a:\n    pass\n{}", "x = 0{}\n", "x = [*b{}]\n",
    "def f():\n    return {{'k': g(h{})}}\n", "y = {}1\n",
])
@pytest.mark.parametrize("count", [1000, 1993, 3995, 4005, 6000])
def test_depth_gate_agrees_with_an_exact_walk(shape: str, count: int) -> None:
    """The gate skips expressions shorter than the levels left; it must give the exact walk's
    answer on chains just under and over the limit, in every nesting kind."""
    import ast

    from whowaits.facts import MAX_NESTING, _too_deep

    piece = {"x = 1{}\n": "+1", "x = f'{{a{}}}'\n": "+a", "x = a{}\n": ".b", "if a:\n    pass\n{}": "elif a:\n    pass\n",
             "x = 0{}\n": "[0]", "x = [*b{}]\n": "()", "def f():\n    return {{'k': g(h{})}}\n": "-h", "y = {}1\n": "-"}[shape]
    import sys
    import threading

    from whowaits.facts import _RECURSION_LIMIT, _STACK_BYTES

    source = ("import anthropic\n" + shape.format(piece * count)).encode()
    answers: list = []

    def check() -> None:  # as the facts stage runs: a large stack and recursion limit
        try:
            tree = ast.parse(source)
        except (RecursionError, MemoryError):
            return  # CPython refuses it: the gate never sees it
        deep = _depth(tree) > MAX_NESTING
        answers.extend([deep, _too_deep(tree, source), _too_deep(ast.parse(source.replace(b"\n", b"\r")), source.replace(b"\n", b"\r"))])

    old_stack, old_limit = threading.stack_size(_STACK_BYTES), sys.getrecursionlimit()
    sys.setrecursionlimit(_RECURSION_LIMIT)
    try:
        worker = threading.Thread(target=check)
        worker.start()
        worker.join()
    finally:
        threading.stack_size(old_stack)
        sys.setrecursionlimit(old_limit)
    if not answers:
        pytest.skip("CPython refuses this depth before the gate")
    deep, gate, unmeasured = answers
    assert gate == deep and unmeasured == deep
    if count in (1000, 6000):  # the chains under test do reach both sides of the limit
        assert deep == (count == 6000)


def test_a_long_and_chain_costs_its_length(monkeypatch) -> None:
    """The batch interpreter reads `a and b and c` as `(a and b) and c`; a hostile chain of
    thousands of operands is read one operand at a time, not once per prefix (1,500 took half
    a minute that way)."""
    from whowaits.facts import batchflow

    calls = []
    condition = batchflow._Run._condition

    def counted(self, node, state):
        calls.append(node)
        return condition(self, node, state)

    monkeypatch.setattr(batchflow._Run, "_condition", counted)
    count = 1500
    source = (
        "import anthropic\nclient = anthropic.Anthropic()\ndef f(bid):\n"
        "    b = client.messages.batches.retrieve(bid)\n"
        f"    if {' and '.join(f'b.x{i}' for i in range(count))}:\n"
        "        client.messages.batches.results(bid)\n"
    ).encode()
    assert extract(source).error is None
    assert count < len(calls) < 3 * count


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_the_facts_thread_answers_each_caller_and_each_process() -> None:
    """`extract` hands files to one kept thread per process: callers on several threads each
    get their own file's facts, and a forked child (which has no copy of the thread) starts
    its own rather than waiting on its parent's."""
    from concurrent.futures import ThreadPoolExecutor

    sources = [GOOD.replace(b"client.messages", b"\n" * i + b"client.messages") for i in range(8)]
    expected = [extract(source) for source in sources]
    assert [f.calls[0].span.line for f in expected] == list(range(3, 11))
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(extract, sources * 3)) == expected * 3
    child = os.fork()
    if child == 0:  # pragma: no cover (the child's exit status is the assertion)
        import signal

        signal.alarm(20)  # waiting on the parent's thread would hang: die instead
        os._exit(0 if extract(sources[5]) == expected[5] else 1)
    assert os.waitpid(child, 0)[1] == 0
