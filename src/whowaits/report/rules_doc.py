"""Rule documentation from the catalog: terminal text and the markdown reference."""

from __future__ import annotations

from typing import List, Sequence

from whowaits.catalog import markdown_table
from whowaits.core import RuleMeta


def _conditions(rule: RuleMeta) -> List[str]:
    lines = []
    for i, alt in enumerate(rule.policy):
        prefix = "any of:" if len(rule.policy) > 1 and i == 0 else ""
        if prefix:
            lines.append(prefix)
        conds = ", ".join(f"{field} = {value!r}" for field, value in alt.conditions)
        lines.append(("  - " if len(rule.policy) > 1 else "") + conds)
    return lines


def text(rule: RuleMeta) -> str:
    out = [f"{rule.code} {rule.name} ({rule.severity})", "", rule.summary, ""]
    if rule.rationale:
        out += ["Why", f"  {rule.rationale}", ""]
    if rule.fix:
        out += ["How to fix", f"  {rule.fix}", ""]
    if rule.autofix:
        out += [f"Automatic fix: {rule.autofix.safety}", f"  {rule.autofix.why}", ""]
    if rule.bad:
        out += ["Bad"] + [f"  {line}" for line in rule.bad.splitlines()] + [""]
    if rule.good:
        out += ["Good"] + [f"  {line}" for line in rule.good.splitlines()] + [""]
    if rule.policy:
        out += ["Matches (policy rule)"] + [f"  {line}" for line in _conditions(rule)] + [""]
    if rule.seed:
        out += ["Provider fact", f"  {rule.seed}", ""]
    if not rule.builtin:
        out += [f"Defined in {rule.source}", ""]
    return "\n".join(out)


def markdown(rules: Sequence[RuleMeta]) -> str:
    out = ["# whowaits rules", "", markdown_table({r.code: r for r in rules})]
    for rule in rules:
        out += [f"## {rule.code} `{rule.name}`", "", f"Severity: {rule.severity}.", "", rule.summary, ""]
        if rule.rationale:
            out += ["**Why.** " + rule.rationale, ""]
        if rule.bad:
            out += ["Bad:", "", "```python", rule.bad, "```", ""]
        if rule.good:
            out += ["Good:", "", "```python", rule.good, "```", ""]
        if rule.fix:
            out += ["**How to fix.** " + rule.fix, ""]
        if rule.autofix:
            out += [f"**Automatic fix: {rule.autofix.safety}.** {rule.autofix.why}", ""]
        if rule.policy:
            out += ["**Matches** (a policy rule over site facts): " + "; ".join(_conditions(rule)), ""]
        if rule.seed:
            out += ["**Provider fact.** " + rule.seed, ""]
    return "\n".join(out)
