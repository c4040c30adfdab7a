"""The audit as a portfolio: markdown, CSV and one self-contained HTML page.

The portfolio answers what a lead asks: how many LLM call sites per provider, operation and
verdict; which synchronous sites nobody waits on (they could move to the Batch API at 50% of
their token cost); and, site by site, who waits and why whowaits thinks so.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from html import escape
from typing import Dict, List, Tuple

from whowaits import __version__
from whowaits.core import CallSite
from whowaits.pipeline import RunResult
from whowaits.report.audit import contexts_cell, movable_sites, site_findings

VERDICTS = ("blocking", "tolerant", "unknown")
MODES = ("sync", "batch", "other")
_COLORS = {"sync": "#d9822b", "batch": "#2b7bd9", "other": "#8a8a8a"}


def mode(site: CallSite) -> str:
    if site.op.kind in ("sync", "stream", "tool_runner"):
        return "sync"
    if site.op.kind.startswith("batch_"):
        return "batch"
    return "other"


def movable(result: RunResult) -> List[CallSite]:
    return movable_sites(result.sites)


def _counts(result: RunResult) -> Dict[str, Counter]:
    return {
        "provider": Counter(s.op.provider for s in result.sites),
        "operation": Counter(s.op.kind for s in result.sites),
        "verdict": Counter(s.verdict for s in result.sites),
    }


def _row(site: CallSite, result: RunResult) -> Tuple[str, ...]:
    return (
        f"{site.path}:{site.line}",
        site.op.provider,
        site.op.kind,
        site.op.method,
        site.call.function,
        site.verdict,
        contexts_cell(site),
        ",".join(site_findings(site, result.findings)),
    )


HEADER = ("location", "provider", "operation", "method", "function", "verdict", "contexts", "findings")


def to_csv(result: RunResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for site in result.sites:
        writer.writerow(_row(site, result))
    return out.getvalue()


def to_markdown(result: RunResult) -> str:
    counts = _counts(result)
    lines = ["# whowaits audit", "", f"{len(result.sites)} LLM call sites in {result.files_scanned} files.", ""]
    for title, key in (("Provider", "provider"), ("Operation", "operation"), ("Verdict", "verdict")):
        lines += [f"| {title} | Sites |", "| --- | ---: |"]
        lines += [f"| {name} | {count} |" for name, count in sorted(counts[key].items())]
        lines.append("")
    candidates = movable(result)
    lines.append(f"## Could move to the Batch API ({len(candidates)})")
    lines.append("")
    if candidates:
        lines.append("Synchronous calls nobody waits on: the Batch API would save 50% of their token cost.")
        lines.append("")
        lines += [f"- `{s.path}:{s.line}` {s.op.method} in `{s.call.function}` ({contexts_cell(s)})" for s in candidates]
    else:
        lines.append("None: every synchronous call has someone waiting on it, or nobody knows who does.")
    lines += ["", "## Call sites", "", "| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    for site in result.sites:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") or "-" for cell in _row(site, result)) + " |")
    return "\n".join(lines) + "\n"


def _chart(result: RunResult) -> str:
    """Stacked bars of sites by verdict, split by mode; inline SVG, no scripts needed."""
    grid = {v: Counter(mode(s) for s in result.sites if s.verdict == v) for v in VERDICTS}
    top = max([sum(c.values()) for c in grid.values()] + [1])
    width, bar, gap, left = 520, 34, 18, 90
    height = len(VERDICTS) * (bar + gap) + 40
    parts = [f'<svg id="verdict-chart" role="img" aria-label="Call sites by verdict and mode" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for i, verdict in enumerate(VERDICTS):
        y = 10 + i * (bar + gap)
        parts.append(f'<text x="0" y="{y + bar * 0.65:.0f}" font-size="14">{verdict}</text>')
        x = float(left)
        for m in MODES:
            count = grid[verdict][m]
            if not count:
                continue
            w = (width - left - 40) * count / top
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{_COLORS[m]}">'
                         f'<title>{verdict} / {m}: {count}</title></rect>')
            if w > 18:
                parts.append(f'<text x="{x + w / 2:.1f}" y="{y + bar * 0.65:.0f}" font-size="12" fill="#fff" text-anchor="middle">{count}</text>')
            x += w
    legend_y = height - 12
    for j, m in enumerate(MODES):
        parts.append(f'<rect x="{left + j * 110}" y="{legend_y - 10}" width="12" height="12" fill="{_COLORS[m]}"/>')
        parts.append(f'<text x="{left + j * 110 + 16}" y="{legend_y}" font-size="12">{m}</text>')
    parts.append("</svg>")
    return "".join(parts)


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#222;max-width:1200px}
h1{margin-bottom:.2rem} .muted{color:#666}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.8rem 1rem;min-width:160px}
.card b{display:block;font-size:1.6rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #eee;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{cursor:pointer;background:#f6f6f6;user-select:none} th:after{content:" \\2195";color:#aaa}
td.blocking{color:#b3261e;font-weight:600} td.tolerant{color:#1e7b34;font-weight:600} td.unknown{color:#777}
details summary{cursor:pointer;color:#2b5cad} code{font-size:.85rem}
"""

_SCRIPT = """
window.__whowaitsErrors = [];
window.addEventListener('error', function (e) {
  window.__whowaitsErrors.push(String(e.message));
  document.getElementById('script-errors').textContent = window.__whowaitsErrors.join('\\n');
});
(function () {
  var table = document.getElementById('sites');
  var headers = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(headers, function (th, column) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var ascending = th.getAttribute('data-order') !== 'asc';
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute('data-key') || a.cells[column].textContent;
        var y = b.cells[column].getAttribute('data-key') || b.cells[column].textContent;
        return (ascending ? 1 : -1) * x.localeCompare(y, undefined, {numeric: true});
      });
      rows.forEach(function (row) { body.appendChild(row); });
      th.setAttribute('data-order', ascending ? 'asc' : 'desc');
    });
  });
  document.body.setAttribute('data-ready', 'yes');
})();
"""


def to_html(result: RunResult) -> str:
    counts = _counts(result)
    candidates = movable(result)
    cards = "".join(
        f'<div class="card"><span class="muted">{escape(label)}</span><b>{value}</b></div>'
        for label, value in (
            ("call sites", len(result.sites)),
            ("blocking", counts["verdict"].get("blocking", 0)),
            ("tolerant", counts["verdict"].get("tolerant", 0)),
            ("unknown", counts["verdict"].get("unknown", 0)),
            ("findings", len(result.findings)),
            ("could move to batch", len(candidates)),
        )
    )
    breakdown = " · ".join(
        f"{escape(key)}: " + ", ".join(f"{escape(k)} {v}" for k, v in sorted(c.items()))
        for key, c in counts.items() if c
    )
    rows = []
    for site in result.sites:
        cells = _row(site, result)
        evidence = "".join(
            f"<details><summary>{escape(ctx.kind)} ({'blocking' if ctx.blocking else 'tolerant'})</summary><ol>"
            + "".join(f"<li><code>{escape(step.path)}:{step.line}</code> {escape(step.note)}</li>" for step in ctx.evidence)
            + "</ol></details>"
            for ctx in site.contexts
        ) or '<span class="muted">no entry point reaches it</span>'
        rows.append(
            "<tr>"
            f'<td data-key="{escape(site.path)}:{site.line:06d}"><code>{escape(cells[0])}</code></td>'
            + "".join(f"<td>{escape(c)}</td>" for c in cells[1:5])
            + f'<td class="{escape(site.verdict)}">{escape(site.verdict)}</td>'
            + f"<td>{evidence}</td><td>{escape(cells[7]) or '-'}</td></tr>"
        )
    move = "".join(
        f"<li><code>{escape(s.path)}:{s.line}</code> {escape(s.op.method)} in <code>{escape(s.call.function)}</code></li>"
        for s in candidates
    ) or "<li>None: every synchronous call has someone waiting, or nobody knows who does.</li>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>whowaits audit</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>
<body>
<h1>whowaits audit</h1>
<p class="muted">{len(result.sites)} LLM call sites in {result.files_scanned} files · whowaits {__version__}</p>
<div class="cards">{cards}</div>
<p class="muted">{breakdown}</p>
<h2>Sites by verdict and mode</h2>
{_chart(result)}
<h2>Could move to the Batch API</h2>
<p>Synchronous calls where nobody waits: the Batch API would save 50% of their token cost.</p>
<ul id="movable">{move}</ul>
<h2>Call sites</h2>
<table id="sites"><thead><tr>{''.join(f'<th>{escape(h)}</th>' for h in HEADER[:6])}<th>who waits (evidence)</th><th>findings</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<pre id="script-errors" hidden></pre>
<script>{_SCRIPT}</script>
</body></html>
"""


RENDERERS = {"markdown": to_markdown, "csv": to_csv, "html": to_html}
