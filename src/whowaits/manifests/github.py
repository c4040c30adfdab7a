"""GitHub Actions workflows: triggers from `on:`, commands from job steps and local actions."""

from __future__ import annotations

import posixpath
import re
from typing import Callable, List, Optional, Tuple

from whowaits.core import ManifestEntry
from whowaits.manifests.dockerfile import container_command
from whowaits.manifests.schedule import cron_period_hours
from whowaits.manifests.yamlload import (
    LDict,
    YamlError,
    as_list,
    get,
    line_of,
    load_documents,
)

# Triggers whose run gates a merge: the developer waits for the check. A `push` only to the
# default or release branches, or to tags, runs after the merge: nobody waits on it.
PREMERGE = {"pull_request", "pull_request_target", "push", "merge_group"}
POST_MERGE_BRANCHES = {"main", "master", "trunk", "develop", "release", "production", "prod", "stable"}
# Triggers where a person waits for the bot's answer (a comment command): blocking.
COMMENT = {"issue_comment", "pull_request_review", "pull_request_review_comment", "discussion_comment"}
# A run started by hand from the Actions tab: mostly a convenience next to a schedule.
MANUAL = {"workflow_dispatch"}
# Anything else (release, workflow_run, repository_dispatch, ...) is an event nobody sits on.

Trigger = Tuple[str, str, int, Optional[float], str]  # kind, description, line, period, event


def triggers(doc: LDict) -> List[Trigger]:
    on = doc.get("on")
    line = doc.line_of("on") if isinstance(doc, LDict) else 0
    if on is None and True in doc:  # defensive: a loader that turned `on` into True
        on = doc[True]
    names: List[Tuple[str, object, int]] = []
    if isinstance(on, str):
        names = [(on, None, line_of(on, line))]
    elif isinstance(on, list):
        names = [(str(item), None, line_of(item, line)) for item in on]
    elif isinstance(on, LDict):
        names = [(key, value, on.line_of(key)) for key, value in on.items()]
    out: List[Trigger] = []
    for name, value, at in names:
        if name == "schedule":
            for item in as_list(value):
                cron = get(item, "cron")
                if isinstance(cron, str):
                    out.append(("scheduled", f"on: schedule cron '{cron}'", line_of(cron, at), cron_period_hours(cron), name))
        elif name == "push" and _post_merge(value):
            out.append(("ci_event", "on: push (default branch or tags)", at, None, name))
        elif name in PREMERGE:
            out.append(("ci_premerge", f"on: {name}", at, None, name))
        elif name in COMMENT:
            out.append(("ci_comment", f"on: {name}", at, None, name))
        elif name in MANUAL:
            out.append(("ci_manual", f"on: {name}", at, None, name))
        else:
            out.append(("ci_event", f"on: {name}", at, None, name))
    return out


def _post_merge(value: object) -> bool:
    """A push filter that only matches the default/release branches or tags."""
    branches = [str(b) for b in as_list(get(value, "branches"))]
    tags = get(value, "tags")
    if not branches:
        return tags is not None
    return all(b in POST_MERGE_BRANCHES or b.startswith(("release", "v")) for b in branches)


def read_workflow(path: str, text: str, read: Callable[[str], Optional[str]]) -> List[ManifestEntry]:
    docs = load_documents(text)
    doc = docs[0] if docs else None
    if not isinstance(doc, LDict):
        return []
    found = triggers(doc)
    jobs = doc.get("jobs")
    if not found or not isinstance(jobs, LDict):
        return []
    out: List[ManifestEntry] = []
    for job in jobs.values():
        if not isinstance(job, LDict):
            continue
        timeout = get(job, "timeout-minutes")
        deadline = float(timeout) / 60 if isinstance(timeout, str) and timeout.replace(".", "", 1).isdigit() else None
        job_cwd = get(get(get(job, "defaults"), "run"), "working-directory")
        for command, line, cwd, condition, held in _step_commands(as_list(job.get("steps")), job_cwd, read, 0):
            for kind, trigger, trigger_line, period, event in found:
                if runs_on_event(job.get("if"), event) and runs_on_event(condition, event):
                    out.append(ManifestEntry(path, trigger_line, kind, trigger, command, line, cwd, period, deadline,
                                             command_path=held))
    return out


_EVENT_TEST = re.compile(r"github\.event_name\s*(==|!=)\s*['\"]([\w-]+)['\"]")


def runs_on_event(condition: object, event: str) -> bool:
    """Whether a job or step `if:` lets this event through. Only `github.event_name` tests
    are read (joined by `||` and `&&`); anything else is assumed to pass, never guessed."""
    if not isinstance(condition, str) or "event_name" not in condition:
        return True
    text = condition.replace("${{", "").replace("}}", "")
    for clause in text.split("||"):
        verdicts = []
        for part in clause.split("&&"):
            match = _EVENT_TEST.search(part)
            if match is None:
                continue
            op, name = match.groups()
            verdicts.append((event == name) if op == "==" else (event != name))
        if all(verdicts):
            return True
    return False


# (command, its line, working directory, the step's `if:`, the file the line is in: "" for the
# workflow itself, else a local action's action.yml or Dockerfile)
StepCommand = Tuple[str, int, str, object, str]


def _step_commands(
    steps: list, default_cwd: object, read: Callable[[str], Optional[str]], depth: int, held: str = ""
) -> List[StepCommand]:
    """Each `run:` step's command, and those of the local actions the steps use; `held` is the
    file the steps are written in ("" for the workflow)."""
    out: List[StepCommand] = []
    checkout = ""
    for step in steps:
        if not isinstance(step, LDict):
            continue
        uses = step.get("uses")
        if isinstance(uses, str) and uses.startswith("actions/checkout") and get(step.get("with"), "repository") is None:
            path = get(step.get("with"), "path")
            checkout = posixpath.normpath(str(path)) if isinstance(path, str) and "${{" not in path else ""
        run = step.get("run")
        cwd = step.get("working-directory", default_cwd)
        folder = _folder(cwd, checkout)
        if isinstance(run, str) and folder is not None:
            text = _with_action_path_env(run, step.get("env"))
            if checkout:  # `cd <where this repository was checked out>` is the project root
                text = re.sub(rf"\bcd\s+(?:\./)?{re.escape(checkout)}/?(?=\s|;|&|$)", "cd .", text)
            out.append((text, line_of(run), folder, step.get("if"), held))
        uses = step.get("uses")
        if isinstance(uses, str) and uses.startswith("./") and depth < 3:
            out.extend((c, item, f, step.get("if"), h) for c, item, f, _, h in _local_action(uses, read, depth))
    return out


def _local_action(uses: str, read: Callable[[str], Optional[str]], depth: int) -> List[StepCommand]:
    base = posixpath.normpath(uses[2:])
    for name in ("action.yml", "action.yaml"):
        action = posixpath.normpath(posixpath.join(base, name))
        text = read(action)
        if text is None:
            continue
        try:
            docs = load_documents(text)
        except Exception:
            return []
        runs = get(docs[0] if docs else None, "runs")
        where = base if base not in ("", ".") else "."
        image = get(runs, "image")
        if get(runs, "using") == "docker" and isinstance(image, str) and not image.startswith("docker://"):
            image_path = posixpath.normpath(posixpath.join(base, image))
            dockerfile = read(image_path)
            found = container_command(dockerfile) if dockerfile else None
            return [(found[0], found[1], "" if where == "." else base, None, image_path)] if found else []
        steps = _step_commands(as_list(get(runs, "steps")), None, read, depth + 1, action)
        return [(_ACTION_PATH.sub(where, c), item, f, i, h) for c, item, f, i, h in steps]
    return []


def _with_action_path_env(run: str, env: object) -> str:
    """A step's `env: {ACTION_PATH: ${{ github.action_path }}}` spelled out in its script, so
    `cd "$ACTION_PATH"` reads as the action's folder."""
    if not isinstance(env, dict):
        return run
    for name, value in env.items():
        if isinstance(value, str) and _ACTION_PATH.fullmatch(value.strip()):
            run = re.sub(rf"\$\{{{re.escape(name)}\}}|\${re.escape(name)}\b", "${{ github.action_path }}", run)
    return run


# A composite action's own folder, as its steps name it (`cd "$GITHUB_ACTION_PATH"`).
_ACTION_PATH = re.compile(r"\$\{\{\s*github\.action_path\s*\}\}|\$\{GITHUB_ACTION_PATH\}|\$GITHUB_ACTION_PATH\b")


def _folder(value: object, checkout: str = "") -> Optional[str]:
    """A working directory relative to the project root; None when templated or absolute.

    `checkout` is where `actions/checkout` put this repository (`with: path:`), so a
    `working-directory: scraper` under `path: scraper` is the project root itself.
    """
    if value is None:
        return ""
    text = str(value)
    if "${{" in text or text.startswith("/"):
        return None
    folder = posixpath.normpath(text)
    if checkout and (folder == checkout or folder.startswith(checkout + "/")):
        folder = posixpath.relpath(folder, checkout)
    return "" if folder == "." else folder


_FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def read_action(path: str, text: str, read: Callable[[str], Optional[str]]) -> List[ManifestEntry]:
    """A repository that is itself a GitHub Action (a root `action.yml`) runs in the workflows
    of the repositories that use it. The repository's own workflows (`uses: ./`) are read with
    the other workflows; this reads the callers its README shows: example workflows (a fenced
    block with `on:` and a step `uses: owner/repo@ref`) and their triggers."""
    commands = _local_action("./", read, 0)
    readme = read("README.md") if commands else None
    out: List[ManifestEntry] = []
    for block in _FENCED.finditer(readme or ""):
        if "uses:" not in block.group(1) or "on:" not in block.group(1):
            continue
        try:
            docs = load_documents(block.group(1))
        except YamlError:  # an illustrative snippet that is not valid YAML
            continue
        doc = docs[0] if docs else None
        if not isinstance(doc, LDict) or not _uses_published_action(doc):
            continue
        offset = readme.count("\n", 0, block.start(1)) if readme else 0
        for kind, trigger, line, period, _ in triggers(doc):
            for command, command_line, cwd, _, held in commands:
                out.append(ManifestEntry("README.md", offset + line, kind, f"{trigger} (example workflow using this action)",
                                         command, command_line, cwd, period, command_path=held))
    return out


def _uses_published_action(doc: LDict) -> bool:
    """Whether a workflow has a step `uses: owner/repo@ref` (not a local `./` action)."""
    for job in (doc.get("jobs") or {}).values() if isinstance(doc.get("jobs"), dict) else []:
        for step in as_list(get(job, "steps")):
            uses = get(step, "uses")
            if isinstance(uses, str) and "@" in uses and not uses.startswith(("./", "actions/", "docker://")):
                return True
    return False
