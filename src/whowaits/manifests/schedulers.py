"""Schedules outside CI: crontab lines, Kubernetes CronJobs, Procfiles, systemd timers."""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Callable, Dict, List, Optional

from whowaits.core import ManifestEntry
from whowaits.manifests.schedule import MACROS, cron_period_hours, systemd_period_hours
from whowaits.manifests.yamlload import as_list, get, line_of, load_documents

_USER = re.compile(r"^[a-z_][a-z0-9_-]*$")
_COMMANDS = ("python", "cd", "uv", "poetry", "pipenv", "make", "bash", "sh", "/", ".", "~")


def read_crontab(path: str, text: str) -> List[ManifestEntry]:
    system = "cron.d" in path.split("/") or path.endswith("/crontab") and path.startswith("etc/")
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*=", line):
            continue
        parts = line.split()
        if parts[0].startswith("@"):
            if parts[0] not in MACROS:
                continue
            schedule, rest = parts[0], parts[1:]
        elif len(parts) > 5:
            schedule, rest = " ".join(parts[:5]), parts[5:]
        else:
            continue
        period = cron_period_hours(schedule)
        if period is None:
            continue
        if rest and (system or (len(rest) > 1 and _USER.match(rest[0]) and not rest[0].startswith(_COMMANDS) and rest[1].startswith(_COMMANDS))):
            rest = rest[1:]  # the user field of /etc/crontab and cron.d lines
        command = " ".join(rest).split(">")[0].strip()
        if command:
            out.append(ManifestEntry(path, number, "scheduled", f"crontab '{schedule}'", command, number, "", period))
    return out


def read_kubernetes(path: str, text: str) -> List[ManifestEntry]:
    out = []
    for doc in load_documents(text):
        if get(doc, "kind") != "CronJob":
            continue
        spec = get(doc, "spec")
        schedule = get(spec, "schedule")
        if not isinstance(schedule, str):
            continue
        period = cron_period_hours(schedule)
        pod = get(get(get(get(spec, "jobTemplate"), "spec"), "template"), "spec")
        for container in as_list(get(pod, "containers")):
            argv = [str(a) for a in as_list(get(container, "command")) + as_list(get(container, "args"))]
            if not argv:
                continue
            if len(argv) >= 3 and argv[0].endswith("sh") and argv[1] == "-c":
                command = argv[2]
            else:
                command = " ".join(shlex.quote(a) for a in argv)
            cwd = get(container, "workingDir")
            out.append(ManifestEntry(path, line_of(schedule), "scheduled", f"CronJob schedule '{schedule}'", command,
                                     line_of(container), "" if not isinstance(cwd, str) else cwd.strip("/"), period))
    return out


_PROCFILE_KINDS = {"clock": "scheduled", "scheduler": "scheduled", "cron": "scheduled",
                   "worker": "background", "queue": "background", "release": "ci_event"}


def read_procfile(path: str, text: str) -> List[ManifestEntry]:
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line.strip())
        if match and match.group(1) in _PROCFILE_KINDS:
            kind = _PROCFILE_KINDS[match.group(1)]
            out.append(ManifestEntry(path, number, kind, f"Procfile {match.group(1)}", match.group(2), number))
    return out


def _ini(text: str) -> Dict[str, str]:
    values: Dict[str, str] = {}
    for line in text.splitlines():
        if "=" in line and not line.strip().startswith(("#", ";")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), value.strip())
    return values


def read_systemd_timer(path: str, text: str, read: Callable[[str], Optional[str]]) -> List[ManifestEntry]:
    timer = _ini(text)
    period = systemd_period_hours(timer.get("OnCalendar"), timer.get("OnUnitActiveSec"))
    unit = timer.get("Unit") or posixpath.basename(path)[: -len(".timer")] + ".service"
    service_path = posixpath.join(posixpath.dirname(path), unit)
    service = read(service_path)
    if service is None and "@" in unit:  # an instance of a template unit: foo@x.service -> foo@.service
        service_path = posixpath.join(posixpath.dirname(path), unit.split("@")[0] + "@.service")
        service = read(service_path)
    if service is None:
        return []
    values = _ini(service)
    command = values.get("ExecStart", "").lstrip("-@+!")
    if not command:
        return []
    line = next((n for n, item in enumerate(service.splitlines(), 1) if item.strip().startswith("ExecStart")), 1)
    trigger = f"systemd timer {timer.get('OnCalendar') or timer.get('OnUnitActiveSec')}"
    cwd = values.get("WorkingDirectory", "")
    return [ManifestEntry(service_path, line, "scheduled", trigger, command, line, "" if cwd.startswith("/") else cwd, period)]
