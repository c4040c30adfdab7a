"""Library functions whose meaning the facts pass needs: sleeps, retries, fan-out, unbounded sources."""

from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

# Value paths of sleep functions (the argument is seconds).
SLEEP_FUNCTIONS: FrozenSet[str] = frozenset(
    {"time.sleep", "asyncio.sleep", "anyio.sleep", "trio.sleep", "gevent.sleep", "eventlet.sleep"}
)

# Decorators that retry the decorated function right away on failure.
RETRY_DECORATORS: FrozenSet[str] = frozenset(
    {
        "tenacity.retry",
        "backoff.on_exception",
        "backoff.on_predicate",
        "retrying.retry",
        "retry.retry",
        "retry.api.retry",
        "stamina.retry",
        "tenacity.asyncio.retry",
    }
)

# Iterables of retry attempts (`for attempt in Retrying(...): with attempt: ...`).
RETRY_ITERATORS: FrozenSet[str] = frozenset(
    {"tenacity.Retrying", "tenacity.AsyncRetrying", "stamina.retry_context"}
)

# What annotations that say nothing evaluate to (`llm: Any`): as good as untyped.
ANY_TYPES: Tuple[str, ...] = ("typing.Any()", "typing_extensions.Any()", "object()")

# Calls that return one of their arguments unchanged, for type checkers only: value path ->
# the argument's position. The value is the type it is cast to (`cast(Agent, store.get(k))`),
# unless that says nothing (`cast(Any, client)`) or the argument is a name the code holds,
# which is what it holds (only an SDK's type is taken for one not known).
TYPE_CASTS: Dict[str, int] = {"typing.cast": 1, "typing_extensions.cast": 1}

# Calls that run many calls at once: value path prefix -> fan-out kind.
FANOUT_FUNCTIONS: Tuple[Tuple[str, str], ...] = (
    ("asyncio.gather", "gather"),
    ("asyncio.as_completed", "gather"),
    ("asyncio.wait", "gather"),
    ("anyio.create_task_group", "gather"),
)
# Method names that fan work out to a pool, on any receiver (executor.map, pool.imap, ...).
FANOUT_METHODS: FrozenSet[str] = frozenset({"map", "imap", "imap_unordered", "starmap", "map_async"})

# Iterables with no natural bound: a batch built from every entry of one needs chunking.
UNBOUNDED_FUNCTIONS: FrozenSet[str] = frozenset(
    {
        "os.listdir",
        "os.scandir",
        "os.walk",
        "glob.glob",
        "glob.iglob",
        "csv.reader",
        "csv.DictReader",
        "open",
        "datasets.load_dataset",
    }
)
UNBOUNDED_METHODS: FrozenSet[str] = frozenset(
    {"glob", "rglob", "iterdir", "iterrows", "itertuples", "readlines", "fetchall", "all", "scan"}
)

# Calls that run a function passed as an argument on the caller's behalf (the call is the
# site): (glob over the wrapper's value path, position of the function, per item in parallel).
CALL_THROUGH: Tuple[Tuple[str, int, bool], ...] = (
    ("asyncio.to_thread", 0, False),
    ("anyio.to_thread.run_sync", 0, False),
    ("{starlette,fastapi}.concurrency.run_in_threadpool", 0, False),
    ("functools.partial", 0, False),
    ("*.run_in_executor", 1, False),
    ("concurrent.futures.*Executor().submit", 0, False),
    ("concurrent.futures.*Executor().map", 0, True),
)

# Methods of plain values (collections, strings, files, loggers): a batch handed to one of these
# is stored or printed, never waited for.
VALUE_METHODS: FrozenSet[str] = frozenset(
    {
        "append", "add", "extend", "update", "get", "setdefault", "pop", "format", "join", "split",
        "strip", "lower", "upper", "write", "writelines", "info", "debug", "warning", "error",
        "exception", "critical", "log",
    }
)

# Calls that never return to the next statement (they exit, stop the page or abort the request).
NO_RETURN_FUNCTIONS: FrozenSet[str] = frozenset(
    {
        "sys.exit", "os._exit", "exit", "quit", "streamlit.stop", "flask.abort", "fastapi.HTTPException",
        "argparse.ArgumentParser().error", "pytest.fail", "pytest.skip", "typer.Exit", "click.Abort",
    }
)
