"""Pre-merge runners that are not CI services: pre-commit local hooks, tox and nox sessions."""

from __future__ import annotations

import configparser
import re
import shlex
from typing import List

from whowaits.core import ManifestEntry
from whowaits.manifests.yamlload import as_list, get, line_of, load_documents


def read_precommit(path: str, text: str) -> List[ManifestEntry]:
    docs = load_documents(text)
    out = []
    for repo in as_list(get(docs[0] if docs else None, "repos")):
        if get(repo, "repo") != "local":
            continue
        for hook in as_list(get(repo, "hooks")):
            entry = get(hook, "entry")
            if not isinstance(entry, str):
                continue
            args = " ".join(shlex.quote(str(a)) for a in as_list(get(hook, "args")))
            command = f"{entry} {args}".strip()
            if get(hook, "language") == "python" and not entry.split()[0].startswith(("python", "./")) and not entry.endswith(".py"):
                command = f"{command}"  # a console script of the hook's package: resolved by name
            out.append(ManifestEntry(path, line_of(hook), "ci_premerge", f"pre-commit hook {get(hook, 'id')}", command, line_of(entry)))
    return out


def read_tox(path: str, text: str) -> List[ManifestEntry]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return []
    lines = text.splitlines()
    out = []
    for section in parser.sections():
        if not section.startswith("testenv"):
            continue
        commands = parser[section].get("commands", "")
        header = next((n for n, item in enumerate(lines, 1) if item.strip() == f"[{section}]"), 1)
        for command in commands.splitlines():
            command = command.strip()
            if command:
                line = next((n for n, item in enumerate(lines, 1) if command in item and n >= header), header)
                out.append(ManifestEntry(path, header, "ci_premerge", f"tox [{section}]", command, line))
    return out


_SESSION_RUN = re.compile(r"session\.run\(([^)]*)\)")
_STRING = re.compile(r"""(?:"([^"]*)"|'([^']*)')""")


def read_nox(path: str, text: str) -> List[ManifestEntry]:
    out = []
    for match in _SESSION_RUN.finditer(text):
        parts = [a or b for a, b in _STRING.findall(match.group(1).split("env=")[0])]
        if parts:
            line = text[: match.start()].count("\n") + 1
            out.append(ManifestEntry(path, line, "ci_premerge", "nox session", " ".join(shlex.quote(p) for p in parts), line))
    return out
