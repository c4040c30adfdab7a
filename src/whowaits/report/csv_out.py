"""The audit as CSV: one row per call site, with its cost per 1,000 calls."""

from __future__ import annotations

import csv
import io
from typing import Tuple

from whowaits.core import CallSite
from whowaits.report.audit import COLUMNS, site_row
from whowaits.report.output import Report

COST_COLUMNS = ("model", "usd_per_1k_calls", "batch_saving_usd_per_1k_calls", "cost_unknown")


def _cost_row(site: CallSite) -> Tuple[str, ...]:
    cost = site.cost
    if cost is None:
        return ("", "", "", "")
    amounts = [cost.usd_per_1k_calls, cost.saving_per_1k_calls]
    return (cost.model or "", *("" if a is None else f"{a:.6f}".rstrip("0").rstrip(".") for a in amounts), " ".join(cost.unknown))


def render(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS + COST_COLUMNS)
    for site in report.result.sites:
        writer.writerow(site_row(site, report.result) + _cost_row(site))
    return out.getvalue()
