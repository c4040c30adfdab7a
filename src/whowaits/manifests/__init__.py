"""Manifests: the files that start code (CI workflows, cron, hooks, deploy configs).

`find` names the manifest files of a project, `read_all` turns them into `ManifestEntry`s (a
trigger, a command, a period) plus the project data command resolution needs (console scripts,
Makefile targets). A file that cannot be read or parsed becomes a problem for WW000; unknown
keys and templated values are simply not understood, never guessed.
"""

from __future__ import annotations

import functools
import os
import posixpath
import sys
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Tuple

from whowaits.core import ManifestEntry
from whowaits.discover import inside

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_MANIFEST_BYTES = 2 * 1024 * 1024


def manifest_kind(relpath: str) -> Optional[str]:
    """Which reader a file needs, from its path alone."""
    name = posixpath.basename(relpath)
    parts = relpath.split("/")
    yaml_file = name.endswith((".yml", ".yaml"))
    if ("/" + relpath).find("/.github/workflows/") >= 0 and yaml_file:
        return "github"  # also in a repository checked out under the analysed folder
    if name == ".gitlab-ci.yml":
        return "gitlab"
    if relpath == ".circleci/config.yml":
        return "circleci"
    if name in ("azure-pipelines.yml", "azure-pipelines.yaml"):
        return "azure"
    if relpath.startswith(".buildkite/") and yaml_file:
        return "buildkite"
    if name == ".pre-commit-config.yaml":
        return "precommit"
    if name == "tox.ini":
        return "tox"
    if name == "noxfile.py":
        return "nox"
    if name == "crontab" or name.endswith((".crontab", ".cron")) or "cron.d" in parts[:-1]:
        return "crontab"
    if name == "Procfile":
        return "procfile"
    if name.endswith(".timer"):
        return "systemd"
    if name in ("Makefile", "makefile", "GNUmakefile"):
        return "makefile"
    if name in ("pyproject.toml", "setup.cfg", "setup.py"):
        return "packaging"
    if relpath in ("action.yml", "action.yaml"):
        return "action"  # the repository is a GitHub Action
    if name in ("serverless.yml", "serverless.yaml"):
        return "serverless"
    if name == "function.json":
        return "azure_function"
    if name.endswith(".sh"):
        return "shell"  # may deploy a Cloud Function
    if yaml_file and not relpath.startswith(".github/"):
        return "yaml"  # maybe a Kubernetes CronJob
    return None


@dataclass
class Manifests:
    entries: List[ManifestEntry] = field(default_factory=list)
    problems: List[Tuple[str, str]] = field(default_factory=list)  # (path, reason)
    console_scripts: Dict[str, str] = field(default_factory=dict)  # name -> "module:function"
    makefiles: Dict[str, Dict[str, Tuple[int, str]]] = field(default_factory=dict)  # folder -> targets
    read: List[str] = field(default_factory=list)  # every file opened, as the run cache must know


def read_all(root: str, relpaths: List[str]) -> Manifests:
    from whowaits.manifests import serverless
    from whowaits.manifests.yamlload import YamlError

    out = Manifests()

    def read(relpath: str) -> Optional[str]:
        """A file of the tree as text, at most `MAX_MANIFEST_BYTES`; None outside the root
        (a composite action at `./../../x` or a symlink out) or unreadable."""
        full = os.path.normpath(os.path.join(root, relpath))
        if not inside(root, full):
            return None
        out.read.append(os.path.relpath(full, root).replace(os.sep, "/"))
        try:
            with open(full, "rb") as fh:
                data = fh.read(MAX_MANIFEST_BYTES + 1)
        except OSError:
            return None
        return None if len(data) > MAX_MANIFEST_BYTES else data.decode("utf-8", errors="replace")

    for relpath in sorted(relpaths):
        kind = manifest_kind(relpath)
        if kind is None:
            continue
        text = read(relpath)
        if text is None:
            if not os.path.exists(os.path.join(root, relpath)) or os.path.islink(os.path.join(root, relpath)):
                out.problems.append((relpath, "manifest not analyzed: broken symlink or unreadable file"))
            else:
                out.problems.append((relpath, f"manifest not analyzed: cannot read it, or larger than {MAX_MANIFEST_BYTES // 1024 // 1024} MB"))
            continue
        try:
            out.entries.extend(_read_one(kind, relpath, text, read, out))
            if "functions deploy" in text:  # a Cloud Function deployed from a script or CI step
                out.entries.extend(serverless.read_gcloud_deploys(relpath, text))
        except YamlError as exc:
            out.problems.append((relpath, f"manifest not analyzed: {exc}"))
        except RecursionError:
            out.problems.append((relpath, "manifest not analyzed: too deeply nested"))
    return out


# kind -> reader(path, text, read): the formats whose files become manifest entries.
@functools.lru_cache(maxsize=1)
def _readers() -> Dict[str, Callable[[str, str, Callable[[str], Optional[str]]], List[ManifestEntry]]]:
    """The readers by kind, imported on first use: a run served from the run cache only needs
    `manifest_kind`, and the readers pull in YAML and the command parsers."""
    from whowaits.manifests import ci_other, github, gitlab, hooks, schedulers, serverless

    return {
        "github": github.read_workflow,
        "gitlab": lambda path, text, read: gitlab.read_gitlab(path, text),
        "circleci": lambda path, text, read: ci_other.read_circleci(path, text),
        "azure": lambda path, text, read: ci_other.read_azure(path, text),
        "buildkite": lambda path, text, read: ci_other.read_buildkite(path, text),
        "precommit": lambda path, text, read: hooks.read_precommit(path, text),
        "tox": lambda path, text, read: hooks.read_tox(path, text),
        "nox": lambda path, text, read: hooks.read_nox(path, text),
        "crontab": lambda path, text, read: schedulers.read_crontab(path, text),
        "procfile": lambda path, text, read: schedulers.read_procfile(path, text),
        "systemd": schedulers.read_systemd_timer,
        "yaml": lambda path, text, read: (schedulers.read_kubernetes(path, text) if "CronJob" in text else [])
        + (serverless.read_cloudformation(path, text) if serverless.is_cloudformation(text) else []),
        "action": github.read_action,
        "serverless": lambda path, text, read: serverless.read_serverless(path, text),
        "azure_function": lambda path, text, read: serverless.read_azure_function(path, text, read),
        "shell": lambda path, text, read: [],
    }


def _read_one(kind: str, path: str, text: str, read: Callable[[str], Optional[str]], out: Manifests) -> List[ManifestEntry]:
    from whowaits.manifests.commands import console_scripts_from_pyproject, console_scripts_from_text, make_targets

    readers = _readers()
    if kind in readers:
        # CI files run commands from their repository's top folder, which may be a sub-folder
        # of the analysed root (several repositories side by side).
        base = path.split(".github/")[0].rstrip("/") if kind == "github" else (
            posixpath.dirname(path) if kind in ("gitlab", "circleci", "azure", "buildkite", "precommit", "tox", "nox", "procfile") else "")
        if kind == "circleci":
            base = posixpath.dirname(base)
        scoped = (lambda rel: read(posixpath.join(base, rel))) if base else read
        entries = readers[kind](path, text, scoped)
        if base:
            entries = [replace(e, cwd=posixpath.normpath(posixpath.join(base, e.cwd))) for e in entries]
        return entries
    if kind == "makefile":
        out.makefiles[posixpath.dirname(path)] = make_targets(text)
        return []
    if kind == "packaging":
        if path.endswith("pyproject.toml"):
            try:
                out.console_scripts.update(console_scripts_from_pyproject(tomllib.loads(text)))
            except tomllib.TOMLDecodeError:
                pass  # the configuration loader reports a broken pyproject.toml
        elif "console_scripts" in text:
            section = text.split("console_scripts", 1)[1]
            out.console_scripts.update(console_scripts_from_text(section))
        return []
    return []
