"""The audit as one self-contained HTML page.

The page answers what a lead asks: how many LLM call sites per provider, operation and
verdict; which synchronous sites nobody waits on (they could move to the Batch API at 50% of
their token cost); and, site by site, who waits and why whowaits thinks so.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from datetime import datetime, timezone
from html import escape
from typing import Dict, List, Mapping, Sequence, Tuple

from whowaits import __version__
from whowaits.core import CallSite, ContextFact, RuleMeta
from whowaits.cost import describe, usd
from whowaits.pipeline import RunResult
from whowaits.report.audit import (
    Savings, cost_cell, findings_at, manifest_groups, movable, savings_by_entry, site_counts, site_findings,
)
from whowaits.report.output import Report

VERDICTS = ("blocking", "tolerant", "unknown")
MODES = ("sync", "batch", "other")
_MAX_CHAINS = 10  # evidence chains shown per context kind of a site; `explain` has them all
_COLORS = {"sync": "#d9822b", "batch": "#2b7bd9", "other": "#8a8a8a"}


def mode(site: CallSite) -> str:
    if site.op.kind in ("sync", "stream", "tool_runner"):
        return "sync"
    if site.op.kind.startswith("batch_"):
        return "batch"
    return "other"


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
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0 auto;padding:1.5rem;color:#222;max-width:1400px;line-height:1.4}
h1{margin:0 0 .2rem;font-size:1.6rem;overflow-wrap:anywhere} h2{margin-top:2rem;font-size:1.2rem}
.muted{color:#666} code{font-size:.85rem;overflow-wrap:anywhere}
.cards{display:flex;gap:.8rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.6rem .9rem;min-width:120px;flex:1 1 120px}
.card b{display:block;font-size:1.5rem}
.card.money{flex:2 1 260px} .card.money b{color:#1e7b34}
#verdict-chart{max-width:100%;height:auto}
table{border-collapse:collapse;width:100%;font-size:.88rem;table-layout:fixed}
th,td{border-bottom:1px solid #eee;padding:.4rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f6f6f6}
#sites th.sortable{cursor:pointer;user-select:none} #sites th.sortable:after{content:" \\2195";color:#aaa}
#sites col.loc{width:19%} #sites col.op{width:15%} #sites col.verdict{width:8%} #sites col.who{width:18%}
#sites col.cost{width:10%} #sites col.findings{width:30%}
.blocking{color:#b3261e;font-weight:600} .tolerant{color:#1e7b34;font-weight:600} .unknown{color:#777}
details summary{cursor:pointer;color:#2b5cad}
details ol{margin:.3rem 0 .5rem;padding-left:1.2rem} .chain{margin:.3rem 0 0 .6rem}
.finding{margin:0 0 .4rem} .finding a{font-weight:600;text-decoration:none}
.sev-error{color:#b3261e} .sev-warning{color:#9a6700} .sev-info{color:#555}
#filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin:.5rem 0 1rem}
#filters label{display:flex;flex-direction:column;font-size:.8rem;color:#555}
#filters select,#filters input{font:inherit;padding:.25rem;max-width:100%}
#filters input{min-width:12rem}
#by-entry th:nth-child(1){width:45%} #by-entry th:nth-child(2){width:15%}
#manifests th:nth-child(1){width:40%} #manifests th:nth-child(2){width:15%}
.rule{border-top:1px solid #eee;padding:.5rem 0} .rule h3{margin:.2rem 0;font-size:1rem}
ul{padding-left:1.2rem}
@media (max-width:760px){
  body{padding:.8rem}
  .stack colgroup,.stack thead{display:none}
  .stack,.stack tbody,.stack tr,.stack td{display:block;width:100%}
  .stack tr{border:1px solid #ddd;border-radius:8px;margin:0 0 .8rem;padding:.3rem .5rem}
  .stack td{border:0;padding:.2rem 0}
  .stack td:before{content:attr(data-label);display:block;font-size:.75rem;color:#777;text-transform:uppercase}
}
@media print{
  body{max-width:none;padding:0;font-size:10pt}
  #filters,#script-errors{display:none}
  details{display:block} details>summary{list-style:none;color:#222}
  tr{break-inside:avoid}
  a{color:inherit;text-decoration:none}
}
"""

_SCRIPT = """
window.__whowaitsErrors = [];
window.addEventListener('error', function (e) {
  window.__whowaitsErrors.push(String(e.message));
  var pre = document.getElementById('script-errors');
  pre.hidden = false;
  pre.textContent = window.__whowaitsErrors.join('\\n');
});
(function () {
  var table = document.getElementById('sites');
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
    th.classList.add('sortable');
    th.addEventListener('click', function () {
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
  var form = document.getElementById('filters');
  function apply() {
    var verdict = form.verdict.value, provider = form.provider.value, rule = form.rule.value;
    var path = form.path.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var codes = ' ' + row.getAttribute('data-rules') + ' ';
      var ok = (!verdict || row.getAttribute('data-verdict') === verdict)
        && (!provider || row.getAttribute('data-provider') === provider)
        && (!rule || (rule === '-' ? codes.trim() === '' : codes.indexOf(' ' + rule + ' ') >= 0))
        && (!path || row.getAttribute('data-path').toLowerCase().indexOf(path) >= 0);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    document.getElementById('shown').textContent = shown + ' of ' + rows.length + ' call sites';
  }
  form.addEventListener('input', apply);
  form.addEventListener('change', apply);
  apply();
  window.addEventListener('beforeprint', function () {
    Array.prototype.forEach.call(document.querySelectorAll('details'), function (d) { d.open = true; });
  });
  document.body.setAttribute('data-ready', 'yes');
})();
"""


def project_meta(root: str) -> Tuple[str, str]:
    """The project's name (pyproject's `[project] name`, else its folder) and git commit, if any."""
    name = os.path.basename(os.path.abspath(root)) or root
    pyproject = os.path.join(root, "pyproject.toml")
    if os.path.isfile(pyproject):
        from whowaits.config import ConfigError, read_toml

        try:
            declared = read_toml(pyproject).get("project", {}).get("name")
        except (ConfigError, AttributeError):
            declared = None
        if isinstance(declared, str) and declared.strip():
            name = declared.strip()
    commit = ""
    try:
        proc = subprocess.run(["git", "-c", "core.fsmonitor=false", "rev-parse", "--short", "HEAD"], cwd=root,
                              capture_output=True, encoding="utf-8", errors="replace", timeout=30)
        if proc.returncode == 0:
            commit = proc.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return name, commit


def _report_date() -> str:
    """Today (UTC), or SOURCE_DATE_EPOCH's day for reproducible reports."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    moment = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch.isdigit() else datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%d")


def _who_waits(site: CallSite) -> str:
    """Contexts grouped by kind with a count; each group opens to its evidence chains."""
    if not site.contexts:
        return '<span class="muted">no entry point reaches it</span>'
    groups: Dict[str, List[ContextFact]] = {}
    for ctx in site.contexts:
        groups.setdefault(ctx.kind, []).append(ctx)
    out = []
    for kind, contexts in groups.items():
        blocking = "blocking" if any(c.blocking for c in contexts) else "tolerant"
        count = f" &times;{len(contexts)}" if len(contexts) > 1 else ""
        chains = "".join(
            f'<div class="chain"><b>{escape(c.entry)}</b>'
            + (f' <span class="muted">{escape(c.per_item)}</span>' if c.per_item else "")
            + "<ol>" + "".join(f"<li><code>{escape(s.path)}:{s.line}</code> {escape(s.note)}</li>" for s in c.evidence) + "</ol></div>"
            for c in contexts[:_MAX_CHAINS]
        )
        if len(contexts) > _MAX_CHAINS:
            chains += f'<p class="muted">and {len(contexts) - _MAX_CHAINS} more (see <code>whowaits explain {escape(site.path)}:{site.line}</code>)</p>'
        out.append(f'<details><summary><span class="{blocking}">{escape(kind.replace("_", " "))}</span>{count}</summary>{chains}</details>')
    return "".join(out)


def _findings_cell(site: CallSite, result: RunResult) -> str:
    found = findings_at(site, result.findings)
    if not found:
        return '<span class="muted">none</span>'
    return "".join(
        f'<p class="finding"><a class="sev-{escape(f.severity)}" href="#rule-{escape(f.code)}">{escape(f.code)}</a> '
        f'<span class="muted">{escape(f.name)}</span><br>{escape(f.message)}</p>'
        for f in found
    )


def _options(name: str, label: str, values: Sequence[str], extra: Sequence[Tuple[str, str]] = ()) -> str:
    choices = "".join(f'<option value="{escape(v)}">{escape(text)}</option>' for v, text in extra)
    choices += "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
    return f'<label>{escape(label)}<select name="{name}"><option value="">all</option>{choices}</select></label>'


def _savings_html(result: RunResult) -> str:
    candidates = movable(result.sites)
    if not candidates:
        return "<p>None: every synchronous call has someone waiting on it, or nobody knows who does.</p>"
    total = Savings(tuple(candidates))
    entries = "".join(
        f'<tr><td data-label="entry point"><code>{escape(entry)}</code></td><td data-label="kind">{escape(kind.replace("_", " "))}</td>'
        f'<td data-label="could move to batch">{escape(group.summary())}</td></tr>'
        for entry, kind, group in savings_by_entry(result.sites)
    )
    sites = "".join(
        f"<li><code>{escape(s.path)}:{s.line}</code> {escape(s.op.method)} in <code>{escape(s.call.function)}</code>: "
        f"{escape(describe(s.cost, per='calls') or 'not priced')}</li>"
        for s in candidates
    )
    return (
        f"<p>Synchronous calls nobody waits on: the Batch API would save 50% of their token cost. "
        f"<b>Total: {escape(total.summary())}.</b></p>"
        f'<table class="stack" id="by-entry"><thead><tr><th>Entry point</th><th>Kind</th><th>Could move to batch</th></tr></thead>'
        f"<tbody>{entries}</tbody></table>"
        f'<details id="movable-sites"><summary>{len(candidates)} site{"" if len(candidates) == 1 else "s"}, one by one</summary>'
        f'<ul id="movable">{sites}</ul></details>'
        '<p class="muted">Per 1,000 calls of each site, from the dated price table: input counts literal prompt '
        "text (characters / 4), output the literal max_tokens; what the code does not show is named, not guessed.</p>"
    )


def _manifests_html(result: RunResult) -> str:
    groups = manifest_groups(result)
    unresolved = sorted(set(getattr(result.graph, "unresolved", [])))
    if not groups and not unresolved:
        return '<p class="muted">No CI workflow, cron line, hook or deploy file reaches an LLM call site.</p>'
    rows = "".join(
        f'<tr><td data-label="entry"><code>{escape(entry)}</code></td><td data-label="kind">{escape(kind.replace("_", " "))}</td>'
        '<td data-label="reaches">'
        + "<br>".join(f"<code>{escape(s.path)}:{s.line}</code> {escape(s.op.method)} in <code>{escape(s.call.function)}</code>"
                      for s in sites)
        + "</td></tr>"
        for entry, kind, sites in groups
    )
    out = (f'<table class="stack" id="manifests"><thead><tr><th>Entry</th><th>Kind</th><th>Reaches</th></tr></thead>'
           f"<tbody>{rows}</tbody></table>") if groups else ""
    if unresolved:
        out += "<p>Python commands in these files that reach no analysed LLM code:</p><ul>" + "".join(
            f"<li><code>{escape(path)}:{line}</code> <code>{escape(command)}</code></li>" for path, line, command in unresolved
        ) + "</ul>"
    return out


def _rules_html(result: RunResult, catalog: Mapping[str, RuleMeta]) -> str:
    codes = sorted({f.code for f in result.findings})
    if not codes:
        return '<p class="muted">No findings.</p>'
    out = []
    for code in codes:
        meta = catalog.get(code)
        name = meta.name if meta else next(f.name for f in result.findings if f.code == code)
        body = ""
        if meta is not None:
            body = f"<p>{escape(meta.summary)}</p>" + (f"<p><b>Why.</b> {escape(meta.rationale)}</p>" if meta.rationale else "")
            body += f"<p><b>How to fix.</b> {escape(meta.fix)}</p>" if meta.fix else ""
        out.append(f'<div class="rule" id="rule-{escape(code)}"><h3>{escape(code)} <code>{escape(name)}</code></h3>{body}'
                   f'<p class="muted">More: <code>whowaits rule {escape(code)}</code></p></div>')
    return "".join(out)


def render(report: Report) -> str:
    result, catalog = report.result, report.catalog
    counts = site_counts(result)
    candidates = Savings(tuple(movable(result.sites)))
    name, commit = project_meta(result.root)
    cards = "".join(
        f'<div class="card"><span class="muted">{escape(label)}</span><b>{value}</b></div>'
        for label, value in (
            ("call sites", len(result.sites)),
            ("blocking", counts["verdict"].get("blocking", 0)),
            ("tolerant", counts["verdict"].get("tolerant", 0)),
            ("unknown", counts["verdict"].get("unknown", 0)),
            ("findings", len(result.findings)),
            ("could move to batch", len(candidates.sites)),
        )
    )
    if candidates.priced:
        cards += (f'<div class="card money"><span class="muted">batch would save, per 1,000 calls of each site</span>'
                  f"<b>{escape(usd(candidates.saving))}</b>"
                  f'<span class="muted">of {escape(usd(candidates.usd))}; {len(candidates.priced)} of {len(candidates.sites)} sites priced</span></div>')
    breakdown = " · ".join(
        f"{escape(key)}: " + ", ".join(f"{escape(k)} {v}" for k, v in sorted(c.items()))
        for key, c in counts.items() if c
    )
    rows = []
    for site in result.sites:
        codes = site_findings(site, result.findings)
        rows.append(
            f'<tr data-verdict="{escape(site.verdict)}" data-provider="{escape(site.op.provider)}" '
            f'data-rules="{escape(" ".join(codes))}" data-path="{escape(site.path)}">'
            f'<td data-label="location" data-key="{escape(site.path)}:{site.line:06d}"><code>{escape(site.path)}:{site.line}</code>'
            f'<br><span class="muted">in</span> <code>{escape(site.call.function)}</code></td>'
            f'<td data-label="operation">{escape(site.op.kind)}<br><span class="muted">{escape(site.op.provider)} {escape(site.op.method)}</span></td>'
            f'<td data-label="verdict" class="{escape(site.verdict)}">{escape(site.verdict)}</td>'
            f'<td data-label="who waits">{_who_waits(site)}</td>'
            f'<td data-label="$ per 1k calls (batch saves)" data-key="{(site.cost.usd_per_1k_calls or 0) if site.cost else 0:012.4f}"'
            f' title="{escape(describe(site.cost, per="calls"))}">{escape(cost_cell(site))}</td>'
            f'<td data-label="findings">{_findings_cell(site, result)}</td></tr>'
        )
    rules = sorted({f.code for f in result.findings})
    filters = (
        '<form id="filters" onsubmit="return false">'
        + _options("verdict", "verdict", [v for v in VERDICTS if counts["verdict"].get(v)])
        + _options("provider", "provider", sorted(counts["provider"]))
        + _options("rule", "rule", rules, [("-", "no finding")])
        + '<label>path contains<input name="path" type="search" placeholder="e.g. jobs/"></label>'
        + '<span id="shown" class="muted"></span></form>'
    )
    meta = " · ".join(p for p in (f"commit <code>{escape(commit)}</code>" if commit else "", escape(_report_date()),
                                  f"{len(result.sites)} LLM call sites in {result.files_scanned} files", f"whowaits {escape(__version__)}") if p)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>whowaits audit: {escape(name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>
<body>
<header><h1>whowaits audit: {escape(name)}</h1>
<p class="muted" id="meta">{meta}</p></header>
<div class="cards">{cards}</div>
<p class="muted">{breakdown}</p>
<h2>Could move to the Batch API</h2>
{_savings_html(result)}
<h2>Sites by verdict and mode</h2>
{_chart(result)}
<h2>Call sites</h2>
{filters}
<table class="stack" id="sites"><colgroup><col class="loc"><col class="op"><col class="verdict"><col class="who"><col class="cost"><col class="findings"></colgroup>
<thead><tr><th>location</th><th>operation</th><th>verdict</th><th>who waits (evidence)</th><th>$ per 1k calls (batch saves)</th><th>findings</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<h2>Started by CI, cron and deploy files</h2>
{_manifests_html(result)}
<h2>Rules with findings</h2>
{_rules_html(result, catalog)}
<pre id="script-errors" hidden></pre>
<script>{_SCRIPT}</script>
</body></html>
"""
