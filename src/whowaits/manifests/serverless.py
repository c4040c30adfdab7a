"""Serverless deploy manifests: which handler runs for which event, how often, for how long.

Serverless Framework `serverless.yml`, AWS SAM / CloudFormation templates, Azure Functions
`function.json` (with the app's `host.json`) and `gcloud functions deploy` command lines. Each
names a handler (`module.function`) rather than a command: HTTP events block, schedules
(`rate(...)`, `cron(...)`, NCRONTAB) are `scheduled` with their period, queue / storage / stream
events are `background`, and a declared timeout is the run's deadline (WW103).
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from whowaits.core import ManifestEntry
from whowaits.knowledge.deploys import (
    AZURE_TRIGGERS,
    GCLOUD_TRIGGERS,
    SAM_EVENTS,
    SERVERLESS_EVENTS,
)
from whowaits.manifests.schedule import cron_period_hours, interval_hours
from whowaits.manifests.yamlload import (
    LDict,
    YamlError,
    as_list,
    get,
    line_of,
    load_documents,
)

LAMBDA_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")

_RATE = re.compile(r"^rate\(\s*(\d+(?:\.\d+)?)\s+(minute|hour|day)s?\s*\)$", re.IGNORECASE)
_AWS_CRON = re.compile(r"^cron\((.*)\)$", re.IGNORECASE)
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")
_SECONDS = re.compile(r"^(\d+(?:\.\d+)?)s?$")


def schedule_hours(expression: str) -> Optional[float]:
    """AWS `rate(5 minutes)` / `cron(0 12 * * ? *)`, Azure NCRONTAB (`0 */5 * * * *`, seconds
    first) or TimeSpan (`01:00:00`), a 5-field cron: the shortest time between runs, in hours."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        return interval_hours(**{rate.group(2).lower() + "s": float(rate.group(1))})
    cron = _AWS_CRON.match(text)
    fields = (cron.group(1) if cron else text).split()
    if cron and len(fields) == 6:  # minutes hours day month weekday year
        return cron_period_hours(" ".join(fields[:5]))
    if len(fields) == 6:  # NCRONTAB: seconds first
        return cron_period_hours(" ".join(fields[1:]))
    span = _TIMESPAN.match(text)
    if span:
        days, hours, minutes, seconds = (float(g or 0) for g in span.groups())
        return interval_hours(days=days, hours=hours, minutes=minutes, seconds=seconds) or None
    return cron_period_hours(text) if len(fields) == 5 else None


def _seconds(value: object) -> Optional[float]:
    """A timeout in seconds (`30`, `"540s"`), or an `HH:MM:SS` TimeSpan."""
    if not isinstance(value, str):
        return None
    match = _SECONDS.match(value.strip())
    if match:
        return float(match.group(1))
    span = _TIMESPAN.match(value.strip())
    if span:
        days, hours, minutes, seconds = (float(g or 0) for g in span.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    return None


def handler_target(folder: str, handler: str) -> str:
    """`src/handlers/user.create` or `app.lambda_handler` under `folder`: `file.py:function`."""
    module, _, function = handler.strip().rpartition(".")
    if not module or not function or "$" in handler or "{" in handler:
        return ""
    path = posixpath.normpath(posixpath.join(folder, module.replace(".", "/") + ".py"))
    return "" if path.startswith("..") else f"{path}:{function}"


def _entry(path: str, line: int, kind: str, trigger: str, target: str, at: int,
           period: Optional[float] = None, timeout: Optional[float] = None) -> ManifestEntry:
    return ManifestEntry(path, line, kind, trigger, "", at, "", period if kind == "scheduled" else None,
                         timeout / 3600 if timeout else None, function=target)


# -- Serverless Framework ----------------------------------------------------------------------


def read_serverless(path: str, text: str) -> List[ManifestEntry]:
    docs = load_documents(text)
    doc = docs[0] if docs else None
    functions = get(doc, "functions")
    if not isinstance(functions, LDict):
        return []
    default_timeout = _seconds(get(get(doc, "provider"), "timeout"))
    folder = posixpath.dirname(path)
    out: List[ManifestEntry] = []
    for name, spec in functions.items():
        handler = get(spec, "handler")
        target = handler_target(folder, handler) if isinstance(handler, str) else ""
        if not target:
            continue
        timeout = _seconds(get(spec, "timeout")) or default_timeout
        at = line_of(handler)
        if get(spec, "url") not in (None, "false"):
            out.append(_entry(path, spec.line_of("url"), "http_handler", f"function {name}: function URL", target, at, None, timeout))
        for event in as_list(get(spec, "events")):
            if not isinstance(event, LDict) or not event:
                continue
            kind_name, value = next(iter(event.items()))
            kind = SERVERLESS_EVENTS.get(kind_name)
            if kind is None:
                continue
            period, schedule = None, ""
            if kind_name in ("schedule", "eventBridge"):
                expression = value if isinstance(value, str) else get(value, "rate") or get(value, "schedule")
                schedule = next((item for item in as_list(expression) if isinstance(item, str)), "")
                if schedule:
                    kind, period = "scheduled", schedule_hours(schedule)
            trigger = f"function {name}: {kind_name} event" + (f" '{schedule}'" if schedule else "")
            out.append(_entry(path, event.line_of(kind_name), kind, trigger, target, at, period, timeout))
    return out


# -- AWS SAM / CloudFormation ------------------------------------------------------------------


def is_cloudformation(text: str) -> bool:
    return any(kind in text for kind in LAMBDA_TYPES)


def read_cloudformation(path: str, text: str) -> List[ManifestEntry]:
    out: List[ManifestEntry] = []
    for doc in load_documents(text):
        resources = get(doc, "Resources")
        if not isinstance(resources, LDict):
            continue
        globals_fn = get(get(doc, "Globals"), "Function")
        folder = posixpath.dirname(path)
        rules = dict(_schedule_rules(resources))
        for name, resource in resources.items():
            if get(resource, "Type") not in LAMBDA_TYPES:
                continue
            props = get(resource, "Properties")
            handler = get(props, "Handler")
            code = get(props, "CodeUri") or get(globals_fn, "CodeUri")
            if not isinstance(handler, str) or (code is not None and not isinstance(code, str)):
                continue
            target = handler_target(posixpath.join(folder, code or ""), handler)
            if not target:
                continue
            timeout = _seconds(get(props, "Timeout")) or _seconds(get(globals_fn, "Timeout"))
            at = line_of(handler)
            if isinstance(props, LDict) and props.get("FunctionUrlConfig") is not None:
                out.append(_entry(path, props.line_of("FunctionUrlConfig"), "http_handler", f"{name}: function URL", target, at, None, timeout))
            events = get(props, "Events")
            events = events if isinstance(events, LDict) else LDict()
            for event_name, event in events.items():
                kind_name = get(event, "Type")
                kind = SAM_EVENTS.get(str(kind_name))
                if kind is None:
                    continue
                expression = get(get(event, "Properties"), "Schedule") or get(get(event, "Properties"), "ScheduleExpression")
                period = schedule_hours(expression) if isinstance(expression, str) else None
                trigger = f"{name}: {kind_name} event {event_name}" + (f" '{expression}'" if isinstance(expression, str) else "")
                out.append(_entry(path, events.line_of(event_name), kind, trigger, target, at, period, timeout))
            for expression, line in rules.get(name, []):
                trigger = f"{name}: AWS::Events::Rule '{expression}'"
                out.append(_entry(path, line, "scheduled", trigger, target, at, schedule_hours(expression), timeout))
    return out


def _schedule_rules(resources: LDict) -> Iterator[Tuple[str, List[Tuple[str, int]]]]:
    """`AWS::Events::Rule` resources with a ScheduleExpression, by the functions they target
    (`Arn: !GetAtt Fn.Arn` or `Fn::GetAtt: [Fn, Arn]`)."""
    found: Dict[str, List[Tuple[str, int]]] = {}
    for resource in resources.values():
        props = get(resource, "Properties")
        expression = get(props, "ScheduleExpression")
        if get(resource, "Type") != "AWS::Events::Rule" or not isinstance(expression, str):
            continue
        for target in as_list(get(props, "Targets")):
            arn = get(target, "Arn")
            ref = get(arn, "Fn::GetAtt") if isinstance(arn, dict) else arn
            ref = ref[0] if isinstance(ref, list) and ref else ref
            if isinstance(ref, str):
                found.setdefault(ref.split(".")[0], []).append((expression, line_of(expression)))
    yield from found.items()


# -- Azure Functions ---------------------------------------------------------------------------


def read_azure_function(path: str, text: str, read: Callable[[str], Optional[str]]) -> List[ManifestEntry]:
    """`<app>/<name>/function.json`: the bindings of one function; `<app>/host.json` gives the
    app's `functionTimeout`. Both are JSON (often tab-indented, which YAML refuses)."""
    doc = _json(text)
    if doc is None:
        raise YamlError("invalid JSON")
    folder = posixpath.dirname(path)
    script = doc.get("scriptFile")
    entry_point = doc.get("entryPoint")
    script_path = posixpath.normpath(posixpath.join(folder, script if isinstance(script, str) else "__init__.py"))
    if not script_path.endswith(".py") or script_path.startswith(".."):
        return []
    target = f"{script_path}:{entry_point if isinstance(entry_point, str) else 'main'}"
    host = _json(read(posixpath.join(posixpath.dirname(folder), "host.json")) or "")
    timeout = _seconds((host or {}).get("functionTimeout"))
    out = []
    bindings = doc.get("bindings")
    for binding in bindings if isinstance(bindings, list) else []:
        kind_name = str(binding.get("type") or "") if isinstance(binding, dict) else ""
        kind = AZURE_TRIGGERS.get(kind_name)
        if kind is None or binding.get("direction") not in (None, "in"):
            continue
        schedule = binding.get("schedule")
        period = schedule_hours(schedule) if isinstance(schedule, str) else None
        trigger = f"{posixpath.basename(folder)}: {kind_name}" + (f" '{schedule}'" if isinstance(schedule, str) else "")
        line = text.count("\n", 0, max(text.find(f'"{kind_name}"'), 0)) + 1
        out.append(_entry(path, line, kind, trigger, target, line, period, timeout))
    return out


def _json(text: str) -> Optional[Dict[str, object]]:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# -- Google Cloud Functions --------------------------------------------------------------------

# Flags of `gcloud functions deploy` that take no value.
_GCLOUD_SWITCHES = frozenset({"--trigger-http", "--gen2", "--no-gen2", "--allow-unauthenticated",
                              "--no-allow-unauthenticated", "--quiet", "--retry", "--async"})
_GCLOUD_DEPLOY = re.compile(r"gcloud\s+(?:beta\s+)?functions\s+deploy\b(?:[^\n\\]|\\\n|\\.)*")


def read_gcloud_deploys(path: str, text: str) -> List[ManifestEntry]:
    """`gcloud functions deploy NAME --entry-point fn --source dir --trigger-http --timeout 540s`
    in any script, Makefile or CI file: the entry point runs in `main.py` of the source folder."""
    out = []
    for match in _GCLOUD_DEPLOY.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        try:
            words = shlex.split(match.group(0).replace("\\\n", " "), comments=True)
        except ValueError:
            continue
        options: Dict[str, str] = {}
        positional: List[str] = []
        rest = words[words.index("deploy") + 1 :]
        while rest:
            word = rest.pop(0)
            if not word.startswith("--"):
                positional.append(word)
                continue
            key, eq, value = word.partition("=")
            if not eq and key not in _GCLOUD_SWITCHES and rest and not rest[0].startswith("-"):
                value = rest.pop(0)
            options[key] = value
        function = options.get("--entry-point") or (positional[0] if positional else "")
        source = options.get("--source", ".")
        runtime = options.get("--runtime", "python")
        if not function or "$" in function or "$" in source or not runtime.startswith("python"):
            continue
        # Without a trigger flag a function is deployed with an HTTP trigger.
        kind = next((GCLOUD_TRIGGERS[k] for k in options if k in GCLOUD_TRIGGERS), "http_handler")
        folder = posixpath.normpath(posixpath.join(posixpath.dirname(path), source))
        if folder.startswith(".."):
            continue
        target = f"{posixpath.join(folder, 'main.py') if folder != '.' else 'main.py'}:{function}"
        trigger = f"gcloud functions deploy {positional[0] if positional else function}"
        out.append(_entry(path, line, kind, trigger, target, line, None, _seconds(options.get("--timeout"))))
    return out
