"""The only way whowaits changes files of the scanned tree: `--fix`, `migrate --write` and
`--add-noqa` hand their new contents here.

All or nothing: every new content is first written to a temporary file beside its target
(created exclusively, never through a symlink, with the target's permissions); only when all
are staged is each moved over its target, and a failure while moving puts back the originals
already replaced. A target that resolves outside the project root is refused before anything
is written.
"""

from __future__ import annotations

import os
from typing import Dict, List, Tuple

from whowaits.discover import inside

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class WriteError(Exception):
    """A file could not be changed; nothing (or nothing lasting) was written."""


def replace_files(root: str, contents: Dict[str, bytes]) -> None:
    """Give each file (path relative to `root`) its new content, atomically as a set."""
    staged: List[Tuple[str, str]] = []  # (temporary, target)
    try:
        for relpath, data in sorted(contents.items()):
            target = os.path.join(root, relpath)
            if not inside(root, target):
                raise WriteError(f"{relpath}: outside the project root; nothing was written")
            folder, name = os.path.split(target)
            tmp = os.path.join(folder, f".{name}.whowaits-{os.getpid()}.tmp")
            mode = os.stat(target).st_mode & 0o7777 if os.path.exists(target) else 0o644
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, mode)
            staged.append((tmp, target))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
    except OSError as exc:
        _discard(staged)
        raise WriteError(f"cannot write {exc.filename or ''}: {exc.strerror}; nothing was written") from exc
    except WriteError:
        _discard(staged)
        raise
    originals: Dict[str, bytes] = {}
    done: List[str] = []
    try:
        for tmp, target in staged:
            if os.path.exists(target):
                with open(target, "rb") as fh:
                    originals[target] = fh.read()
            os.replace(tmp, target)
            done.append(target)
    except OSError as exc:
        for target in done:
            if target in originals:
                with open(target, "wb") as fh:
                    fh.write(originals[target])
        _discard(staged)
        raise WriteError(f"cannot replace {exc.filename or ''}: {exc.strerror}; the originals were restored") from exc


def _discard(staged: List[Tuple[str, str]]) -> None:
    for tmp, _ in staged:
        try:
            os.remove(tmp)
        except OSError:
            pass
