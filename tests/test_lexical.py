"""Comments are found where the tokenizer finds them (`facts.lexical`, read by `suppress`).

Suppression comments (`# noqa: WW101`) are read by skipping each string token whole instead
of tokenizing the file; a `#` in a string must not count, a comment after one must. The
tokenizer is the reference: every snippet here is compared with it.
"""

from __future__ import annotations

import io
import sys
import tokenize
from typing import List, Tuple

import pytest

from whowaits.facts.lexical import comments as comment_offsets
from whowaits.suppress import comments, parse_suppressions

SNIPPETS = {
    "hash in strings": "a = '#', \"#\"  # noqa: WW101\nb = '''\n# not a comment\n'''  # real\n",
    "prefixes": "c = rb'#' + Rb\"#\" + f'{x}#' + u'#'  # after\nd = br'\\'#'  # one\n",
    "a name before a quote": "if'#'in x: pass  # tail\nx = r\"#\"if y else'#'  # last\n",
    "escapes and continuations": "e = 'it\\'s # in' # out\nf = 'line \\\n# still in' # out too\n",
    "triple quotes holding quotes": 's = """ "# \'\'\' # """  # c1\nt = \'\'\'\n"""#\n\'\'\'  # c2\n',
    "f-strings": "g = f\"{a['#']}#{b!r:>{w}}\"  # c\nh = f'''{\n1 + 1}#'''  # d\n",
    "non-ASCII before the comment": "é = 'ü#'  # noqa: WW201 — déjà\n",
    "windows line endings": "a = 1  # one\r\nb = '#'  # two\r\n",
    "comment-only lines and a last line without a break": "# top\n\n    # indented\nx = 1 # end",
    "no comment": "x = '#'\n",
}


def _tokenizer(text: str) -> List[Tuple[int, int, str]]:
    return [(tok.start[0], tok.start[1] + 1, tok.string)
            for tok in tokenize.generate_tokens(io.StringIO(text).readline) if tok.type == tokenize.COMMENT]


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_comments_are_the_tokenizers(name: str) -> None:
    text = SNIPPETS[name]
    assert comments(text) == _tokenizer(text)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="f-strings nest the same quotes from Python 3.12")
def test_nested_quotes_in_an_f_string_do_not_end_it() -> None:
    text = 'x = f"{d["#"]}#{e[\'#\']}"  # real\n'
    assert comments(text) == _tokenizer(text) == [(1, 27, "# real")]


def test_a_string_that_does_not_end_falls_back_to_each_lines_first_hash() -> None:
    """The tokenizer fails on such a file too; whowaits then reads the first `#` of each line."""
    text = "x = '# open\ny = 1  # noqa\n"
    assert comment_offsets(text.encode()) is None
    assert comments(text) == [(1, 6, "# open"), (2, 8, "# noqa")]


def test_suppressions_are_read_from_comments_only() -> None:
    text = "a = '# noqa'\nb = call('#')  # noqa: WW101\nc = '''\n# whowaits: ignore\n'''\n"
    assert [(s.line, s.kind, s.codes) for s in parse_suppressions(text)] == [(2, "noqa", ("WW101",))]
