"""The provider records are the one home of provider knowledge, and each is held to fixtures.

Adding a provider is adding its record to `knowledge.providers.PROVIDERS`: every operation kind
the record declares must be exercised by a fixture call site that says so (`# site: <kind>`,
checked by tests/test_fixtures.py), and the tables the other stages read must come from it.
"""

from __future__ import annotations

import ast
import json
import os
import re
from typing import Set, Tuple

from conftest import FIXTURES, REPO, run
from test_fixtures import SITE, cases, expectations
from whowaits.config import resolve_settings
from whowaits.core import ContextKind, OperationKind
from whowaits.discover import SDK_MENTION
from whowaits.knowledge.frameworks import BLOCKING_KINDS
from whowaits.knowledge.providers import PROVIDERS
from whowaits.knowledge.sdk import CLIENT_CLASSES, METHODS, SDK_MODULES


def _case_files(case: str) -> Tuple[str, list]:
    path = os.path.join(FIXTURES, case)
    if os.path.isdir(path):
        return path, [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if f.endswith(".py")]
    return os.path.dirname(path), [path]


def _marked_sites() -> Set[Tuple[str, str]]:
    """(provider, operation kind) of every call site a fixture marks with `# site:`."""
    covered: Set[Tuple[str, str]] = set()
    for case in cases():
        root, files = _case_files(case)
        if not any(SITE.search(open(f, "rb").read()) for f in files):
            continue
        _, wanted = expectations(root, files)
        path = os.path.join(FIXTURES, case)
        result = run([path], root=root, settings=resolve_settings([path]))
        covered |= {(s.op.provider, s.op.kind) for s in result.sites if (s.path, s.line, s.op.kind) in wanted}
    return covered


def test_every_operation_kind_a_provider_declares_has_a_fixture() -> None:
    covered = _marked_sites()
    missing = sorted(
        f"{record.name}: {kind.value}"
        for record in PROVIDERS.values()
        for kind in record.operation_kinds
        if (record.name, kind) not in covered
    )
    assert not missing, "no fixture marks a call site of " + ", ".join(missing)


def test_the_sdk_tables_come_from_the_records() -> None:
    for record in PROVIDERS.values():
        assert set(record.modules) <= set(SDK_MODULES)
        for client in record.clients:
            assert CLIENT_CLASSES[(client.module, client.name)] == (record.name, client.canonical, client.batch)
        if record.methods:
            assert METHODS[record.name] == dict(record.methods)
    # Clients sharing a canonical name share its method table (it is keyed by that name).
    tables = {}
    for record in PROVIDERS.values():
        for client in record.clients:
            assert tables.setdefault(client.canonical, client.methods) == client.methods, client.canonical


def test_the_prefilter_names_every_sdk_module_and_host() -> None:
    for record in PROVIDERS.values():
        for module in record.modules:
            services = [c.service for c in record.clients if c.module == module and c.service]
            for word in services or [module.split(".")[-1]]:
                assert SDK_MENTION.search(f"import {word}\n".encode()), word
        for client in record.clients:
            if client.endpoints:
                assert SDK_MENTION.search(f'requests.post("https://{record.hosts[0]}/v1")'.encode())


def test_kinds_are_text_in_every_output() -> None:
    """A kind prints, serialises and compares as its value, so reports and the cache see text."""
    kind = OperationKind.BATCH_SUBMIT
    assert (str(kind), f"{kind}", "%s" % kind, json.dumps([kind])) == ("batch_submit",) * 3 + ('["batch_submit"]',)
    assert kind == "batch_submit" and "batch_submit" in {kind} and {"batch_submit": 1}[kind] == 1
    assert set(BLOCKING_KINDS) == set(ContextKind) - {ContextKind.DECLARED}


def test_the_readme_lists_every_operation_kind() -> None:
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as fh:
        listed = re.search(r"Operation kinds: (.*?)\.\n", fh.read(), re.S)
    assert listed is not None
    assert re.findall(r"`(\w+)`", listed.group(1)) == [kind.value for kind in OperationKind]


# Where a provider's name may be written besides its record: the migration runners are code
# templates per provider (a provider gets `whowaits migrate` support by adding one).
_NAMED_ELSEWHERE = ("knowledge/providers.py", "migrate/")


def test_no_provider_is_named_outside_its_record() -> None:
    """Provider lists in checks, reports and the pre-filter come from the records, never by hand."""
    source = os.path.join(REPO, "src", "whowaits")
    found = []
    for folder, _, names in os.walk(source):
        for name in names:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, source).replace(os.sep, "/")
            if not name.endswith(".py") or rel.startswith(_NAMED_ELSEWHERE):
                continue
            with open(path, encoding="utf-8") as fh:
                tree = ast.parse(fh.read())
            found += [f"{rel}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
                      if isinstance(node, ast.Constant) and node.value in PROVIDERS]
    assert not found, found
