"""Rule documentation from the catalog: terminal text and the markdown reference, the formats
of `whowaits rule --format` (`FORMATS`), and the one-line-per-rule listing."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence, Tuple

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


_URL = re.compile(r"\(?(https://\S+?)\)?(?=[\s;,]|[.)]?$)")


def provider_fact(rule: RuleMeta) -> Tuple[str, str, List[str]]:
    """The fact a rule encodes, split into its heading, its text and the public docs it cites."""
    links = _URL.findall(rule.seed)
    text = " ".join(_URL.sub("", rule.seed).split()).rstrip(" (;,")
    text = re.sub(r"\s+([.;,)])", r"\1", text)
    return ("Provider fact" if links else "Note"), text, links


def _wrapped(text: str) -> List[str]:
    return textwrap.wrap(text, width=96, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False) or [""]


def text(rule: RuleMeta) -> str:
    """What, why, how to fix, bad and good examples and the provider fact with its docs."""
    out = [f"{rule.code} {rule.name} ({rule.severity})", "", "What"] + _wrapped(rule.summary) + [""]
    if rule.rationale:
        out += ["Why"] + _wrapped(rule.rationale) + [""]
    if rule.fix:
        out += ["How to fix"] + _wrapped(rule.fix) + [""]
    if rule.autofix:
        out += [f"Automatic fix: {rule.autofix.safety}"] + _wrapped(rule.autofix.why) + [""]
    if rule.bad:
        out += ["Bad"] + [f"  {line}" for line in rule.bad.splitlines()] + [""]
    if rule.good:
        out += ["Good"] + [f"  {line}" for line in rule.good.splitlines()] + [""]
    if rule.seed:
        heading, fact, links = provider_fact(rule)
        out += [heading] + _wrapped(fact) + [f"  Docs: {link}" for link in links] + [""]
    if rule.policy:
        out += ["Matches (policy rule)"] + [f"  {line}" for line in _conditions(rule)] + [""]
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
            heading, fact, links = provider_fact(rule)
            out += [f"**{heading}.** {fact}" + "".join(f" [Docs]({link})" for link in links), ""]
    return "\n".join(out)


def listing(rules: Sequence[RuleMeta]) -> str:
    """One line per rule: code, name, severity and summary."""
    return "".join(f"{rule.code}  {rule.name:<38} {rule.severity:<8} {rule.summary}\n" for rule in rules)


@dataclass(frozen=True)
class DocFormat:
    """A `whowaits rule --format`: documents the rules given."""

    name: str
    render: Callable[[Sequence[RuleMeta]], str]
    # Without a CODE, documents every rule (a reference page) instead of `listing` them.
    reference: bool


FORMATS: Dict[str, DocFormat] = {
    fmt.name: fmt
    for fmt in (
        DocFormat("text", lambda rules: "\n".join(text(r) for r in rules), reference=False),
        DocFormat("markdown", markdown, reference=True),
    )
}
