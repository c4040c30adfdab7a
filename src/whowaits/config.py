"""Settings: `[tool.whowaits]` in pyproject.toml or a whowaits.toml, then the command line.

The nearest configuration file walking up from the first path wins (a pyproject.toml without a
`[tool.whowaits]` table does not count); `--config` names one explicitly and `--isolated`
ignores them all. Every key is validated: an unknown key, a wrong type or an unknown rule code
is a `ConfigError` whose message names the file, the key and what was expected.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field, fields, replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

from whowaits.core import SEVERITIES, RuleMeta
from whowaits.knowledge.limits import DEFAULT_POLL_INTERVAL_MIN

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib


class ConfigError(Exception):
    """A configuration problem: the message is one line naming the file and the key."""


@dataclass(frozen=True)
class Settings:
    select: Tuple[str, ...] = ()  # empty: every rule, built-in and from rule-paths
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    fail_on: str = "error"
    exclude: Tuple[str, ...] = ()
    extend_exclude: Tuple[str, ...] = ()
    per_file_ignores: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    severity: Tuple[Tuple[str, str], ...] = ()
    poll_interval_min: float = DEFAULT_POLL_INTERVAL_MIN
    rule_paths: Tuple[str, ...] = ()
    blocking: Tuple[str, ...] = ()  # [contexts] blocking patterns
    tolerant: Tuple[str, ...] = ()  # [contexts] tolerant patterns
    prices: Optional[str] = None  # a price table file extending the built-in one (absolute path)
    config_file: Optional[str] = None
    sources: Tuple[Tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def config_dir(self) -> str:
        return os.path.dirname(self.config_file) if self.config_file else os.getcwd()

    def source_of(self, name: str) -> str:
        return dict(self.sources).get(name, "default")

    def with_values(self, origin: str, **values: Any) -> "Settings":
        """A copy with some settings replaced, remembering where they came from."""
        sources = dict(self.sources)
        for key in values:
            sources[key] = origin
        return replace(self, sources=tuple(sorted(sources.items())), **values)

    @property
    def all_excludes(self) -> Tuple[str, ...]:
        return self.exclude + self.extend_exclude

    @property
    def selected(self) -> Tuple[str, ...]:
        return (self.select or ("",)) + self.extend_select


# key in the file -> (Settings field, expected type description, parser)
def _strings(value: Any) -> Tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("a list of strings")
    return tuple(value)


def _severity_name(value: Any) -> str:
    if value not in SEVERITIES:
        raise TypeError("one of " + ", ".join(f'"{s}"' for s in SEVERITIES))
    return str(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise TypeError("a finite, non-negative number of seconds")
    return float(value)


def _path(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError("a path to a file")
    return value


def _per_file(value: Any) -> Tuple[Tuple[str, Tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise TypeError('a table of "glob" = ["CODE", ...]')
    return tuple((glob, _strings(codes)) for glob, codes in value.items())


def _severities(value: Any) -> Tuple[Tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise TypeError('a table of CODE = "error" | "warning" | "info"')
    return tuple((code, _severity_name(sev)) for code, sev in value.items())


_KEYS = {
    "select": ("select", _strings),
    "extend-select": ("extend_select", _strings),
    "ignore": ("ignore", _strings),
    "fail-on": ("fail_on", _severity_name),
    "exclude": ("exclude", _strings),
    "extend-exclude": ("extend_exclude", _strings),
    "per-file-ignores": ("per_file_ignores", _per_file),
    "severity": ("severity", _severities),
    "poll-interval-min": ("poll_interval_min", _number),
    "rule-paths": ("rule_paths", _strings),
    "prices": ("prices", _path),
}
_CONTEXT_KEYS = {"blocking": "blocking", "tolerant": "tolerant"}


def find_config(start: str) -> Optional[str]:
    """The nearest whowaits.toml, or pyproject.toml with a [tool.whowaits] table, at or above."""
    current = os.path.abspath(start)
    if not os.path.isdir(current):
        current = os.path.dirname(current)
    while True:
        candidate = os.path.join(current, "whowaits.toml")
        if os.path.isfile(candidate):
            return candidate
        candidate = os.path.join(current, "pyproject.toml")
        if os.path.isfile(candidate) and _has_tool_table(candidate):
            return candidate
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _has_tool_table(path: str) -> bool:
    try:
        data = read_toml(path)
    except ConfigError:
        return True  # let load_settings report the problem rather than skip a broken file
    return isinstance(data.get("tool"), dict) and "whowaits" in data["tool"]


MAX_TOML_BYTES = 1024 * 1024  # configuration and rule files are a few kilobytes


def read_toml(path: str, error: type = ConfigError) -> Dict[str, Any]:
    """A TOML file as a dict; an unreadable, oversized, binary, non-UTF-8, invalid or absurdly
    nested file raises `error` with one line naming the file and what is wrong."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TOML_BYTES + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from exc
    if len(data) > MAX_TOML_BYTES:
        raise error(f"{path}: larger than {MAX_TOML_BYTES // 1024} KB, not a configuration file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}); TOML files are UTF-8") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: invalid TOML: {str(exc).splitlines()[0]}") from exc
    except RecursionError as exc:
        raise error(f"{path}: invalid TOML: nested too deeply") from exc


def load_settings(path: str) -> Settings:
    """Read and validate one configuration file."""
    data = read_toml(path)
    table_name = "[tool.whowaits]"
    if os.path.basename(path) == "pyproject.toml":
        table = data.get("tool", {}).get("whowaits", {})
    else:
        table, table_name = data, "whowaits.toml"
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {table_name} must be a table")
    settings = Settings(config_file=os.path.abspath(path))
    values: Dict[str, Any] = {}
    for key, value in table.items():
        if key == "contexts":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: `contexts` in {table_name} must be a table with `blocking` and `tolerant`")
            for ckey, cvalue in value.items():
                if ckey not in _CONTEXT_KEYS:
                    raise ConfigError(f"{path}: unknown key `contexts.{ckey}` in {table_name} (expected `blocking` or `tolerant`)")
                try:
                    values[_CONTEXT_KEYS[ckey]] = _strings(cvalue)
                except TypeError as exc:
                    raise ConfigError(f"{path}: `contexts.{ckey}` must be {exc}") from exc
            continue
        if key not in _KEYS:
            known = ", ".join(sorted(list(_KEYS) + ["contexts"]))
            raise ConfigError(f"{path}: unknown key `{key}` in {table_name} (known keys: {known})")
        name, parse = _KEYS[key]
        try:
            values[name] = parse(value)
        except TypeError as exc:
            raise ConfigError(f"{path}: `{key}` must be {exc}") from exc
    if "prices" in values:
        values["prices"] = _price_file(path, os.path.join(os.path.dirname(os.path.abspath(path)), values["prices"]))
    return settings.with_values(path, **values)


def _price_file(config: str, prices: str) -> str:
    """A user price table, validated now so a mistake is a configuration error naming it."""
    from whowaits.cost import PriceError, read_price_file

    if not os.path.isfile(prices):
        raise ConfigError(f"{config}: `prices` names {prices}, which is not a file")
    try:
        read_price_file(prices)
    except PriceError as exc:
        raise ConfigError(f"{config}: `prices`: {exc}") from exc
    return prices


def resolve_settings(
    paths: Sequence[str], config: Optional[str] = None, isolated: bool = False
) -> Settings:
    """The settings for a run: defaults, then the configuration file (unless isolated)."""
    if isolated:
        return Settings()
    if config is not None:
        if not os.path.isfile(config):
            raise ConfigError(f"{config}: no such configuration file")
        return load_settings(config)
    found = find_config(paths[0] if paths else ".")
    return load_settings(found) if found else Settings()


def check_codes(settings: Settings, known: Sequence[str]) -> None:
    """Every code or prefix a setting names must match a rule."""
    origin = settings.config_file or "command line"

    def verify(key: str, codes: Sequence[str]) -> None:
        for code in codes:
            if not any(k.startswith(code) for k in known):
                where = settings.source_of(key)
                raise ConfigError(f"{where if where != 'default' else origin}: `{key.replace('_', '-')}` names unknown rule code or prefix `{code}`")

    verify("select", settings.select)
    verify("extend_select", settings.extend_select)
    verify("ignore", settings.ignore)
    for _, codes in settings.per_file_ignores:
        verify("per_file_ignores", codes)
    for code, _ in settings.severity:
        if code not in known:
            raise ConfigError(f"{settings.source_of('severity')}: `severity` names unknown rule code `{code}`")


def describe(settings: Settings, catalog: Dict[str, RuleMeta]) -> List[str]:
    """`name = value   # source` lines for `whowaits config`, then the rules in force with their
    severity (an empty `select = []` means every rule, which nobody can read off it)."""
    from whowaits.checks import selected

    lines = [f"# configuration file: {settings.config_file or 'none (defaults)'}"]
    for f in fields(Settings):
        if f.name in ("config_file", "sources"):
            continue
        value = getattr(settings, f.name)
        if f.name == "select" and not value:
            lines.append(f"{'select':<18} = {'(every rule)':<40} # {settings.source_of(f.name)}")
            continue
        if f.name in ("per_file_ignores", "severity"):
            value = {k: (list(v) if isinstance(v, tuple) else v) for k, v in value}
        elif isinstance(value, tuple):
            value = list(value)
        lines.append(f"{f.name.replace('_', '-'):<18} = {value!r:<40} # {settings.source_of(f.name)}")
    severities = dict(settings.severity)
    in_force = [r for code, r in sorted(catalog.items()) if selected(code, settings.selected, settings.ignore)]
    lines.append("")
    lines.append(f"# rules in force ({len(in_force)} of {len(catalog)})")
    lines.extend(f"{r.code:<8} {r.name:<38} {severities.get(r.code, r.severity)}" for r in in_force)
    return lines


def load_rules(settings: Settings) -> Dict[str, RuleMeta]:
    """The built-in catalog plus the policy rules `rule-paths` names (relative to the config)."""
    from whowaits.catalog import load_catalog

    return load_catalog(rule_paths=rule_paths(settings))


def rules_fingerprint(settings: Settings) -> str:
    """A hash of the rule files `load_rules` would read (`catalog.fingerprint`), without parsing them."""
    from whowaits.catalog import fingerprint

    return fingerprint(rule_paths(settings))


def rule_paths(settings: Settings) -> List[str]:
    """The `rule-paths` files and folders, relative to the configuration file's folder."""
    return [os.path.join(settings.config_dir, p) for p in settings.rule_paths]
