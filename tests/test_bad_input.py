"""Bad input is normal input: one WW000 per file that cannot be analysed, the rest still is."""

from __future__ import annotations

import os

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


def test_never_writes_to_scanned_files(tmp_path) -> None:
    root = _project(tmp_path)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.iterdir()}
    run([str(root)], root=str(root))
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in root.iterdir()}
    assert before == after
