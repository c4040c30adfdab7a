"""YAML with line numbers, for evidence that points at the manifest line.

Scalars come back as `LStr` (a str that knows its line), mappings as `LDict` (a dict that knows
each key's line), sequences as `LList`. Every scalar stays a string: YAML 1.1 would otherwise
turn GitHub's `on:` key into `True`.
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
    """The file is not YAML; the message says where."""


def _convert(node: yaml.Node) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        out = LStr(node.value)
        out.line = line
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = LList(_convert(child) for child in node.value)
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
                merged = _convert(value_node)
                for item in merged if isinstance(merged, list) else [merged]:
                    if isinstance(item, LDict):
                        for k, v in item.items():
                            mapping.setdefault(k, v)
                            mapping.key_lines.setdefault(k, item.line_of(k))
                continue
            mapping[key_node.value] = _convert(value_node)
            mapping.key_lines[key_node.value] = key_node.start_mark.line + 1
        return mapping
    return None


def load_documents(text: str) -> List[Any]:
    """Every document of a YAML stream, line-aware."""
    try:
        return [_convert(node) for node in yaml.compose_all(text, Loader=yaml.SafeLoader) if node is not None]
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
