"""Policy rules as data (SPEC section 7): a `[when]` table over site facts, and a message.

```toml
code = "ACME001"
name = "no-opus-in-request-path"
severity = "error"
message = "Opus is too slow for a request path ({entry}); use a faster model or batch."
[when]
operation = ["sync", "stream"]
context = "http_handler"
model = "claude-opus-*"
```

A value matches a field exactly, a list means any of, strings are globs (`"!claude-haiku-*"`
matches what the glob does not), and numbers can be compared with strings like `"<24"` or
`">=100000"`. A list field (`context`, `entry`, `model`: a batch submit has the models of all
its requests) matches when one of its items does. `[[when]]` gives alternatives, each with
an optional `message` of its own. Messages fill `{placeholders}` from the site facts.
"""

from __future__ import annotations

import fnmatch
import re
import string
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional, Sequence, Tuple

from whowaits.checks.sitefacts import FIELD_VALUES, FIELDS, MESSAGE_FIELDS, PROPERTIES, Kind, SiteFacts, site_facts
from whowaits.core import EvidenceStep, PolicyAlternative as Alternative, Project, RuleMeta

if TYPE_CHECKING:  # the engine imports this module; import its Hit type only for checkers
    from whowaits.checks import Hit

_COMPARISON = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$")
# Text a message may name besides the site properties: the context a `context` condition matched.
_MATCHED_ENTRY, _MATCHED_KIND = "matched_entry", "matched_kind"
_PLACEHOLDERS = frozenset(FIELDS) | MESSAGE_FIELDS | {_MATCHED_ENTRY, _MATCHED_KIND}


class PolicyError(Exception):
    """A malformed `[when]` table: the message names the field."""


def compile_when(raw: Any, default_message: str) -> Tuple[Alternative, ...]:
    """Validate `[when]` / `[[when]]` into alternatives (raises PolicyError naming the field)."""
    tables = raw if isinstance(raw, list) else [raw]
    if not tables:
        raise PolicyError("`when` must be a non-empty table (or an array of tables)")
    alternatives = []
    for table in tables:
        if not isinstance(table, dict) or not table:
            raise PolicyError("`when` must be a non-empty table (or an array of tables)")
        message = table.get("message", default_message)
        if not isinstance(message, str) or not message:
            raise PolicyError("`message` must be a non-empty string")
        conditions = []
        for field, value in table.items():
            if field == "message":
                continue
            kind = FIELDS.get(field)
            if kind is None:
                raise PolicyError(f"unknown field `when.{field}` (known: {', '.join(sorted(FIELDS))})")
            _validate(field, kind, value)
            conditions.append((field, value))
        if not conditions:
            raise PolicyError("`when` has no condition: it would match every call site")
        _validate_message(message)
        alternatives.append(Alternative(tuple(conditions), message))
    return tuple(alternatives)


def _validate(field: str, kind: Kind, value: Any) -> None:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if kind in (Kind.STR, Kind.LIST) and not isinstance(v, str):
            raise PolicyError(f"`when.{field}` must be a string or a list of strings")
        if kind is Kind.BOOL and (isinstance(value, list) or not isinstance(v, bool)):
            raise PolicyError(f"`when.{field}` must be true or false")
        if kind is Kind.NUMBER:
            if isinstance(v, bool) or not (isinstance(v, (int, float)) or (isinstance(v, str) and _COMPARISON.match(v))):
                raise PolicyError(f'`when.{field}` must be a number or a comparison like "<24"')
        known = FIELD_VALUES.get(field)
        if known is not None and not any(fnmatch.fnmatchcase(k, v) for k in known):
            raise PolicyError(f"`when.{field}` = {v!r} matches no known value (known: {', '.join(sorted(known))})")


def _validate_message(message: str) -> None:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(message) if name]
    except ValueError as exc:
        raise PolicyError(f"`message` is not a valid template: {exc}") from exc
    for name in names:
        if not re.match(r"^[a-z_][a-z0-9_]*$", name):
            raise PolicyError(f"`message` placeholder `{{{name}}}` must be a plain field name")
        if name not in _PLACEHOLDERS:
            raise PolicyError(f"`message` placeholder `{{{name}}}` names no site fact (known: {', '.join(sorted(_PLACEHOLDERS))})")


def _glob(item: Any, wants: Sequence[str]) -> bool:
    """Any of the globs matches, a `!glob` counting as "does not match the glob"; the negated
    ones must all hold (`["!*haiku*", "!*mini*"]`: neither)."""
    text = str(item)
    positive = [w for w in wants if not w.startswith("!")]
    negative = [w[1:] for w in wants if w.startswith("!")]
    if any(fnmatch.fnmatchcase(text, w) for w in negative):
        return False
    return not positive or any(fnmatch.fnmatchcase(text, w) for w in positive)


def _matches(field: str, want: Any, facts: SiteFacts) -> Tuple[bool, Optional[int]]:
    """Whether a condition holds; for a list field, also which item matched."""
    have = facts.value(field)
    kind = FIELDS[field]
    wants = want if isinstance(want, list) else [want]
    if kind is Kind.BOOL:
        return have is want, None
    if kind is Kind.NUMBER:
        if have is None:
            return False, None
        for w in wants:
            if isinstance(w, str):
                compared = _COMPARISON.match(w)  # the rule file's schema checked the form
                if compared is not None and _compare(float(have), compared.group(1), float(compared.group(2))):
                    return True, None
            elif have == w:
                return True, None
        return False, None
    if kind is Kind.LIST:
        for i, item in enumerate(have or []):
            if _glob(item, wants):
                return True, i
        return False, None
    if have is None:
        return False, None
    return _glob(have, wants), None


def _compare(a: float, op: str, b: float) -> bool:
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]


class _Message(Dict[str, Any]):
    """What a message's placeholders name, computed when the message names it: a list property
    shows the item a condition matched (else all of them), what does not apply shows "?"."""

    def __init__(self, facts: SiteFacts, matched: Dict[str, int]) -> None:
        super().__init__()
        self.facts = facts
        self.matched = matched

    def __missing__(self, key: str) -> Any:
        prop = PROPERTIES.get(key)
        value = self.facts.value(key) if prop is not None else None
        if value is None:
            return "?"
        if isinstance(value, list):
            return str(value[self.matched[key]]) if key in self.matched else ", ".join(map(str, value))
        if prop is not None and prop.thousands and isinstance(value, int):
            return f"{value:,}"
        return value


def evaluate(rule: RuleMeta, facts: SiteFacts) -> Optional[Tuple[str, Tuple[EvidenceStep, ...]]]:
    """The message and evidence when a rule matches a site."""
    for alternative in rule.policy:
        matched: Dict[str, int] = {}
        ok = True
        for field, want in alternative.conditions:
            hit, index = _matches(field, want, facts)
            if not hit:
                ok = False
                break
            if index is not None:
                matched[field] = index
        if not ok:
            continue
        values = _Message(facts, matched)
        evidence: Tuple[EvidenceStep, ...] = ()
        for field, _ in alternative.conditions:
            steps = facts.evidence(field)
            if steps is not None:
                evidence = steps
                break
        matched_context = matched.get("context")
        if matched_context is not None:
            ctx = facts.site.contexts[matched_context]
            values[_MATCHED_ENTRY] = ctx.entry
            values[_MATCHED_KIND] = ctx.kind.replace("_", " ")
            evidence = evidence or ctx.evidence
        return alternative.message.format_map(values), evidence
    return None


def run_policies(project: Project, rules: Sequence[RuleMeta]) -> Iterator["Hit"]:
    from whowaits.checks import Hit

    if not rules:
        return
    all_facts = site_facts(project)
    # Errors need certain evidence: they see only contexts reached through certain calls,
    # never through a registry, getattr or an override the receiver may dispatch to.
    certain_facts = all_facts
    if any(rule.severity == "error" for rule in rules) and any(not c.certain for s in project.sites for c in s.contexts):
        sites = tuple(replace(s, contexts=tuple(c for c in s.contexts if c.certain)) for s in project.sites)
        certain_facts = site_facts(Project(project.root, sites, project.facts, project.poll_interval_min))
    for rule in rules:
        for facts in certain_facts if rule.severity == "error" else all_facts:
            found = evaluate(rule, facts)
            if found is None:
                continue
            message, evidence = found
            site = facts.site
            yield Hit(
                rule.code, site.path, site.call.span, message,
                f"{site.call.function}|{site.op.method}|{rule.code}", evidence, site.call.span,
            )

