"""Command lines to project code: the one parser every manifest reader shares.

`python scripts/x.py`, `python -m pkg.mod`, `uv run` / `poetry run` / `pipenv run` wrappers,
`cd dir && ...`, environment assignments, `pytest [paths]`, console scripts declared by the
project, and `make target` one level deep. A command that resolves to nothing, or is templated
(`${{ matrix.script }}`), gives no target: whowaits does not guess.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

RUNNER_WRAPPERS = {
    ("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("hatch", "run"), ("pdm", "run"),
    ("rye", "run"), ("conda", "run"), ("pipx", "run"), ("uvx",), ("tox", "-e"), ("nox", "-s"),
}
PREFIXES = {"time", "sudo", "exec", "env", "nohup", "xvfb-run", "dotenv", "timeout"}
_PYTHON = re.compile(r"^(?:.*/)?(?:python[0-9.]*|py|pypy3?)$")
_TEMPLATE = re.compile(r"\$\{\{|\$\{|\$\(|`")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# pytest options that take a value: their value is not a path.
_PYTEST_VALUE_OPTIONS = {"-k", "-m", "-c", "-p", "-o", "-n", "--rootdir", "--maxfail", "--junitxml",
                         "--cov", "--cov-report", "--durations", "--timeout", "--deselect", "--ignore"}


@dataclass(frozen=True)
class Invocation:
    """One program run by a command line, relative to the project root."""

    kind: str  # "script" | "module" | "pytest" | "console" | "make"
    target: str  # script path, module name, console script name, make target
    cwd: str  # folder it runs in, relative to the root ("" for the root)
    paths: Tuple[str, ...] = ()  # pytest paths
    # The program's first argument when it is a word, not an option (`python cli.py describe
    # x`): the subcommand a command-line parser dispatches on. "" when an option comes first.
    subcommand: str = ""


def split_commands(text: str, cwd: str = "") -> List[Tuple[List[str], str]]:
    """Each simple command of a shell snippet with the folder it runs in (`cd` is followed)."""
    text = re.sub(r"\\\n", " ", text)
    out: List[Tuple[List[str], str]] = []
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
            lexer.whitespace_split = True
            lexer.commenters = "#"
            tokens = list(lexer)
        except ValueError:
            continue
        command: List[str] = []
        for token in tokens + [";"]:
            if token and set(token) <= set(";&|()"):
                if command:
                    cwd = _apply(command, cwd, out)
                command = []
            else:
                command.append(token)
    return out


def _apply(argv: List[str], cwd: str, out: List[Tuple[List[str], str]]) -> str:
    while argv and (_ASSIGNMENT.match(argv[0]) or argv[0] in PREFIXES):
        argv = argv[1:]
    if not argv:
        return cwd
    if argv[0] in ("cd", "pushd") and len(argv) > 1:
        if _TEMPLATE.search(argv[1]):
            return "\0"  # unknown folder: later relative paths resolve to nothing
        if argv[1].startswith("/"):
            return "\0"
        folder = posixpath.normpath(posixpath.join(cwd, argv[1]))
        return "" if folder == "." else folder
    out.append((argv, cwd))
    return cwd


def invocation(argv: Sequence[str], cwd: str) -> Optional[Invocation]:
    """What program an argument vector runs, when it is Python the project can own."""
    args = list(argv)
    for _ in range(3):  # unwrap runners: `uv run python x.py`, `poetry run pytest`
        if len(args) >= 2 and (args[0], args[1]) in RUNNER_WRAPPERS:
            args = args[2:]
        elif args and (args[0],) in RUNNER_WRAPPERS:
            args = args[1:]
        else:
            break
        while args and args[0].startswith("-"):
            args = args[2:] if args[0] in ("--with", "-n", "--name", "--env", "-e", "--python") else args[1:]
    if not args or cwd == "\0":
        return None
    if os.path.basename(args[0]) == "docker" and len(args) > 2 and args[1] in ("run", "exec"):
        args = _docker_command(args[2:])
        if not args:
            return None
    head = args[0]
    if _TEMPLATE.search(head):
        return None
    if _PYTHON.match(head):
        rest = args[1:]
        while rest and rest[0].startswith("-") and rest[0] not in ("-m", "-c"):
            rest = rest[2:] if rest[0] in ("-X", "-W") else rest[1:]
        if not rest or rest[0] == "-c":
            return None
        if rest[0] == "-m" and len(rest) > 1:
            module = rest[1]
            if _TEMPLATE.search(module) or _only_asks(rest[2:]):
                return None
            if module in ("pytest", "py.test"):
                return Invocation("pytest", "pytest", cwd, _pytest_paths(rest[2:]))
            return Invocation("module", module, cwd, subcommand=_first_word(rest[2:]))
        if _TEMPLATE.search(rest[0]) or _only_asks(rest[1:]):
            return None
        return Invocation("script", rest[0], cwd, subcommand=_first_word(rest[1:]))
    if _only_asks(args[1:]):
        return None
    if head in ("pytest", "py.test"):
        return Invocation("pytest", "pytest", cwd, _pytest_paths(args[1:]))
    if os.path.basename(head) == "make" and len(args) > 1:
        targets = [a for a in args[1:] if not a.startswith("-") and "=" not in a]
        return Invocation("make", targets[0], cwd) if targets else None
    if head.endswith(".py"):
        return Invocation("script", head, cwd, subcommand=_first_word(args[1:]))
    return Invocation("console", os.path.basename(head), cwd, subcommand=_first_word(args[1:]))


_WORD = re.compile(r"[A-Za-z][\w-]*")


def _first_word(args: Sequence[str]) -> str:
    """The first argument, when it is a plain word (a subcommand's name); else ""."""
    return args[0] if args and _WORD.fullmatch(args[0]) else ""


# Options that make a program print its usage or version and exit before it does anything: a CI
# step that smoke-tests a CLI this way (`python cli.py describe --help`) runs none of its work.
_ASKING = frozenset({"--help", "-h", "--version"})


def _only_asks(args: Sequence[str]) -> bool:
    return not _ASKING.isdisjoint(args)


_DOCKER_VALUE_OPTIONS = {"-e", "--env", "-v", "--volume", "-w", "--workdir", "--name", "--network", "-p",
                         "--publish", "--env-file", "-u", "--user", "--entrypoint", "--mount", "--platform"}


def _docker_command(args: Sequence[str]) -> List[str]:
    """The command after `docker run [options] IMAGE` (the image's own code, if it is ours)."""
    rest = list(args)
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] in _DOCKER_VALUE_OPTIONS else rest[1:]
    return rest[1:]  # drop the image


def _pytest_paths(args: Sequence[str]) -> Tuple[str, ...]:
    paths: List[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in _PYTEST_VALUE_OPTIONS:
            skip = True
            continue
        if arg.startswith("-") or _TEMPLATE.search(arg):
            continue
        paths.append(arg.split("::")[0])
    return tuple(paths)


def invocations(text: str, cwd: str = "") -> List[Invocation]:
    found = []
    for argv, folder in split_commands(text, cwd):
        inv = invocation(argv, folder)
        if inv is not None:
            found.append(inv)
    return found


# -- project side: console scripts and Makefiles ------------------------------------------------


def console_scripts_from_pyproject(data: Dict) -> Dict[str, str]:
    scripts: Dict[str, str] = {}
    project = data.get("project", {}) if isinstance(data, dict) else {}
    for table in (project.get("scripts", {}), data.get("tool", {}).get("poetry", {}).get("scripts", {})):
        if isinstance(table, dict):
            for name, target in table.items():
                if isinstance(target, str):
                    scripts[name] = target
    return scripts


def console_scripts_from_text(text: str) -> Dict[str, str]:
    """`name = module:function` lines of setup.cfg's console_scripts or setup.py's entry points."""
    scripts: Dict[str, str] = {}
    for name, target in re.findall(r"""["']?([A-Za-z0-9_.-]+)\s*=\s*([A-Za-z0-9_.]+:[A-Za-z0-9_.]+)""", text):
        scripts[name] = target
    return scripts


def make_targets(text: str) -> Dict[str, Tuple[int, str]]:
    """Makefile targets: name -> (line, recipe text)."""
    targets: Dict[str, Tuple[int, str]] = {}
    current: Optional[str] = None
    lines: List[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("\t"):
            if current is not None:
                lines.append(line.strip().lstrip("@-"))
            continue
        match = re.match(r"^([A-Za-z0-9_.\-/]+)\s*:(?!=)", line)
        if current is not None:
            targets[current] = (start, "\n".join(lines))
            current = None
        if match:
            current, lines, start = match.group(1), [], number
    if current is not None:
        targets[current] = (start, "\n".join(lines))
    return targets
