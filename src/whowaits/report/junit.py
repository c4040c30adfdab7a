"""JUnit XML in ruff's shape: a test suite per file with findings, a test case per finding
(viewers show one failure per test case), and one passing case when there is nothing."""

from __future__ import annotations

from typing import Dict, List

from whowaits.core import Finding
from whowaits.report.output import Report


def render(report: Report) -> str:
    # Here, not at the top: xml.sax.saxutils imports urllib.request, and every run imports the registry.
    from xml.sax.saxutils import escape, quoteattr

    result = report.result
    by_file: Dict[str, List[Finding]] = {}
    for f in result.findings:
        by_file.setdefault(f.path, []).append(f)
    suites = []
    for path, findings in sorted(by_file.items()):
        cases = "".join(
            f"\n    <testcase name={quoteattr(f'{f.code} {f.name} at {f.path}:{f.line}:{f.col}')} "
            f"classname={quoteattr(path)} file={quoteattr(path)} line=\"{f.line}\">"
            f"<failure type={quoteattr(f.code)} message={quoteattr(f.code + ' ' + f.message)}>"
            f"{escape(_text_block(f))}</failure></testcase>"
            for f in findings
        )
        suites.append(f'  <testsuite name={quoteattr(path)} tests="{len(findings)}" failures="{len(findings)}" '
                      f'errors="0">{cases}\n  </testsuite>')
    if not suites:
        suites.append('  <testsuite name="whowaits" tests="1" failures="0" errors="0">\n'
                      '    <testcase classname="whowaits" name="whowaits"/>\n  </testsuite>')
    total = max(len(result.findings), 1)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name="whowaits" tests="{total}" failures="{len(result.findings)}" errors="0">\n'
        + "\n".join(suites)
        + "\n</testsuites>\n"
    )


def _text_block(f: Finding) -> str:
    lines = [f"{f.path}:{f.line}:{f.col}: {f.severity}[{f.code}] {f.message}"]
    lines.extend(f"  -> {s.path}:{s.line}: {s.note}" for s in f.evidence)
    return "\n".join(lines)
