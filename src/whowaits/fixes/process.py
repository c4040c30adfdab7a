"""A process that loads the fixers while the project stage runs, then works out the fixes.

Offering fixes needs libcst, whose import alone (0.2 to 0.3 s) used to come after the project
stage, on the run's critical path; the parser then reads each file with a fixable finding. On
a run long enough to pay for a process, the pipeline starts this one before the facts stage,
at the lowest priority: it loads the fixers on a core nothing else wants (while the files are
pre-filtered, at the facts stage's tail, beside the project stage), and `offer` hands it the
findings. Anything that goes wrong with it makes
`offer` do the same work itself; it is closed (stopped, if still loading) either way.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from whowaits.core import Finding, FixInfo, RuleMeta

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


class FixProcess:
    def __init__(self) -> None:
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=_serve, args=(child,), daemon=True)
        gc.freeze()  # a forked child's collector then leaves what it inherits alone (no copies)
        try:
            self._process.start()
        finally:
            gc.unfreeze()
        child.close()

    def prepare(self, root: str, paths: Sequence[str], stdin: Optional[Tuple[str, bytes]]) -> None:
        """Have the process parse these files while the analysis goes on (`load_ahead`); it
        answers nothing, and stops when the findings come."""
        try:
            self._conn.send(("parse", root, list(paths), stdin))
        except (OSError, ValueError):  # gone: `fixes` will say so
            pass

    def fixes(self, root: str, jobs: Sequence[Tuple[Finding, RuleMeta]], poll_interval_min: float,
              stdin: Optional[Tuple[str, bytes]]) -> Optional[List[Optional[FixInfo]]]:
        """`fixes_for` in the process; None when it could not answer."""
        try:
            self._conn.send(("fixes", root, list(jobs), poll_interval_min, stdin))
            answer = self._conn.recv()
        except (OSError, EOFError, ValueError):  # the process is gone; ValueError: a closed pipe
            return None
        return answer if isinstance(answer, list) else None

    def close(self) -> None:
        """Stop the process (if still loading or waiting); closing twice does nothing more."""
        self._conn.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()


def _serve(conn: "Connection") -> None:
    """The process: load the fixers, parse the files it is told to meanwhile, then answer the
    one request for fixes (None if the work failed)."""
    try:
        os.nice(19)
    except (AttributeError, OSError):  # no nice() on this platform: same priority
        pass
    import whowaits.fixes.fixers  # noqa: F401  the point of the process: libcst and the fixers, loaded now

    from whowaits.fixes import Source, fixes_for, load_ahead

    sources: Dict[str, Optional[Source]] = {}
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # closed unused: nothing to fix
            return
        if request[0] == "parse":
            _, root, paths, stdin = request
            try:
                load_ahead(root, paths, stdin, sources, lambda: not conn.poll())
            except Exception:  # a file it could not parse is parsed again when asked for
                pass
            continue
        _, root, jobs, poll_interval_min, stdin = request
        try:
            answer: Optional[List[Optional[FixInfo]]] = fixes_for(root, jobs, poll_interval_min, stdin, sources)
        except Exception:  # the caller does the work itself
            answer = None
        conn.send(answer)
        return
