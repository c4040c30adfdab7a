"""YAML with line numbers, for evidence that points at the manifest line.

Scalars come back as `LStr` (a str that knows its line), mappings as `LDict` (a dict that knows
each key's line), sequences as `LList`. Every scalar stays a string: YAML 1.1 would otherwise
turn GitHub's `on:` key into `True`.

Manifests come from the scanned tree, so reading one is bounded: aliases are expanded into at
most `MAX_NODES` nodes in all (a kilobyte of nested aliases would otherwise grow into
gigabytes) and `<<` merge keys nest at most `MAX_MERGE_DEPTH` deep. Over a bound, the file is a
one-line `YamlError` and the run goes on.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import yaml


class LStr(str):
    line: int = 0


class LDict(dict):
    line: int = 0
    key_lines: Dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LList(list):
    line: int = 0


class YamlError(Exception):
    """The file is not YAML (or is over a bound); the message says where or which."""


MAX_NODES = 200_000  # far above any real workflow; a YAML bomb passes it in microseconds
MAX_MERGE_DEPTH = 16
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Budget:
    """How many more nodes the conversion may build, and how deep merges nest now."""

    def __init__(self) -> None:
        self.nodes = MAX_NODES
        self.merges = 0


def _convert(node: yaml.Node, budget: _Budget) -> Any:
    budget.nodes -= 1
    if budget.nodes < 0:
        raise YamlError(f"too large once aliases are expanded (over {MAX_NODES:,} nodes)")
    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        out = LStr(node.value)
        out.line = line
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = LList(_convert(child, budget) for child in node.value)
        seq.line = line
        return seq
    if isinstance(node, yaml.MappingNode):
        mapping = LDict()
        mapping.line = line
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            if key_node.value == "<<":  # merge keys: copy the referenced mapping's entries
                budget.merges += 1
                if budget.merges > MAX_MERGE_DEPTH:
                    raise YamlError(f"merge keys (<<) nested more than {MAX_MERGE_DEPTH} deep")
                merged = _convert(value_node, budget)
                budget.merges -= 1
                for item in merged if isinstance(merged, list) else [merged]:
                    if isinstance(item, LDict):
                        for k, v in item.items():
                            mapping.setdefault(k, v)
                            mapping.key_lines.setdefault(k, item.line_of(k))
                continue
            mapping[key_node.value] = _convert(value_node, budget)
            mapping.key_lines[key_node.value] = key_node.start_mark.line + 1
        return mapping
    return None


def load_documents(text: str) -> List[Any]:
    """Every document of a YAML stream, line-aware."""
    try:
        budget = _Budget()
        return [_convert(node, budget) for node in yaml.compose_all(text, Loader=_LOADER) if node is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlError(f"invalid YAML{where}: {problem}") from exc
    except RecursionError as exc:
        raise YamlError("invalid YAML: too deeply nested") from exc


def line_of(value: Any, default: int = 0) -> int:
    return getattr(value, "line", default) or default


def as_list(value: Any) -> List[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def get(mapping: Any, key: str) -> Optional[Any]:
    return mapping.get(key) if isinstance(mapping, dict) else None
