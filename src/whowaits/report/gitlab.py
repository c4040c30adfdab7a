"""GitLab Code Quality report: a JSON array of issues, one per finding."""

from __future__ import annotations

import json

from whowaits.report.output import Report

_GITLAB_SEVERITY = {"error": "major", "warning": "minor", "info": "info"}


def render(report: Report) -> str:
    issues = [
        {
            "description": f"{f.code} {f.message}",
            "check_name": f"{f.code} {f.name}",
            "fingerprint": f.fingerprint,
            "severity": _GITLAB_SEVERITY[f.severity],
            "location": {"path": f.path, "lines": {"begin": f.line}},
        }
        for f in report.result.findings
    ]
    return json.dumps(issues, indent=2) + "\n"
