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
import enum
import functools
import hashlib
import json
import os
import stat
import typing
from typing import Any, Callable, Dict, Optional, Tuple

from whowaits import __version__, core
from whowaits.core import FileFacts, RenderedRun, RunRecord

CACHE_DIR = ".whowaits_cache"
# Bumped when the JSON layout itself changes (the dataclass fields are covered by the code hash).
SCHEMA = 3
# Facts of one file as JSON stay far below this; anything bigger was not written by us.
MAX_ENTRY_BYTES = 16 * 1024 * 1024
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This file marks a cache directory created by whowaits.\n"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class Invalid(ValueError):
    """A cache entry that does not have the shape of `FileFacts`."""


@functools.lru_cache(maxsize=None)
def code_hash() -> str:
    """A hash of every Python and TOML file (code and knowledge tables) of the installed package.

    Knowledge tables and the facts code change what a file's facts are without changing the
    version string during development; hashing the package's own source catches both.
    """
    digest = hashlib.sha256()
    package = os.path.dirname(os.path.abspath(__file__))
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".toml")):
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


def encode(value: Any, tagged: bool = False) -> Any:
    """A dataclass tree as JSON values: dataclasses become objects (without the fields that hold
    their default, which most facts do), tuples lists, enums their values. With `tagged` (the
    value sits where a union of several dataclasses is declared) a dataclass also names its
    class under `KIND`.

    Dispatched on the value's exact class, with one encoder per dataclass made once (as the
    decoder is): a cold run encodes every file's facts, and asking each value whether it is a
    dataclass, a sequence or an enum cost as much as the analysis of a small file."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None or kind is float:
        return value
    if kind is tuple or kind is list:
        return [encode(v, tagged) for v in value]
    found = _ENCODERS.get(kind)
    if found is None:
        found = _ENCODERS[kind] = _encoder(kind)
    return found(value, tagged)


Encoder = Callable[[Any, bool], Any]
_ENCODERS: Dict[type, Encoder] = {}


def _encoder(kind: type) -> Encoder:
    if dataclasses.is_dataclass(kind):
        fields = _fields(kind)
        name = kind.__name__

        def fields_of(value: Any, tagged: bool) -> Any:
            out = {KIND: name} if tagged else {}
            for field, default, tags in fields:
                item = getattr(value, field)
                if item is not default and item != default:
                    out[field] = encode(item, tags)
            return out
        return fields_of
    if issubclass(kind, enum.Enum):
        return lambda value, tagged: value.value
    if issubclass(kind, (tuple, list)):  # a named tuple
        return lambda value, tagged: [encode(v, tagged) for v in value]
    return lambda value, tagged: value


_REQUIRED = object()  # the default of a field that has none
# The key naming a union member's class (`LocalRef` and `LocalInstance` have the same fields);
# no field name can be it.
KIND = "@"


@functools.lru_cache(maxsize=None)
def _fields(cls: type) -> Tuple[Tuple[str, Any, bool], ...]:
    """Each field's name, default, and whether its values (or a tuple's items) are tagged."""
    hints = typing.get_type_hints(cls, vars(core))
    return tuple((f.name, f.default if f.default is not dataclasses.MISSING else _REQUIRED, _tagged(hints[f.name]))
                 for f in dataclasses.fields(cls))


@functools.lru_cache(maxsize=None)
def _members(annotation: Any) -> Dict[str, type]:
    """The dataclasses of a union that has more than one, by class name; else nothing."""
    origin = typing.get_origin(annotation)
    if origin is not typing.Union and (_UnionType is None or origin is not _UnionType):
        return {}
    classes = {o.__name__: o for o in typing.get_args(annotation) if isinstance(o, type) and dataclasses.is_dataclass(o)}
    return classes if len(classes) > 1 else {}


def _tagged(annotation: Any) -> bool:
    """Whether a field holds members of a union of several dataclasses, itself or as the items
    of a `Tuple[X, ...]`: the encoder tags them, the decoder expects the tag. Anywhere else in
    an annotation such a union is refused, so the two cannot disagree."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _tagged(args[0])
    if _members(annotation):
        return True
    if any(_holds_members(a) for a in args):
        raise TypeError(f"the cache cannot tell the dataclasses of {annotation} apart there")
    return False


def _holds_members(annotation: Any) -> bool:
    return bool(_members(annotation)) or any(_holds_members(a) for a in typing.get_args(annotation))


def decode(annotation: Any, value: Any) -> Any:
    """Rebuild `value` as `annotation` says, or raise `Invalid`: nothing but core's dataclasses,
    its enums, tuples and JSON scalars can come out, whatever the input."""
    return _decoder(annotation)(value)


Decoder = Callable[[Any], Any]


@functools.lru_cache(maxsize=None)
def _decoder(annotation: Any) -> Decoder:
    """One checking function per annotation, built once: a warm run decodes every file's facts,
    and walking `typing` objects per value cost more than reading the JSON."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or (_UnionType is not None and origin is _UnionType):
        options = typing.get_args(annotation)
        if len(options) == 2 and type(None) in options:  # Optional[X]: the common case, one test
            inner = _decoder(next(o for o in options if o is not type(None)))
            return lambda value: None if value is None else inner(value)
        classes = _members(annotation)
        if classes:
            others = tuple(o for o in options if o not in classes.values())
            return _tagged_union(classes, _first_of(tuple(_decoder(o) for o in others), annotation))
        return _first_of(tuple(_decoder(o) for o in options), annotation)
    if origin is tuple:
        return _tuple(typing.get_args(annotation))
    if annotation is type(None):
        return _expect(lambda v: v is None, "null")
    if annotation is bool:
        return _expect(lambda v: v is True or v is False, "a boolean")
    if annotation is int:
        return _expect(lambda v: type(v) is int, "an integer")
    if annotation is float:
        def number(value: Any) -> float:
            if type(value) is not float and type(value) is not int:
                raise Invalid("expected a number")
            return float(value)
        return number
    if annotation is str:
        return _expect(lambda v: type(v) is str, "a string")
    if isinstance(annotation, type) and annotation.__module__ == core.__name__:
        if issubclass(annotation, enum.Enum):
            members = {m.value: m for m in annotation}

            def member(value: Any) -> Any:
                try:
                    return members[value]
                except (KeyError, TypeError):
                    raise Invalid(f"{value!r:.40} is not a {annotation.__name__}") from None
            return member
        if dataclasses.is_dataclass(annotation):
            return _dataclass(annotation)
    def unsupported(value: Any) -> Any:
        raise Invalid(f"unsupported type {annotation!r}")
    return unsupported


_UnionType = getattr(__import__("types"), "UnionType", None)  # `X | None` annotations (3.10+)


def _expect(test: Callable[[Any], bool], what: str) -> Decoder:
    def check(value: Any) -> Any:
        if not test(value):
            raise Invalid(f"expected {what}")
        return value
    return check


def _first_of(options: Tuple[Decoder, ...], annotation: Any) -> Decoder:
    def first(value: Any) -> Any:
        for option in options:
            try:
                return option(value)
            except Invalid:
                continue
        raise Invalid(f"{value!r:.40} matches no option of {annotation}")
    return first


def _tagged_union(members: Dict[str, type], others: Decoder) -> Decoder:
    """An object is the member its `KIND` names; any other value is one of the other options."""
    decoders = {name: _decoder(cls) for name, cls in members.items()}

    def member(value: Any) -> Any:
        if type(value) is not dict:
            return others(value)
        kind = value.get(KIND)
        decode_kind = decoders.get(kind) if type(kind) is str else None
        if decode_kind is None:
            raise Invalid(f"{kind!r:.40} names no option")
        return decode_kind({name: item for name, item in value.items() if name != KIND})
    return member


def _tuple(args: Tuple[Any, ...]) -> Decoder:
    if len(args) == 2 and args[1] is Ellipsis:
        item = _decoder(args[0])

        def items(value: Any) -> Any:
            if type(value) is not list:
                raise Invalid("expected a list")
            return tuple([item(v) for v in value])
        return items
    parts = tuple(_decoder(a) for a in args)

    def fixed(value: Any) -> Any:
        if type(value) is not list or len(value) != len(parts):
            raise Invalid("expected a list of the tuple's length")
        return tuple([part(v) for part, v in zip(parts, value)])
    return fixed


def _dataclass(cls: type) -> Decoder:
    fields: Dict[str, Decoder] = {}  # filled on first use: dataclasses may refer to each other

    def build(value: Any) -> Any:
        if type(value) is not dict:
            raise Invalid("expected an object")
        if not fields:
            hints = typing.get_type_hints(cls, vars(core))
            fields.update((f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls))
        try:
            kwargs = {name: fields[name](item) for name, item in value.items()}
        except KeyError:
            raise Invalid(f"unknown fields for {cls.__name__}") from None
        try:
            return cls(**kwargs)
        except TypeError as exc:  # a required field is missing
            raise Invalid(str(exc)) from exc
    return build


def dumps(value: object) -> bytes:
    return json.dumps(encode(value), separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def loads(data: bytes, kind: type = FileFacts) -> object:
    """A `kind` (facts, a run record) from a cache entry's bytes; `Invalid` for anything that is
    not exactly that."""
    try:
        raw = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Invalid(f"not JSON: {exc}") from exc
    return decode(kind, raw)


def _decoded(data: Optional[bytes], kind: type) -> Optional[object]:
    """`loads`, with None for an entry that is missing or not exactly a `kind`."""
    if data is None:
        return None
    try:
        return loads(data, kind)
    except (Invalid, RecursionError):
        return None


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


def _made_real_dir(folder: str) -> bool:
    """`folder` is a real folder, made if missing: a symlink found there, or planted between
    the check and the mkdir, is refused rather than written through."""
    if os.path.lexists(folder):
        return _real_dir(folder)
    try:
        os.mkdir(folder, 0o755)
    except FileExistsError:
        return _real_dir(folder)
    return True


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
            if create:
                if not _made_real_dir(folder):
                    return False
            elif os.path.lexists(folder):
                if not _real_dir(folder):
                    return False
            elif not missing_ok:
                return False
        return True

    def _entry(self, key: str) -> Tuple[str, str]:
        shard = os.path.join(self.dir, key[:2])
        return shard, os.path.join(shard, key + ".json")

    def get(self, key: str) -> Optional[FileFacts]:
        return self.decode_facts(self.read_facts(key))

    def read_facts(self, key: str) -> Optional[bytes]:
        """A facts entry's bytes, not yet decoded: reading is cheap, decoding is not, so a run
        learns which files it must analyse before it decodes the others."""
        return self._read_bytes(*self._entry(key))

    @staticmethod
    def decode_facts(data: Optional[bytes]) -> Optional[FileFacts]:
        """The facts an entry's bytes hold, or None when they are not exactly that."""
        facts = _decoded(data, FileFacts)
        assert facts is None or isinstance(facts, FileFacts)
        return facts

    def put(self, key: str, facts: FileFacts) -> None:
        self._write(*self._entry(key), facts)

    def get_run(self, scope: str) -> Optional[RunRecord]:
        """The last run of this scope (paths, settings, rules); its `inputs` say what it read."""
        record = self._read(*self._run_entry(scope), RunRecord)
        assert record is None or isinstance(record, RunRecord)
        return record

    def put_run(self, scope: str, record: RunRecord) -> None:
        """One entry per scope, replaced by each run: the folder does not grow with edits."""
        self._write(*self._run_entry(scope), record)

    def get_rendered(self, scope: str) -> Optional[RenderedRun]:
        """What the last `check` of this scope printed, and in which view. A separate, small
        entry: serving it reads neither the record's sites nor its findings."""
        rendered = self._read(*self._run_entry(scope, ".out"), RenderedRun)
        assert rendered is None or isinstance(rendered, RenderedRun)
        return rendered

    def put_rendered(self, scope: str, rendered: RenderedRun) -> None:
        """One view per scope, the last one printed: a run in another view decodes the record."""
        self._write(*self._run_entry(scope, ".out"), rendered)

    def _run_entry(self, scope: str, kind: str = "") -> Tuple[str, str]:
        folder = os.path.join(self.dir, "runs")
        return folder, os.path.join(folder, scope + kind + ".json")

    def _read(self, folder: str, path: str, kind: type) -> Optional[object]:
        return _decoded(self._read_bytes(folder, path), kind)

    def _read_bytes(self, folder: str, path: str) -> Optional[bytes]:
        if self._disabled or not _real_dir(folder):
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
        return data

    def _write(self, folder: str, path: str, value: object) -> None:
        if self._disabled:
            return
        try:
            if not self.prepare() or not _made_real_dir(folder):
                return
            tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(dumps(value))
            os.replace(tmp, path)
        except (OSError, ValueError):
            pass  # a read-only checkout still gets its findings, only slower next time

    def prepare(self) -> bool:
        """Make the folder chain and its markers; False when the cache cannot be used. Writes do
        it on their own; a run that will store its record does it first, since creating the
        folder changes the root's listing, which is one of the run's inputs."""
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

