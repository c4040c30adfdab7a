"""The rule catalog: one TOML file per rule under `rules/`, loaded at run time.

The catalog is data so that a rule's documentation, severity and the provider fact it encodes
live in one reviewed file, shipped inside the wheel and printed by `whowaits rule CODE`. A rule's
code is written there only (as its file name and its `code`): its check, if it has one, is
registered under the rule's name (`whowaits.checks.check`), as is its fixer.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

from whowaits.core import SEVERITIES, AutofixMeta, PolicyAlternative, RuleMeta

DOCS = ("summary", "rationale", "fix", "seed")
REQUIRED = ("code", "name", "severity")
OPTIONAL = DOCS + ("bad", "good", "message", "when", "autofix")
FIX_SAFETY = ("safe", "unsafe", "none")
CODE_PATTERN = re.compile(r"^[A-Z]{1,8}[0-9]{3,4}$")
NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class CatalogError(Exception):
    """A rule file that cannot be used: the message names the file and the field."""


def builtin_rules_dir() -> str:
    """`whowaits/rules` inside the installed wheel, or `rules/` of a source checkout."""
    here = os.path.dirname(os.path.abspath(__file__))
    packaged = os.path.join(here, "rules")
    if os.path.isdir(packaged):
        return packaged
    return os.path.join(os.path.dirname(os.path.dirname(here)), "rules")


def load_rule(path: str, builtin: bool = True) -> RuleMeta:
    """One rule file. Built-in rules document themselves fully; a user rule needs `[when]`."""
    from whowaits.checks.policy import PolicyError, compile_when

    from whowaits.config import read_toml

    data = read_toml(path, CatalogError)
    required = REQUIRED + (DOCS if builtin else ())
    for key in required:
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise CatalogError(f"{path}: field `{key}` must be a non-empty string")
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise CatalogError(f"{path}: unknown field `{unknown[0]}`")
    if not CODE_PATTERN.match(data["code"]):
        raise CatalogError(f"{path}: field `code` must look like WW101, got {data['code']!r}")
    if not NAME_PATTERN.match(data["name"]):
        raise CatalogError(f"{path}: field `name` must be kebab-case, got {data['name']!r}")
    if data["severity"] not in SEVERITIES:
        raise CatalogError(f"{path}: field `severity` must be one of {', '.join(SEVERITIES)}")
    for key in DOCS + ("bad", "good", "message"):
        if key in data and not isinstance(data[key], str):
            raise CatalogError(f"{path}: field `{key}` must be a string")
    policy: Tuple[PolicyAlternative, ...] = ()
    if "when" in data:
        try:
            policy = compile_when(data["when"], data.get("message", ""))
        except PolicyError as exc:
            raise CatalogError(f"{path}: {exc}") from exc
    elif not builtin:
        raise CatalogError(f"{path}: field `when` is required: a policy rule matches site facts")
    message = data.get("message", "")
    autofix = _autofix(path, data["autofix"]) if "autofix" in data else None
    return RuleMeta(
        code=data["code"],
        name=data["name"],
        severity=data["severity"],
        summary=(data.get("summary") or message or (policy[0].message if policy else "")).strip(),
        rationale=data.get("rationale", "").strip(),
        fix=data.get("fix", "").strip(),
        seed=data.get("seed", "").strip(),
        bad=data.get("bad", "").strip("\n"),
        good=data.get("good", "").strip("\n"),
        source=path,
        policy=policy,
        builtin=builtin,
        autofix=autofix,
    )


def _autofix(path: str, raw: object) -> AutofixMeta:
    """`[autofix]`: `safety` and `why` (the argument for that safety); a policy rule may add a
    template, `set` (keyword -> literal value) and `drop` (keywords), applied to its call."""
    if not isinstance(raw, dict):
        raise CatalogError(f"{path}: `autofix` must be a table")
    unknown = sorted(set(raw) - {"safety", "why", "set", "drop"})
    if unknown:
        raise CatalogError(f"{path}: unknown field `autofix.{unknown[0]}`")
    if raw.get("safety") not in FIX_SAFETY:
        raise CatalogError(f"{path}: field `autofix.safety` must be one of {', '.join(FIX_SAFETY)}")
    if not isinstance(raw.get("why"), str) or not raw["why"].strip():
        raise CatalogError(f"{path}: field `autofix.why` must be a non-empty string")
    values = raw.get("set", {})
    if not isinstance(values, dict) or not all(isinstance(v, (str, int, float, bool)) for v in values.values()):
        raise CatalogError(f"{path}: field `autofix.set` must map keyword names to strings, numbers or booleans")
    drop = raw.get("drop", [])
    if not isinstance(drop, list) or not all(isinstance(k, str) and k.isidentifier() for k in drop):
        raise CatalogError(f"{path}: field `autofix.drop` must be a list of keyword names")
    if not all(k.isidentifier() for k in values):
        raise CatalogError(f"{path}: field `autofix.set` keys must be keyword names")
    return AutofixMeta(raw["safety"], raw["why"].strip(), tuple(sorted(values.items())), tuple(drop))


def _rule_files(path: str) -> List[str]:
    if os.path.isdir(path):
        return [os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith(".toml")]
    return [path]


def fingerprint(rule_paths: Sequence[str] = ()) -> str:
    """A hash of the name and bytes of every file `load_catalog` reads (the built-in rules, then
    `rule_paths`): the same rules in force give the same hash. The run cache names a run with it
    instead of parsing the catalog, which a re-run served from that cache never needs; the code
    that parses the files is covered by the cache's own folder (`cache.code_hash`)."""
    from whowaits.config import MAX_TOML_BYTES

    digest = hashlib.sha256()
    for path in (builtin_rules_dir(), *rule_paths):
        try:
            filenames = _rule_files(path)
        except OSError:  # an unlistable folder: a run with it fails too
            filenames = []
            digest.update(b"unlistable")
        for filename in filenames:
            digest.update(filename.encode("utf-8", "surrogateescape") + b"\0")
            try:
                with open(filename, "rb") as fh:
                    digest.update(fh.read(MAX_TOML_BYTES + 1))
            except OSError:
                digest.update(b"unreadable")  # a run with it fails, so no record is named by it
            digest.update(b"\0")
    return digest.hexdigest()


def load_catalog(directory: str = "", rule_paths: Sequence[str] = ()) -> Dict[str, RuleMeta]:
    """Built-in rules, then user policy rules from `rule-paths`; codes must be unique."""
    rules: Dict[str, RuleMeta] = {}
    for filename in _rule_files(directory or builtin_rules_dir()):
        rule = load_rule(filename)
        if os.path.basename(filename) != f"{rule.code}.toml":  # the code's one other place
            raise CatalogError(f"{filename}: the file of rule {rule.code} must be named {rule.code}.toml")
        if rule.code in rules:
            raise CatalogError(f"{rule.source}: code {rule.code} is already defined in {rules[rule.code].source}")
        rules[rule.code] = rule
    for path in rule_paths:
        if not os.path.exists(path):
            raise CatalogError(f"{path}: rule path does not exist (from `rule-paths`)")
        for filename in _rule_files(path):
            rule = load_rule(filename, builtin=False)
            if rule.code in rules:
                other = rules[rule.code]
                what = "a built-in rule" if other.builtin else f"already defined in {other.source}"
                raise CatalogError(f"{rule.source}: code {rule.code} is {what}; pick another code")
            rules[rule.code] = rule
    return rules


def markdown_table(rules: Dict[str, RuleMeta]) -> str:
    """The README's rule table, generated from the catalog (a test keeps them equal)."""
    lines = ["| Code | Name | Severity | What it reports |", "| --- | --- | --- | --- |"]
    for rule in rules.values():
        summary = rule.summary.replace("|", "\\|")
        lines.append(f"| {rule.code} | `{rule.name}` | {rule.severity} | {summary} |")
    return "\n".join(lines) + "\n"


def rules_web_base(distribution: str = "whowaits") -> Optional[str]:
    """Where the built-in rule files can be read on the web: `<repository>/blob/<ref>/rules/`.

    The repository is the git URL whowaits was installed from (`pip install git+https://...`,
    recorded by pip as PEP 610 `direct_url.json`), at the installed commit; or else the
    `Repository` URL of the package metadata (`[project.urls]`), on `main`. None when whowaits
    was installed from a local folder with neither: no link is better than a wrong one.
    """
    from importlib import metadata

    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return None
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        direct = {}
    vcs = direct.get("vcs_info") if isinstance(direct, dict) else None
    url = str(direct.get("url", "")) if isinstance(direct, dict) else ""
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and url.startswith("https://"):
        return f"{url.removesuffix('.git').rstrip('/')}/blob/{vcs.get('commit_id') or 'main'}/rules/"
    for entry in dist.metadata.get_all("Project-URL") or []:
        label, _, link = entry.partition(",")
        if label.strip().lower() in ("repository", "source") and link.strip().startswith("https://"):
            return f"{link.strip().rstrip('/')}/blob/main/rules/"
    return None
