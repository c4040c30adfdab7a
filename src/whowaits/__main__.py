"""`python -m whowaits` runs the command line.

Python puts the working folder first on `sys.path` for `-m`, so a `json.py` in the scanned
checkout would shadow the standard library the moment the CLI imports it. Drop that entry
before importing anything else: whowaits never imports code from the tree it scans. (Python
itself imports a few modules before this file runs, `types` and `functools` among them, and a
`whowaits/` folder: in untrusted checkouts use the `whowaits` command or `python -P -m
whowaits`.)
"""

import os
import sys


def _drop_working_folder() -> None:
    here = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and os.path.abspath(p) != here]


_drop_working_folder()

from whowaits.cli import run  # noqa: E402  (after the path is safe)

run()
