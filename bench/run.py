"""Benchmark whowaits against ruff (and plain parsers) on the same source trees.

    python bench/run.py TREE [TREE ...] [--repeat 3]

For each tree it times, best of N wall-clock runs:
- `whowaits check` cold (no cache) and warm (cache filled by the previous run);
- `ruff check --select E9,F --no-cache` (if ruff is installed) as the reference linter;
- a regex pass over every .py file (the floor for any tool that reads every file);
- `ast.parse` and `libcst.parse_module` of every .py file, to show what the pre-filter saves.
It prints absolute times and ratios to ruff. Numbers depend on the machine: compare ratios.
Nothing here runs in the test suite; there are no timing thresholds anywhere.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import time
from typing import Callable, List, Optional


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def py_files(tree: str) -> List[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = [d for d in dirnames if d not in (".git", ".whowaits_cache", "__pycache__")]
        out.extend(os.path.join(dirpath, f) for f in filenames if f.endswith(".py"))
    return out


def run(cmd: List[str]) -> None:
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def regex_pass(files: List[str]) -> None:
    pattern = re.compile(rb"\b(?:anthropic|openai|litellm|genai)\b")
    for path in files:
        with open(path, "rb") as fh:
            pattern.search(fh.read())


def parse_all(files: List[str], parse: Callable[[bytes], object]) -> None:
    for path in files:
        with open(path, "rb") as fh:
            data = fh.read()
        try:
            parse(data)
        except Exception:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-libcst", action="store_true", help="skip the slow libcst-every-file pass")
    args = parser.parse_args()
    whowaits = [sys.executable, "-m", "whowaits", "check", "--exit-zero", "-q"]
    ruff = shutil.which("ruff")
    for tree in args.trees:
        files = py_files(tree)
        cache = os.path.join(tree, ".whowaits_cache")
        print(f"\n{tree}: {len(files)} .py files")

        def cold() -> None:
            shutil.rmtree(cache, ignore_errors=True)
            run(whowaits + ["--no-cache", tree])

        results = {
            "whowaits cold": best_of(args.repeat, cold),
        }
        shutil.rmtree(cache, ignore_errors=True)
        run(whowaits + [tree])  # fill the cache
        results["whowaits warm"] = best_of(args.repeat, lambda: run(whowaits + [tree]))
        shutil.rmtree(cache, ignore_errors=True)
        reference: Optional[float] = None
        if ruff:
            reference = best_of(args.repeat, lambda: run([ruff, "check", "--select", "E9,F", "--no-cache", "--exit-zero", "-q", tree]))
            results["ruff --select E9,F"] = reference
        results["regex over every file"] = best_of(args.repeat, lambda: regex_pass(files))
        results["ast.parse every file"] = best_of(1, lambda: parse_all(files, ast.parse))
        if not args.skip_libcst:
            import libcst

            results["libcst.parse_module every file"] = best_of(1, lambda: parse_all(files, libcst.parse_module))
        for name, seconds in results.items():
            ratio = f"{seconds / reference:8.1f}x ruff" if reference else ""
            print(f"  {name:34s} {seconds:8.2f} s  {ratio}")


if __name__ == "__main__":
    main()
