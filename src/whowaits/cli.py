"""Command line: parse options, resolve settings, run the pipeline, print. No analysis here.

Exit codes: 0 clean, 1 findings at or above `--fail-on`, 2 usage, configuration or internal error.
"""

from __future__ import annotations

import gc
import math
import os
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import click

from whowaits import __version__
from whowaits.cache import FactsCache
from whowaits.catalog import CatalogError
from whowaits.config import ConfigError, Settings, check_codes, describe, load_rules, resolve_settings
from whowaits.core import SEVERITIES, RenderedRun, RuleMeta, severity_rank
from whowaits.discover import find_root
from whowaits.pipeline import Options, RunResult, analyze, open_run_cache, unchanged
from whowaits.report import plural, rules_doc
from whowaits.report.escape import printable
from whowaits.report.formats import formats, help_text, render
from whowaits.report.locations import base_folder
from whowaits.report.output import OutputFormat, Report
from whowaits.writes import WriteError, replace_files

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _codes(value: Optional[str]) -> Tuple[str, ...]:
    return tuple(c.strip().upper() for c in (value or "").split(",") if c.strip())


def _fail(message: str) -> None:
    click.echo(f"whowaits: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _check_paths(paths: Sequence[str], stdin: Optional[str] = None) -> List[str]:
    for path in paths:
        if path != stdin and not os.path.lexists(path):
            _fail(f"{path}: no such file or directory")
    return list(paths) or ["."]


_common: List[Callable] = [
    click.argument("paths", nargs=-1, type=click.Path()),
    click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Use this configuration file."),
    click.option("--isolated", is_flag=True, help="Ignore every configuration file."),
    click.option("--select", help="Comma-separated rule codes or prefixes to enable (replaces the configured list)."),
    click.option("--extend-select", help="Codes or prefixes to enable on top of the selection."),
    click.option("--ignore", help="Comma-separated rule codes or prefixes to disable."),
    click.option("--extend-exclude", help="Comma-separated path globs to skip, on top of the configured ones."),
    click.option("--poll-interval-min", type=float, help="Minimum seconds between batch status polls (WW403; default 30)."),
    click.option("--no-cache", is_flag=True, help="Do not read or write .whowaits_cache/."),
    click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes for parsing (default: all cores)."),
    click.option("--output-file", "-o", type=click.Path(dir_okay=False), help="Write the report to this file."),
]


def common_options(fn: Callable) -> Callable:
    for decorator in reversed(_common):
        fn = decorator(fn)
    return fn


def _settings(paths: Sequence[str], cli: Dict[str, Any]) -> Tuple[Settings, Dict[str, RuleMeta]]:
    """Defaults, then the configuration file, then command-line options; validated against the
    rules in force."""
    settings = _resolved(paths, cli)
    try:
        catalog = load_rules(settings)
        check_codes(settings, list(catalog))
    except (ConfigError, CatalogError) as exc:
        _fail(str(exc))
    return settings, catalog


def _resolved(paths: Sequence[str], cli: Dict[str, Any]) -> Settings:
    """Defaults, then the configuration file, then command-line options (each value checked;
    the rule codes they name are checked by `_settings`)."""
    try:
        settings = resolve_settings(paths, cli.get("config_file"), bool(cli.get("isolated")))
        overrides: Dict[str, Any] = {}
        if cli.get("select"):
            overrides["select"] = _codes(cli["select"])
        if cli.get("extend_select"):
            overrides["extend_select"] = settings.extend_select + _codes(cli["extend_select"])
        if cli.get("ignore"):
            overrides["ignore"] = settings.ignore + _codes(cli["ignore"])
        if cli.get("extend_exclude"):
            overrides["extend_exclude"] = settings.extend_exclude + tuple(
                p.strip() for p in cli["extend_exclude"].split(",") if p.strip()
            )
        if cli.get("poll_interval_min") is not None:
            seconds = cli["poll_interval_min"]
            if not math.isfinite(seconds) or seconds < 0:
                raise ConfigError(f"--poll-interval-min: must be a finite, non-negative number of seconds, got {seconds}")
            overrides["poll_interval_min"] = seconds
        if cli.get("fail_on"):
            overrides["fail_on"] = cli["fail_on"]
        if overrides:
            settings = settings.with_values("command line", **overrides)
    except ConfigError as exc:
        _fail(str(exc))
    return settings


def _progress(done: int, total: int) -> None:
    """A progress line on a terminal's stderr; nothing on pipes and in CI logs."""
    end = "\n" if done == total else ""
    click.echo(f"\rwhowaits: parsed {done}/{total} files", err=True, nl=False)
    if end:
        click.echo("\r" + " " * 40 + "\r", err=True, nl=False)


def _run(
    paths: Sequence[str], cli: Dict[str, Any], interactive: bool = False, offer_fixes: bool = False
) -> Tuple[RunResult, Settings, Dict[str, RuleMeta]]:
    stdin = cli.get("stdin")
    paths = _check_paths(paths, stdin[0] if stdin else None)
    settings, catalog = _settings(paths, cli)
    progress = _progress if interactive and sys.stderr.isatty() else None
    options = Options(settings, jobs=cli.get("jobs"), use_cache=not cli.get("no_cache"), progress=progress, stdin=stdin,
                      offer_fixes=offer_fixes)
    try:
        return analyze(paths, catalog, options), settings, catalog
    except Exception:  # an internal error must still exit 2 with something a bug report can use
        import traceback

        click.echo("whowaits: internal error, please report it with this trace:", err=True)
        click.echo(traceback.format_exc(), err=True)
        sys.exit(EXIT_ERROR)


def _format_option(command: str, *decls: str) -> Callable:
    """The report format option of `command`, from the registry: choices, default (the first), help."""
    names = list(formats(command))
    return click.option(*decls, type=click.Choice(names), default=names[0], show_default=True, help=help_text(command))


def _emit(text: str, output_file: Optional[str]) -> None:
    if output_file:
        try:
            with open(output_file, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            _fail(f"{output_file}: cannot write: {exc.strerror}")
    else:
        click.echo(text, nl=False)


def run() -> None:
    """The `whowaits` command: `main` in a process of its own, with Python's cyclic garbage
    collector off. A run keeps every file's facts alive to its end and makes next to no cyclic
    garbage (a few hundred objects on a 750-file tree), so each collection only re-scanned what
    stays alive: about a tenth of the main process's time on a cold run. Freezing before the
    exit spares the interpreter's last collection too. Worker processes collect as before
    (`pipeline.compute_facts`); `main` called in-process (tests, CliRunner) is unchanged."""
    gc.disable()
    try:
        main()
    finally:
        gc.freeze()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="whowaits")
def main() -> None:
    """whowaits: who is waiting on each LLM call? A static routing linter for Claude API usage."""


@main.command()
@common_options
@_format_option("check", "--output-format")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False), help="Report only findings not recorded in this baseline.")
@click.option("--changed-since", help="Report only findings on lines changed since this git ref.")
@click.option("--fail-on", type=click.Choice(list(SEVERITIES)), help="Lowest severity that makes the exit code 1 (default: error).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--statistics", is_flag=True, help="Count findings per rule after the list.")
@click.option("--show-evidence/--no-show-evidence", default=True, help="Print each finding's evidence chain.")
@click.option("--show-settings", is_flag=True, help="Print the resolved settings and exit.")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary line.")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: CODE` comments for every current finding (edits files).")
@click.option("--stdin-filename", type=click.Path(), help="Read the file's content from stdin (an editor's unsaved buffer).")
@click.option("--fix", is_flag=True, help="Apply the safe fixes (edits files).")
@click.option("--unsafe-fixes", is_flag=True, help="Also offer and apply fixes that change behaviour.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
def check(paths: Tuple[str, ...], output_file: Optional[str], output_format: str, baseline_file: Optional[str],
          changed_since: Optional[str], exit_zero: bool, statistics: bool, show_evidence: bool,
          show_settings: bool, quiet: bool, add_noqa: bool, stdin_filename: Optional[str],
          fix: bool, unsafe_fixes: bool, diff: bool, **cli: Any) -> None:
    """Lint PATHS (files or folders; default: the current folder)."""
    if stdin_filename:
        cli["stdin"] = (stdin_filename, sys.stdin.buffer.read())
        paths = (stdin_filename,)
        if add_noqa:
            _fail("--add-noqa cannot edit stdin")
    if show_settings:
        settings, catalog = _settings(_check_paths(paths), cli)
        click.echo("\n".join(describe(settings, catalog)))
        return
    fmt = formats("check")[output_format]
    color = output_file is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    # The options of the `Report`, and with the format and --exit-zero all that shapes what is
    # printed besides the run: the view a re-run may print again (see `_replay`).
    shape: Dict[str, Any] = dict(color=color, show_evidence=show_evidence, statistics=statistics,
                                 unsafe_fixes=unsafe_fixes, summary=not quiet)
    view = (fmt.name, exit_zero, *sorted(shape.items()))
    replay = None
    if fmt.replayable and not (cli.get("stdin") or add_noqa or fix or diff or baseline_file or changed_since):
        replay = _replay(paths, cli, fmt, view, output_file)
    result, settings, catalog = _run(paths, cli, interactive=fmt.progress and not quiet and not output_file,
                                     offer_fixes=True)
    if add_noqa:
        from whowaits.suppress import NoqaError, add_noqa as write_noqa

        try:
            # Only findings located in what was checked: one a file list brought in from another
            # file is that file's to suppress.
            changed, unplaced = write_noqa(result.root, [f for f in result.findings if f.brought_in_by is None])
        except NoqaError as exc:
            _fail(str(exc))
        click.echo(f"Added noqa comments to {plural(changed, 'line')}.")
        for where in unplaced:
            click.echo(f"{printable(where)}: no line of the expression can hold a comment; suppress it by hand", err=True)
        return
    warning = ""
    if result.checked_nothing:
        warning = "whowaits: warning: no Python, CI, cron or deploy file in the paths given: nothing was checked\n"
        click.echo(warning, err=True, nl=False)
    result = _fixes(result, paths, cli, settings, catalog, fix or diff, unsafe_fixes, diff)
    result = _narrow(result, baseline_file, changed_since)
    text = render(fmt, Report(result, catalog, **shape))
    _emit(text, output_file)
    failing = [f for f in result.findings if severity_rank(f.severity) >= severity_rank(settings.fail_on)]
    code = EXIT_FINDINGS if failing and not exit_zero else EXIT_CLEAN
    if replay is not None and result.record is not None:
        cache, scope, view_key = replay
        cache.put_rendered(scope, RenderedRun(result.record.inputs, result.record.watched, view_key, text, warning, code))
    sys.exit(code)


def _replay(paths: Sequence[str], cli: Dict[str, Any], fmt: OutputFormat, view: Tuple[object, ...],
            output_file: Optional[str]) -> Optional[Tuple[FactsCache, str, str]]:
    """Print what the last `check` of this run printed, and exit, when it was printed in the
    same view and nothing the run read has changed since; else None, or where to keep what this
    run prints (the run cache's folder, the run's scope key, the view's key).

    The view is the format and the options that shape its bytes, and the folder its paths start
    from. Serving costs the settings, a hash of the rule files and a stat of each path the run
    read: no rule is parsed, no record decoded and no output format imported."""
    paths = _check_paths(paths)
    options = Options(_resolved(paths, cli), use_cache=not cli.get("no_cache"), offer_fixes=True)
    root = find_root(paths)
    run_cache = open_run_cache(root, paths, options)
    if run_cache is None:
        return None
    cache, scope = run_cache
    view_key = repr((*view, base_folder(root, fmt.paths)))
    rendered = cache.get_rendered(scope)
    if rendered is not None and rendered.view == view_key and unchanged(root, rendered):
        if rendered.stderr:
            click.echo(rendered.stderr, err=True, nl=False)
        _emit(rendered.stdout, output_file)
        sys.exit(rendered.exit_code)
    return cache, scope, view_key


def _fixes(result: RunResult, paths: Sequence[str], cli: Dict[str, Any], settings: Settings,
           catalog: Dict[str, RuleMeta], apply: bool, unsafe: bool, diff: bool) -> RunResult:
    """With --fix / --diff apply the fixes the run offered (see whowaits.fixes)."""
    if not apply:
        return result
    from dataclasses import replace

    from whowaits import fixes

    if cli.get("stdin"):
        _fail("--fix and --diff cannot edit stdin")
    options = Options(settings, jobs=cli.get("jobs"), use_cache=not cli.get("no_cache"))
    outcome = fixes.plan(result, unsafe, lambda new: analyze(_check_paths(paths), catalog, replace(options, contents=new)))
    for finding, why in outcome.dropped:
        click.echo(f"whowaits: fix for {printable(finding.path)}:{finding.line} {finding.code} dropped: {why}", err=True)
    if diff:
        click.echo(fixes.diff(outcome.contents, outcome.originals), nl=False)
        sys.exit(EXIT_FINDINGS if outcome.contents else EXIT_CLEAN)
    try:
        replace_files(result.root, outcome.contents)
    except WriteError as exc:
        _fail(f"cannot write fixes: {exc}")
    click.echo(f"Fixed {plural(len(outcome.applied), 'finding')}.", err=True)
    return fixes.offer(outcome.after, catalog, settings.poll_interval_min) if outcome.after else result


def _narrow(result: RunResult, baseline_file: Optional[str], changed_since: Optional[str]) -> RunResult:
    """Apply --baseline and --changed-since to the findings (contexts stay whole-project)."""
    if not baseline_file and not changed_since:
        return result
    from dataclasses import replace

    from whowaits import baseline

    findings, suppressed, hidden, unchanged = result.findings, result.suppressed, 0, 0
    try:
        if baseline_file:
            findings, hidden = baseline.subtract(findings, baseline.load(baseline_file))
        if changed_since:
            lines = baseline.changed_lines(result.root, changed_since)
            changed = baseline.on_changed_lines(findings, lines, changed_since)
            findings, unchanged = changed, len(findings) - len(changed)
            suppressed = baseline.on_changed_lines(suppressed, lines, changed_since)
    except baseline.BaselineError as exc:
        _fail(str(exc))
    return replace(result, findings=list(findings), suppressed=suppressed, baselined=hidden, unchanged=unchanged)


@main.group("baseline")
def baseline_group() -> None:
    """Record current findings so CI fails only on new ones."""


@baseline_group.command("write")
@click.argument("file", required=False, type=click.Path())
@common_options
def baseline_write(file: Optional[str], paths: Tuple[str, ...], output_file: Optional[str], **cli: Any) -> None:
    """Write every current finding under PATHS to FILE or `-o FILE` (use it with `check --baseline FILE`)."""
    from whowaits import baseline

    if output_file:  # `-o FILE` names the baseline, so every argument is a path
        paths, file = ((file,) if file else ()) + paths, output_file
    if not file:
        _fail("baseline write needs the file to write: `whowaits baseline write FILE [PATHS]` or `-o FILE`")
    assert file is not None
    if os.path.isdir(file):
        _fail(f"{file}: is a folder; the baseline is a file (`whowaits baseline write FILE [PATHS]`)")
    result, _, _ = _run(paths, cli)
    try:
        baseline.write(file, result.findings)
    except baseline.BaselineError as exc:
        _fail(str(exc))
    click.echo(f"Recorded {plural(len(result.findings), 'finding')} in {file}.")


@main.command()
@common_options
@_format_option("audit", "--format", "--output-format", "output_format")
def audit(paths: Tuple[str, ...], output_file: Optional[str], output_format: str, **cli: Any) -> None:
    """Inventory every LLM call site under PATHS: operation, verdict, contexts, findings."""
    result, _, catalog = _run(paths, cli, interactive=not output_file)
    _emit(render(formats("audit")[output_format], Report(result, catalog)), output_file)


@main.command()
@click.argument("location")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Use this configuration file.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--no-cache", is_flag=True, help="Do not read or write .whowaits_cache/.")
def explain(location: str, **cli: Any) -> None:
    """Show why the call site at PATH:LINE has the context it has (every evidence chain)."""
    from whowaits.report.explain import explain_site

    path, _, line_text = location.rpartition(":")
    if not path or not line_text.isdigit():
        _fail(f"expected PATH:LINE, got {location!r}")
    if not os.path.isfile(path):
        _fail(f"{path}: no such file")
    result, _, _ = _run([path], cli)
    relpath = os.path.relpath(os.path.abspath(path), result.root).replace(os.sep, "/")
    line = int(line_text)
    sites = [s for s in result.sites if s.path == relpath and s.call.span.line <= line <= s.call.span.end_line]
    if not sites:
        _fail(f"{printable(relpath)}:{line}: no LLM call site on that line (see `whowaits audit {path}`)")
    assert result.graph is not None
    text = "\n".join(explain_site(s, result.graph) for s in sites)
    click.echo("\n".join(printable(line) for line in text.split("\n")), nl=False)


@main.command()
@click.argument("targets", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Migrate every per-item site (WW201, WW202) under the TARGETS paths.")
@click.option("--write", is_flag=True, help="Apply the migration (default: print it as a diff).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Use this configuration file.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--no-cache", is_flag=True, help="Do not read or write .whowaits_cache/.")
def migrate(targets: Tuple[str, ...], every: bool, write: bool, **cli: Any) -> None:
    """Rewrite the per-item sync loop at PATH:LINE (or, with --all, every one under PATHS) into a batch job."""
    from dataclasses import replace

    from whowaits import fixes
    from whowaits import migrate as migration

    places = [t.rpartition(":") for t in targets]
    if not every and (not places or any(not p or not n.isdigit() for p, _, n in places)):
        _fail("expected PATH:LINE (or --all [PATHS])")
    paths = _check_paths(list(targets) if every else [p for p, _, _ in places])
    result, settings, catalog = _run(paths, cli)
    wanted = None if every else [(os.path.relpath(os.path.abspath(p), result.root).replace(os.sep, "/"), int(n))
                                 for p, _, n in places]
    options = Options(settings, use_cache=not cli.get("no_cache"))
    report = migration.run(result, wanted, lambda p: _read(os.path.join(result.root, p)),
                           lambda new: analyze(paths, catalog, replace(options, contents=new)), settings.poll_interval_min)
    if not report.migrations:
        _fail("no per-item synchronous call (WW201, WW202) there; see `whowaits check`")
    for m in report.migrations:
        note = f"not migrated: {m.refused}" if m.refused else m.summary
        click.echo(printable(f"whowaits: {m.site.path}:{m.site.line}: {note}"), err=True)
    if write:
        try:
            replace_files(result.root, report.contents)
        except WriteError as exc:
            _fail(f"cannot write the migration: {exc}")
    else:
        click.echo(fixes.diff(report.contents, report.originals), nl=False)
    sys.exit(EXIT_FINDINGS if any(m.refused for m in report.migrations) else EXIT_CLEAN)


def _read(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


@main.command("config")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Use this configuration file.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
def show_config(paths: Tuple[str, ...], **cli: Any) -> None:
    """Print the resolved settings, where each one came from, and the rules in force."""
    settings, catalog = _settings(_check_paths(paths), cli)
    click.echo("\n".join(describe(settings, catalog)))


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Document every rule (the default without CODE).")
@click.option("--format", "fmt", type=click.Choice(list(rules_doc.FORMATS)), default=next(iter(rules_doc.FORMATS)),
              show_default=True)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Use this configuration file.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
def rule(code: Optional[str], show_all: bool, fmt: str, **cli: Any) -> None:
    """Show the documentation of rule CODE, or of every rule (including rule-paths policies)."""
    doc = rules_doc.FORMATS[fmt]
    _, catalog = _settings(["."], cli)
    if code is None or show_all:
        rules = list(catalog.values())
        click.echo(doc.render(rules) if show_all or doc.reference else rules_doc.listing(rules), nl=False)
        return
    found = catalog.get(code.upper())
    if found is None:
        _fail(f"unknown rule `{code}` (see `whowaits rule`)")
    assert found is not None
    click.echo(doc.render([found]), nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
