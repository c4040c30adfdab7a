"""GitLab CI: which jobs run on merge requests and which on schedules, and their scripts."""

from __future__ import annotations

from typing import List, Optional

from whowaits.core import ManifestEntry
from whowaits.manifests.schedule import span_hours
from whowaits.manifests.yamlload import LDict, as_list, get, line_of, load_documents

RESERVED = {"stages", "variables", "default", "include", "workflow", "image", "services",
            "before_script", "after_script", "cache", "pages"}


def _kinds(job: LDict) -> List[str]:
    """ci_premerge for merge-request and push pipelines, scheduled for scheduled pipelines."""
    kinds: List[str] = []
    rules = get(job, "rules")
    for rule in as_list(rules):
        condition = str(get(rule, "if") or "")
        if str(get(rule, "when") or "") == "never":
            continue
        if "merge_request_event" in condition or "push" in condition:
            kinds.append("ci_premerge")
        if '"schedule"' in condition or "'schedule'" in condition or "== schedule" in condition:
            kinds.append("scheduled")
    for key in ("only",):
        refs = get(job, key)
        refs = get(refs, "refs") if isinstance(refs, dict) else refs
        for ref in as_list(refs):
            if ref in ("merge_requests", "branches", "pushes") or (isinstance(ref, str) and ref not in ("schedules", "tags", "api", "web", "triggers")):
                kinds.append("ci_premerge")
            if ref == "schedules":
                kinds.append("scheduled")
    if rules is None and get(job, "only") is None:
        kinds.append("ci_premerge")
    return sorted(set(kinds))


def read_gitlab(path: str, text: str) -> List[ManifestEntry]:
    docs = load_documents(text)
    doc = docs[0] if docs else None
    if not isinstance(doc, LDict):
        return []
    out: List[ManifestEntry] = []
    for name, job in doc.items():
        if name in RESERVED or name.startswith(".") or not isinstance(job, LDict):
            continue
        timeout = get(job, "timeout")
        deadline: Optional[float] = span_hours(str(timeout)) if timeout else None
        scripts = as_list(get(job, "before_script")) + as_list(get(job, "script"))
        for kind in _kinds(job):
            trigger = "rules: merge_request_event / push pipeline" if kind == "ci_premerge" else "rules: scheduled pipeline"
            for command in scripts:
                if isinstance(command, str):
                    out.append(ManifestEntry(path, doc.line_of(name), kind, f"job {name} ({trigger})", command, line_of(command), "", None, deadline))
    return out
