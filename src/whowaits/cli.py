"""Command line: parse options, run the pipeline, print. No analysis logic lives here.

Exit codes: 0 clean, 1 findings at or above `--fail-on`, 2 usage, configuration or internal error.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Callable, List, Optional, Sequence, Tuple

import click

from whowaits import __version__
from whowaits.catalog import CatalogError, load_catalog
from whowaits.core import SEVERITIES, severity_rank
from whowaits.pipeline import Options, RunResult, analyze

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _codes(value: Optional[str]) -> List[str]:
    return [c.strip().upper() for c in (value or "").split(",") if c.strip()]


def _fail(message: str) -> None:
    click.echo(f"whowaits: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _check_paths(paths: Sequence[str]) -> List[str]:
    for path in paths:
        if not os.path.lexists(path):
            _fail(f"{path}: no such file or directory")
    return list(paths) or ["."]


def _run(paths: Sequence[str], options: Options) -> Tuple[RunResult, dict]:
    try:
        catalog = load_catalog()
    except CatalogError as exc:
        _fail(str(exc))
    unknown = [c for c in list(options.select) + list(options.ignore) if not any(code.startswith(c) for code in catalog)]
    if unknown:
        _fail(f"unknown rule code or prefix `{unknown[0]}` (see `whowaits rule`)")
    try:
        return analyze(_check_paths(paths), catalog, options), catalog
    except Exception:  # an internal error must still exit 2 with something a bug report can use
        click.echo("whowaits: internal error, please report it with this trace:", err=True)
        click.echo(traceback.format_exc(), err=True)
        sys.exit(EXIT_ERROR)


def _emit(text: str, output_file: Optional[str]) -> None:
    if output_file:
        try:
            with open(output_file, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            _fail(f"{output_file}: cannot write: {exc.strerror}")
    else:
        click.echo(text, nl=False)


_common: List[Callable] = [
    click.argument("paths", nargs=-1, type=click.Path()),
    click.option("--select", help="Comma-separated rule codes or prefixes to enable (default: WW)."),
    click.option("--ignore", help="Comma-separated rule codes or prefixes to disable."),
    click.option("--extend-select", help="Codes or prefixes to enable on top of --select."),
    click.option("--poll-interval-min", type=float, default=30.0, show_default=True,
                 help="Minimum seconds between batch status polls (WW403)."),
    click.option("--no-cache", is_flag=True, help="Do not read or write .whowaits_cache/."),
    click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes for parsing (default: all cores)."),
    click.option("--output-file", "-o", type=click.Path(dir_okay=False), help="Write the report to this file."),
]


def common_options(fn: Callable) -> Callable:
    for decorator in reversed(_common):
        fn = decorator(fn)
    return fn


def _options(select: Optional[str], ignore: Optional[str], extend_select: Optional[str],
             poll_interval_min: float, no_cache: bool, jobs: Optional[int]) -> Options:
    return Options(
        select=(_codes(select) or ["WW"]) + _codes(extend_select),
        ignore=_codes(ignore),
        poll_interval_min=poll_interval_min,
        jobs=jobs,
        use_cache=not no_cache,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="whowaits")
def main() -> None:
    """whowaits: who is waiting on each LLM call? A static routing linter for Claude API usage."""


@main.command()
@common_options
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--fail-on", type=click.Choice(list(SEVERITIES)), default="error", show_default=True,
              help="Lowest severity that makes the exit code 1.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--statistics", is_flag=True, help="Count findings per rule after the list.")
@click.option("--show-evidence/--no-show-evidence", default=True, help="Print each finding's evidence chain.")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary line.")
def check(paths: Tuple[str, ...], select: Optional[str], ignore: Optional[str], extend_select: Optional[str],
          poll_interval_min: float, no_cache: bool, jobs: Optional[int], output_file: Optional[str],
          output_format: str, fail_on: str, exit_zero: bool, statistics: bool, show_evidence: bool,
          quiet: bool) -> None:
    """Lint PATHS (files or folders; default: the current folder)."""
    options = _options(select, ignore, extend_select, poll_interval_min, no_cache, jobs)
    result, _ = _run(paths, options)
    if output_format == "json":
        from whowaits.report import json_out

        text = json_out.render(result)
    else:
        from whowaits.report import text as text_report

        color = output_file is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        text = text_report.render(result, color=color, show_evidence=show_evidence, statistics=statistics)
        if quiet:
            text = "".join(line + "\n" for line in text.splitlines()[:-1])
    _emit(text, output_file)
    failing = [f for f in result.findings if severity_rank(f.severity) >= severity_rank(fail_on)]
    sys.exit(EXIT_FINDINGS if failing and not exit_zero else EXIT_CLEAN)


@main.command()
@common_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def audit(paths: Tuple[str, ...], select: Optional[str], ignore: Optional[str], extend_select: Optional[str],
          poll_interval_min: float, no_cache: bool, jobs: Optional[int], output_file: Optional[str],
          fmt: str) -> None:
    """Inventory every LLM call site under PATHS: provider, operation, function, verdict."""
    options = _options(select, ignore, extend_select, poll_interval_min, no_cache, jobs)
    result, _ = _run(paths, options)
    if fmt == "json":
        from whowaits.report import json_out

        text = json_out.render(result)
    else:
        from whowaits.report import audit as audit_report

        text = audit_report.render_table(result)
    _emit(text, output_file)


@main.command()
@click.argument("location")
@click.option("--no-cache", is_flag=True, help="Do not read or write .whowaits_cache/.")
def explain(location: str, no_cache: bool) -> None:
    """Show why the call site at PATH:LINE has the context it has (every evidence chain)."""
    from whowaits.report.explain import explain_site

    path, _, line_text = location.rpartition(":")
    if not path or not line_text.isdigit():
        _fail(f"expected PATH:LINE, got {location!r}")
    if not os.path.isfile(path):
        _fail(f"{path}: no such file")
    result, _ = _run([path], Options(use_cache=not no_cache))
    relpath = os.path.relpath(os.path.abspath(path), result.root).replace(os.sep, "/")
    line = int(line_text)
    sites = [s for s in result.sites if s.path == relpath and s.call.span.line <= line <= s.call.span.end_line]
    if not sites:
        _fail(f"{relpath}:{line}: no LLM call site on that line (see `whowaits audit {path}`)")
    assert result.graph is not None
    click.echo("\n".join(explain_site(s, result.graph) for s in sites), nl=False)


@main.command()
@click.argument("code", required=False)
def rule(code: Optional[str]) -> None:
    """Show the documentation of rule CODE, or list every rule."""
    try:
        catalog = load_catalog()
    except CatalogError as exc:
        _fail(str(exc))
    if code is None:
        for meta in catalog.values():
            click.echo(f"{meta.code}  {meta.name:<38} {meta.severity:<8} {meta.summary}")
        return
    meta = catalog.get(code.upper())
    if meta is None:
        _fail(f"unknown rule `{code}` (see `whowaits rule`)")
    assert meta is not None
    click.echo(f"{meta.code} {meta.name} ({meta.severity})\n")
    click.echo(f"{meta.summary}\n")
    click.echo(f"Why\n  {meta.rationale}\n")
    click.echo(f"How to fix\n  {meta.fix}\n")
    if meta.bad:
        click.echo("Bad\n" + "".join(f"  {line}\n" for line in meta.bad.splitlines()))
    if meta.good:
        click.echo("Good\n" + "".join(f"  {line}\n" for line in meta.good.splitlines()))
    click.echo(f"Provider fact\n  {meta.seed}")


if __name__ == "__main__":  # pragma: no cover
    main()
