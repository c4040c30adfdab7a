"""Content-hash cache of per-file facts in `.whowaits_cache/` at the project root.

Facts are a pure function of a file's bytes and of whowaits' version, so the key is the hash
of both; a warm run reads pickles and never imports libcst. The folder carries a CACHEDIR.TAG
and a `.gitignore` of `*` so backups and git leave it alone.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from typing import Optional

from whowaits import __version__
from whowaits.core import FileFacts

CACHE_DIR = ".whowaits_cache"
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This file marks a cache directory created by whowaits.\n"


def content_key(data: bytes) -> str:
    return hashlib.sha256(__version__.encode() + b"\0" + data).hexdigest()


class FactsCache:
    def __init__(self, root: str) -> None:
        self.dir = os.path.join(root, CACHE_DIR, __version__)
        self._ready = False

    def get(self, key: str) -> Optional[FileFacts]:
        try:
            with open(os.path.join(self.dir, key[:2], key), "rb") as fh:
                value = pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        return value if isinstance(value, FileFacts) else None

    def put(self, key: str, facts: FileFacts) -> None:
        try:
            self._prepare()
            folder = os.path.join(self.dir, key[:2])
            os.makedirs(folder, exist_ok=True)
            tmp = os.path.join(folder, f".{key}.{os.getpid()}")
            with open(tmp, "wb") as fh:
                pickle.dump(facts, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, os.path.join(folder, key))
        except OSError:
            pass  # a read-only checkout still gets its findings, only slower next time

    def _prepare(self) -> None:
        if self._ready:
            return
        top = os.path.dirname(self.dir)
        os.makedirs(self.dir, exist_ok=True)
        for name, text in (("CACHEDIR.TAG", _TAG), (".gitignore", "*\n")):
            path = os.path.join(top, name)
            if not os.path.exists(path):
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(text)
        self._ready = True
