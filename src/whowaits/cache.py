"""Content-hash cache of per-file facts in `.whowaits_cache/` at the project root.

The cache lives inside the scanned tree, which may be an attacker's pull request, so it holds
data only: JSON rebuilt into `FileFacts` by a decoder that checks every field against the
dataclass annotations in `core.py` and refuses anything else. An entry that does not validate
(wrong shape, bad UTF-8, truncated, planted) is a miss, never an error and never code.

Facts are a pure function of a file's bytes and of the code that computes them, so the folder
is named after whowaits' version, the facts schema and a hash of whowaits' own source: an
upgrade or an edited development install starts a fresh folder instead of reading stale
facts. A warm run reads JSON and never imports libcst. The folder carries a CACHEDIR.TAG and
a `.gitignore` of `*` so backups and git leave it alone, and it is never followed through a
symlink: a tree that plants `.whowaits_cache -> ~/.ssh` gets no cache, not a write there.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import stat
import typing
from typing import Any, Dict, Optional, Tuple

from whowaits import __version__, core
from whowaits.core import FileFacts

CACHE_DIR = ".whowaits_cache"
# Bumped when the JSON layout itself changes (the dataclass fields are covered by the code hash).
SCHEMA = 1
# Facts of one file as JSON stay far below this; anything bigger was not written by us.
MAX_ENTRY_BYTES = 16 * 1024 * 1024
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This file marks a cache directory created by whowaits.\n"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class Invalid(ValueError):
    """A cache entry that does not have the shape of `FileFacts`."""


@functools.lru_cache(maxsize=None)
def code_hash() -> str:
    """A hash of every Python file of the installed whowaits package.

    Knowledge tables and the facts code change what a file's facts are without changing the
    version string during development; hashing the package's own source catches both.
    """
    digest = hashlib.sha256()
    package = os.path.dirname(os.path.abspath(__file__))
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, package).encode() + b"\0")
                with open(path, "rb") as fh:
                    digest.update(fh.read())
    return digest.hexdigest()[:16]


def cache_generation() -> str:
    """The sub-folder for this whowaits: version, JSON schema and code hash."""
    return f"{__version__}-s{SCHEMA}-{code_hash()}"


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------------
# Data-only encoding of the frozen dataclasses in core.py
# --------------------------------------------------------------------------------------------


def encode(value: Any) -> Any:
    """A dataclass tree as JSON values: dataclasses become objects, tuples lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    return value


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> Dict[str, Any]:
    return typing.get_type_hints(cls, vars(core))


def decode(annotation: Any, value: Any) -> Any:
    """Rebuild `value` as `annotation` says, or raise `Invalid`: nothing but core's dataclasses,
    tuples and JSON scalars can come out, whatever the input."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        raise Invalid("untyped field")
    if origin is typing.Union:
        for option in typing.get_args(annotation):
            try:
                return decode(option, value)
            except Invalid:
                continue
        raise Invalid(f"{value!r:.40} matches no option of {annotation}")
    if origin is tuple:
        args = typing.get_args(annotation)
        if not isinstance(value, list):
            raise Invalid("expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v) for v in value)
        if len(args) != len(value):
            raise Invalid("wrong tuple length")
        return tuple(decode(a, v) for a, v in zip(args, value))
    if annotation is type(None):
        if value is not None:
            raise Invalid("expected null")
        return None
    if annotation is bool:
        if not isinstance(value, bool):
            raise Invalid("expected a boolean")
        return value
    if annotation is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid("expected an integer")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Invalid("expected a number")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise Invalid("expected a string")
        return value
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation) and annotation.__module__ == core.__name__:
        if not isinstance(value, dict):
            raise Invalid("expected an object")
        hints = _hints(annotation)
        fields = {f.name for f in dataclasses.fields(annotation)}
        if set(value) - fields:
            raise Invalid(f"unknown fields for {annotation.__name__}")
        kwargs = {name: decode(hints[name], item) for name, item in value.items()}
        try:
            return annotation(**kwargs)
        except TypeError as exc:  # a required field is missing
            raise Invalid(str(exc)) from exc
    raise Invalid(f"unsupported type {annotation!r}")


def dumps(facts: FileFacts) -> bytes:
    return json.dumps(encode(facts), separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def loads(data: bytes) -> FileFacts:
    """Facts from a cache entry's bytes; `Invalid` for anything that is not exactly that."""
    try:
        raw = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Invalid(f"not JSON: {exc}") from exc
    facts = decode(FileFacts, raw)
    assert isinstance(facts, FileFacts)
    return facts


def _refuse_constant(name: str) -> Any:
    raise Invalid(f"{name} is not a cached value")


# --------------------------------------------------------------------------------------------
# The folder
# --------------------------------------------------------------------------------------------


def _real_dir(path: str) -> bool:
    """A folder that is not a symlink (lstat never follows the last component)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


class FactsCache:
    """Reads and writes one generation folder; every failure is a miss or a skipped write."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.top = os.path.join(self.root, CACHE_DIR)
        self.dir = os.path.join(self.top, cache_generation())
        self._ready = False
        self._disabled = not self._safe_chain(create=False, missing_ok=True)

    def _safe_chain(self, create: bool, missing_ok: bool) -> bool:
        """The root and every cache folder below it are real folders, not symlinks.

        With `create`, missing folders are made (one at a time, so a symlink planted between
        checks is still seen by lstat before anything is written into it)."""
        if os.path.islink(self.root) or not _real_dir(self.root):
            return False
        for folder in (self.top, self.dir):
            if os.path.lexists(folder):
                if not _real_dir(folder):
                    return False
            elif create:
                try:
                    os.mkdir(folder, 0o755)
                except FileExistsError:
                    if not _real_dir(folder):
                        return False
            elif not missing_ok:
                return False
        return True

    def _entry(self, key: str) -> Tuple[str, str]:
        shard = os.path.join(self.dir, key[:2])
        return shard, os.path.join(shard, key + ".json")

    def get(self, key: str) -> Optional[FileFacts]:
        if self._disabled:
            return None
        shard, path = self._entry(key)
        if not _real_dir(shard):
            return None
        try:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES:
                return None
            with os.fdopen(fd, "rb") as fh:
                fd = -1
                data = fh.read(MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        finally:
            if fd >= 0:
                os.close(fd)
        try:
            return loads(data)
        except (Invalid, RecursionError):
            return None

    def put(self, key: str, facts: FileFacts) -> None:
        if self._disabled:
            return
        try:
            if not self._prepare():
                return
            shard, path = self._entry(key)
            if os.path.lexists(shard):
                if not _real_dir(shard):
                    return
            else:
                try:
                    os.mkdir(shard, 0o755)
                except FileExistsError:
                    if not _real_dir(shard):
                        return
            tmp = os.path.join(shard, f".{key}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(dumps(facts))
            os.replace(tmp, path)
        except (OSError, ValueError):
            pass  # a read-only checkout still gets its findings, only slower next time

    def _prepare(self) -> bool:
        if self._ready:
            return True
        if not self._safe_chain(create=True, missing_ok=False):
            self._disabled = True
            return False
        for name, text in (("CACHEDIR.TAG", _TAG), (".gitignore", "*\n")):
            try:
                fd = os.open(os.path.join(self.top, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
            except FileExistsError:
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        self._ready = True
        return True

