"""`whowaits audit` as a terminal table: every call site, its operation, context and findings."""

from __future__ import annotations

from collections import Counter
from typing import Dict, List

from whowaits.pipeline import RunResult


def render_table(result: RunResult) -> str:
    codes: Dict[tuple, List[str]] = {}
    for f in result.findings:
        codes.setdefault((f.path, f.line), []).append(f.code)
    header = ("LOCATION", "PROVIDER", "OPERATION", "METHOD", "FUNCTION", "VERDICT", "FINDINGS")
    rows = [header]
    for s in result.sites:
        rows.append(
            (
                f"{s.path}:{s.line}:{s.col}",
                s.op.provider,
                s.op.kind,
                s.op.method,
                s.call.function,
                s.verdict,
                ",".join(sorted(set(codes.get((s.path, s.line), [])))) or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    by_op = Counter(s.op.kind for s in result.sites)
    by_verdict = Counter(s.verdict for s in result.sites)
    lines.append(
        f"{len(result.sites)} call sites in {result.files_scanned} file{'' if result.files_scanned == 1 else 's'}; "
        + ", ".join(f"{k}: {v}" for k, v in sorted(by_op.items()))
    )
    lines.append("verdicts: " + (", ".join(f"{k}: {v}" for k, v in sorted(by_verdict.items())) or "none"))
    return "\n".join(lines) + "\n"
