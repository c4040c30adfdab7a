"""CircleCI, Azure Pipelines and Buildkite: their common shapes."""

from __future__ import annotations

from typing import Any, Iterator, List, Set, Tuple

from whowaits.core import ManifestEntry
from whowaits.manifests.schedule import cron_period_hours
from whowaits.manifests.yamlload import LDict, as_list, get, line_of, load_documents


def read_circleci(path: str, text: str) -> List[ManifestEntry]:
    docs = load_documents(text)
    doc = docs[0] if docs else None
    jobs = get(doc, "jobs")
    if not isinstance(jobs, LDict):
        return []
    scheduled: dict = {}
    plain: Set[str] = set()
    for workflow in (get(doc, "workflows") or {}).values() if isinstance(get(doc, "workflows"), dict) else []:
        if not isinstance(workflow, LDict):
            continue
        crons = [get(get(t, "schedule"), "cron") for t in as_list(get(workflow, "triggers"))]
        crons = [c for c in crons if isinstance(c, str)]
        for job in as_list(get(workflow, "jobs")):
            name = next(iter(job)) if isinstance(job, dict) else str(job)
            if crons:
                scheduled[name] = crons[0]
            else:
                plain.add(name)
    out: List[ManifestEntry] = []
    for name, job in jobs.items():
        commands = []
        for step in as_list(get(job, "steps")):
            run = get(step, "run")
            run = get(run, "command") if isinstance(run, dict) else run
            if isinstance(run, str):
                commands.append(run)
        if name in scheduled:
            cron = scheduled[name]
            kinds = [("scheduled", f"workflow schedule cron '{cron}'", cron_period_hours(cron))]
        else:
            kinds = [("ci_premerge", "workflow on push", None)]
        for kind, trigger, period in kinds:
            for command in commands:
                out.append(ManifestEntry(path, jobs.line_of(name), kind, f"job {name} ({trigger})", command, line_of(command), "", period))
    return out


def _scripts(node: Any) -> Iterator[Tuple[str, int]]:
    """Every script/bash/pwsh value and PythonScript task in an Azure pipeline, at any depth."""
    if isinstance(node, dict):
        for key in ("script", "bash", "pwsh", "powershell"):
            value = node.get(key)
            if isinstance(value, str):
                yield value, line_of(value)
        if str(node.get("task", "")).startswith("PythonScript"):
            script = get(get(node, "inputs"), "scriptPath")
            if isinstance(script, str):
                yield f"python {script}", line_of(script)
        for value in node.values():
            if isinstance(value, (dict, list)):
                yield from _scripts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _scripts(item)


def read_azure(path: str, text: str) -> List[ManifestEntry]:
    docs = load_documents(text)
    doc = docs[0] if docs else None
    if not isinstance(doc, LDict):
        return []
    kinds = []
    for item in as_list(doc.get("schedules")):
        cron = get(item, "cron")
        if isinstance(cron, str):
            kinds.append(("scheduled", f"schedules cron '{cron}'", line_of(cron), cron_period_hours(cron)))
    if not (doc.get("pr") == "none" and doc.get("trigger") == "none"):  # both default to on
        kinds.append(("ci_premerge", "pr/trigger", doc.line_of("pr") if "pr" in doc else 1, None))
    out = []
    for command, line in _scripts({k: v for k, v in doc.items() if k not in ("schedules", "pr", "trigger")}):
        for kind, trigger, trigger_line, period in kinds:
            out.append(ManifestEntry(path, trigger_line, kind, trigger, command, line, "", period))
    return out


def read_buildkite(path: str, text: str) -> List[ManifestEntry]:
    docs = load_documents(text)
    doc = docs[0] if docs else None
    out = []
    for step in as_list(get(doc, "steps")) if isinstance(doc, dict) else as_list(doc):
        for key in ("command", "commands"):
            for command in as_list(get(step, key)):
                if isinstance(command, str):
                    out.append(ManifestEntry(path, line_of(step), "ci_premerge", "buildkite pipeline step", command, line_of(command)))
    return out
