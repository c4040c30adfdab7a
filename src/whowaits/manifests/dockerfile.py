"""Dockerfiles: the command a container runs (`ENTRYPOINT` / `CMD`), as a shell command line.

Read for Docker container actions (`runs: using: docker, image: Dockerfile`): the container is
built from the repository (`COPY . .` into the `WORKDIR`), so paths under the work folder are
the repository's own paths.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Dict, List, Optional, Tuple

_INSTRUCTION = re.compile(r"^\s*(ENTRYPOINT|CMD|WORKDIR)\s+(.*)$", re.IGNORECASE)


def container_command(text: str) -> Optional[Tuple[str, int]]:
    """The last `ENTRYPOINT` followed by the last `CMD` (exec or shell form), with the line of
    the instruction that names the program; the work folder's prefix is removed from paths."""
    workdir = ""
    found: Dict[str, Tuple[List[str], int]] = {}
    lines = text.replace("\\\n", " ").splitlines()
    for number, text_line in enumerate(lines, start=1):
        match = _INSTRUCTION.match(text_line)
        if not match:
            continue
        keyword, value = match.group(1).upper(), match.group(2).strip()
        if keyword == "WORKDIR":
            workdir = value.rstrip("/")
        else:
            found[keyword] = (_words(value), number)
    entry, cmd = found.get("ENTRYPOINT"), found.get("CMD")
    program = entry or cmd
    if program is None:
        return None
    words = (entry[0] if entry else []) + (cmd[0] if cmd else [])
    line = program[1]
    if workdir.startswith("/"):
        words = [w[len(workdir) + 1 :] if w.startswith(workdir + "/") else w for w in words]
    return " ".join(shlex.quote(w) for w in words), line


def _words(value: str) -> List[str]:
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return []
        return [str(w) for w in parsed] if isinstance(parsed, list) else []
    try:
        return shlex.split(value)
    except ValueError:
        return []
