"""Hostile-input helpers: run the real CLI in a child process, bounded and measured.

A plain module, not a conftest: `tests/conftest.py` is the one `conftest` the suite imports.

Each case builds its tree in a temporary folder (no committed bombs), runs `python -m whowaits`
there under an address-space limit and a timeout, and reports the exit code, both streams and
the peak memory of the largest process the run started (workers included).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple


MEMORY_CAP_BYTES = 4 * 1024 * 1024 * 1024  # address space per process: a runaway dies instead of the machine
PEAK_RSS_BUDGET_MIB = 500

_MEASURE = r"""
import json, resource, subprocess, sys
limit = int(sys.argv[1])
def cap():
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
proc = subprocess.run(sys.argv[4:], preexec_fn=cap, capture_output=True, timeout=float(sys.argv[2]))
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(sys.argv[3], "w") as fh:
    json.dump({"rc": proc.returncode, "out": proc.stdout.decode("utf-8", "surrogateescape"),
               "err": proc.stderr.decode("utf-8", "surrogateescape"), "peak_kib": peak}, fh)
"""


@dataclass
class Run:
    rc: int
    out: str
    err: str
    peak_mib: float


def whowaits(args: List[str], cwd: str, timeout: float = 120, env: Optional[Dict[str, str]] = None) -> Run:
    """`python -m whowaits ARGS` in `cwd`, measured; the report goes through a file outside cwd."""
    report = os.path.join(os.path.dirname(os.path.abspath(cwd)), f".run-{os.getpid()}-{abs(hash(tuple(args)))}.json")
    command = [sys.executable, "-I", "-c", _MEASURE, str(MEMORY_CAP_BYTES), str(timeout), report,
               sys.executable, "-m", "whowaits", *args]
    subprocess.run(command, cwd=cwd, check=True, timeout=timeout + 30, env=env)
    with open(report, encoding="utf-8") as fh:
        data = json.load(fh)
    os.remove(report)
    return Run(data["rc"], data["out"], data["err"], data["peak_kib"] / 1024)


def snapshot(folder: str) -> Dict[str, Tuple[int, bytes]]:
    """Every file and link under `folder` with its content: what a run must not change."""
    out: Dict[str, Tuple[int, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, folder)
            if os.path.islink(path):
                out[rel] = (0, os.fsencode(os.readlink(path)))
            elif os.path.isfile(path):
                with open(path, "rb") as fh:
                    out[rel] = (os.stat(path).st_mode, fh.read())
    return out


def changed_outside(before: Dict[str, Tuple[int, bytes]], after: Dict[str, Tuple[int, bytes]], allowed: Tuple[str, ...]) -> List[str]:
    """Paths added, removed or modified that are not under an allowed prefix."""
    paths = set(before) | set(after)
    return sorted(p for p in paths if before.get(p) != after.get(p) and not p.startswith(allowed))


GOOD = (
    "import anthropic\n"
    "client = anthropic.Anthropic()\n"
    "if __name__ == '__main__':\n"
    "    for row in open('rows.txt'):\n"
    "        client.messages.create(model='m', max_tokens=5, messages=[{'role': 'user', 'content': row}])\n"
)
GOOD_FINDING = "good.py:5:9: warning[WW201]"


def make_project(tmp_path):
    """A project folder with one file that has a known finding (WW201 at good.py:5)."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (root / "good.py").write_text(GOOD)
    return root
