"""Suppression comments: `# noqa`, `# noqa: WW101`, `# whowaits: ignore[WW101] -- reason`,
`# whowaits: ignore-file`; unused ones become WW901; `--add-noqa` writes them.

A suppression on any line of the reported expression (or of the call it belongs to) silences
the finding, so a multi-line call can carry its comment where the formatter leaves room.
"""

from __future__ import annotations

import io
import os
import re
import tokenize
from collections import defaultdict
from typing import Dict, Iterable, List, Sequence, Set, Tuple

from whowaits.checks import Hit, selected
from whowaits.core import Finding, Span, SuppressionFact
from whowaits.writes import WriteError, replace_files

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*))?", re.IGNORECASE)
_IGNORE = re.compile(r"#\s*whowaits:\s*ignore(?P<file>-file)?(?:\[(?P<codes>[^\]]*)\])?(?:\s*--\s*(?P<reason>.*))?")
_CODE = re.compile(r"[A-Za-z]+[0-9]+")
OWN_PREFIX = "WW"  # the built-in rules' codes; policy rules use their own prefixes


def comments(text: str) -> List[Tuple[int, int, str]]:
    """(line, column, text) of every comment, where the tokenizer finds them (a `#` in a string
    is not one: `lexical.comments`); on a line of a file whose strings do not end, its first `#`."""
    from whowaits.facts.lexical import comments as found_in

    source = text.encode("utf-8", "surrogatepass")
    found = found_in(source)
    if found is None:
        return [(n, line.index("#") + 1, line[line.index("#"):]) for n, line in enumerate(text.splitlines(), 1) if "#" in line]
    out = []
    for line, start, end in found:
        line_start = source.rfind(b"\n", 0, start) + 1
        column = len(source[line_start:start].decode("utf-8", "surrogatepass")) + 1
        out.append((line, column, source[start:end].decode("utf-8", "surrogatepass")))
    return out


def parse_suppressions(text: str) -> Tuple[SuppressionFact, ...]:
    if "noqa" not in text.lower() and "whowaits:" not in text:
        return ()
    out = []
    for line, col, comment in comments(text):
        ignore = _IGNORE.search(comment)
        if ignore is not None:
            codes = tuple(c.upper() for c in _CODE.findall(ignore.group("codes") or ""))
            kind = "ignore-file" if ignore.group("file") else "ignore"
            out.append(SuppressionFact(line, col, kind, codes, (ignore.group("reason") or "").strip()))
            continue
        noqa = _NOQA.search(comment)
        if noqa is not None:
            codes = tuple(c.upper() for c in _CODE.findall(noqa.group("codes") or ""))
            out.append(SuppressionFact(line, col, "noqa", codes, ""))
    return tuple(out)


def apply(
    hits: Sequence[Hit],
    suppressions: Dict[str, Tuple[SuppressionFact, ...]],
    known_codes: Iterable[str],
    select: Sequence[str],
    ignore: Sequence[str],
) -> Tuple[List[Hit], Dict[Hit, SuppressionFact]]:
    """The hits no comment suppresses, plus a WW901 hit for each unused suppression; and the
    suppressed hits with the comment that silenced each (SARIF reports them as suppressed)."""
    used: Dict[Tuple[str, int], Set[str]] = defaultdict(set)
    kept: List[Hit] = []
    silenced: Dict[Hit, SuppressionFact] = {}
    for hit in hits:
        own, extent = _lines(hit)
        matched = None
        # The comment on the finding's own lines first, then the rest of its call, then the file.
        for tier in (own, extent, None):
            for sup in suppressions.get(hit.path, ()):
                covers = sup.kind == "ignore-file" if tier is None else (sup.kind != "ignore-file" and sup.line in tier)
                if covers and (not sup.codes or any(hit.code.startswith(c) for c in sup.codes)):
                    matched = sup
                    break
            if matched is not None:
                break
        if matched is None:
            kept.append(hit)
        else:
            used[(hit.path, matched.line)].add(hit.code)
            silenced[hit] = matched
    if not selected("WW901", select, ignore):
        return kept, silenced
    known = set(known_codes)
    for path, sups in sorted(suppressions.items()):
        for sup in sups:
            fired = used.get((path, sup.line), set())
            span = Span(sup.line, sup.col, sup.line, sup.col)
            unknown = _unknown_codes(sup, known)
            if unknown:
                kept.append(Hit(
                    "WW901", path, span,
                    f"invalid suppression: {', '.join(unknown)} {'is not a rule code' if len(unknown) == 1 else 'are not rule codes'}"
                    " (see `whowaits rule`); it silences nothing: fix the code or remove it",
                    f"{sup.kind}|unknown|{','.join(unknown)}",
                ))
            if not sup.codes:
                if not fired and sup.kind != "noqa":  # a bare noqa may belong to another linter
                    what = "`# whowaits: ignore-file`" if sup.kind == "ignore-file" else "`# whowaits: ignore`"
                    kept.append(Hit("WW901", path, span, f"unused suppression: {what} silences nothing here; remove it", f"{sup.kind}|all"))
                continue
            stale = [c for c in sup.codes if c in known and selected(c, select, ignore) and not any(f.startswith(c) for f in fired)]
            if stale:
                kept.append(
                    Hit(
                        "WW901", path, span,
                        f"unused suppression: {', '.join(stale)} did not fire here; remove "
                        f"{'it' if len(stale) == 1 else 'them'} from the comment",
                        f"{sup.kind}|{','.join(stale)}",
                    )
                )
    return kept, silenced


def _unknown_codes(sup: SuppressionFact, known: Set[str]) -> List[str]:
    """Codes of a suppression that name no rule: a typo (`# noqa: WW999`) silences nothing.

    In `# whowaits: ignore[...]` every code is ours; a `# noqa` is shared with other linters
    (`# noqa: E501, WW302`), so only codes in whowaits' own `WW` namespace count there.
    """
    return [
        code for code in sup.codes
        if (sup.kind != "noqa" or code.startswith(OWN_PREFIX)) and not any(k.startswith(code) for k in known)
    ]


def _lines(hit: Hit) -> Tuple[Set[int], Set[int]]:
    """The lines of the finding itself, and the other lines of the call it belongs to."""
    own = set(range(hit.span.line, hit.span.end_line + 1))
    extent = set(range(hit.extent.line, hit.extent.end_line + 1)) - own if hit.extent is not None else set()
    return own, extent


# -- --add-noqa ---------------------------------------------------------------------------------


class NoqaError(Exception):
    """A file `--add-noqa` cannot edit; nothing was written."""


def add_noqa(root: str, findings: Sequence[Finding]) -> Tuple[int, List[str]]:
    """Write `# noqa: CODE` for each finding: (lines changed, findings left without a comment).

    Every file's new text is computed first, in the file's own encoding (PEP 263); only when
    all succeed is each written, atomically, so a failure never leaves a half-edited tree. A
    comment goes on the first line of the reported expression whose end is not inside a
    string, where it suppresses the finding; with no such line the finding is listed instead.
    """
    by_file: Dict[str, Dict[Tuple[int, int], Set[str]]] = defaultdict(lambda: defaultdict(set))
    for f in findings:
        if f.code in ("WW000", "WW901") or not f.path.endswith(".py"):
            continue
        by_file[f.path][(f.line, f.col)].add(f.code)
    edits: Dict[str, bytes] = {}
    unplaced: List[str] = []
    changed = 0
    for path, places in sorted(by_file.items()):
        full = os.path.join(root, path)
        try:
            with open(full, "rb") as fh:
                data = fh.read()
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            text = data.decode(encoding)
        except (OSError, SyntaxError, LookupError, UnicodeDecodeError) as exc:
            raise NoqaError(f"{path}: cannot edit ({exc}); no file was changed") from exc
        tokens = _tokens(text)
        safe = _commentable_lines(text, tokens)
        physical = text.splitlines(keepends=True)
        targets: Dict[int, Set[str]] = defaultdict(set)
        for (line, col), codes in sorted(places.items()):
            last = _expression_end(tokens, line, col)
            target = next((n for n in range(line, last + 1) if n in safe and n <= len(physical)), None)
            if target is None:
                unplaced.extend(f"{path}:{line}: {code}" for code in sorted(codes))
                continue
            targets[target].update(codes)
        for line, codes in targets.items():
            original = physical[line - 1]
            body = original.rstrip("\r\n")
            ending = original[len(body):]
            physical[line - 1] = _with_codes(body, sorted(codes)) + ending
            changed += physical[line - 1] != original
        new = "".join(physical)
        if new != text:
            try:
                edits[path] = new.encode(encoding)
            except UnicodeEncodeError as exc:
                raise NoqaError(f"{path}: cannot write the comment in {encoding}; no file was changed") from exc
    try:
        replace_files(root, edits)
    except WriteError as exc:
        raise NoqaError(str(exc)) from exc
    return changed, unplaced


def _tokens(text: str) -> List[tokenize.TokenInfo]:
    """The file's tokens, as far as the tokenizer gets."""
    out: List[tokenize.TokenInfo] = []
    try:
        out.extend(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def _expression_end(tokens: Sequence[tokenize.TokenInfo], line: int, col: int) -> int:
    """The last line of the expression starting at (line, col): a string token, or a name chain
    up to its first call's closing bracket, never past the end of the statement."""
    depth = 0
    for tok in tokens:
        if tok.start < (line, col - 1):
            continue
        if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            return tok.start[0]
        if depth == 0 and tok.type == tokenize.STRING:
            return tok.end[0]
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
            if depth <= 0:
                return tok.end[0]
    return line


def _with_codes(line: str, codes: List[str]) -> str:
    existing = _NOQA.search(line)
    if existing is not None and existing.group("codes"):
        merged = sorted(set(_CODE.findall(existing.group("codes"))) | set(codes))
        return line[: existing.start()] + "# noqa: " + ", ".join(merged) + line[existing.end():]
    return line + "  # noqa: " + ", ".join(codes)


def _commentable_lines(text: str, tokens: Sequence[tokenize.TokenInfo]) -> Set[int]:
    """Lines whose end is not inside a string and not a backslash continuation."""
    inside: Set[int] = set()
    for tok in tokens:
        if tok.type == tokenize.STRING and tok.start[0] != tok.end[0]:
            inside.update(range(tok.start[0], tok.end[0]))
    lines = text.splitlines()
    return {n for n, line in enumerate(lines, 1) if n not in inside and not line.rstrip().endswith("\\")}
