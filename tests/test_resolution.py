"""Call-site resolution, one path at a time: how a receiver is known to be an LLM client."""

from __future__ import annotations

import os
from typing import Dict, List, Tuple

import pytest
from conftest import FIXTURES

from whowaits.facts import extract
from whowaits.index import build_sites, module_name


def sites(files: Dict[str, str]) -> List[Tuple[str, int, str, str]]:
    facts = {path: extract(text.encode()) for path, text in files.items()}
    _, found = build_sites(facts)
    return [(s.path, s.line, s.op.kind, s.op.client) for s in found]


CASES = {
    "alias of the class": (
        "from anthropic import Anthropic as Claude\nc = Claude()\nc.messages.create()\n",
        [(3, "sync", "Anthropic")],
    ),
    "alias of the module": (
        "import anthropic as ai\nai.AsyncAnthropic().messages.batches.create(requests=[])\n",
        [(2, "batch_submit", "AsyncAnthropic")],
    ),
    "anthropic.Client is Anthropic": (
        "import anthropic\nanthropic.Client().messages.stream()\n",
        [(2, "stream", "Anthropic")],
    ),
    "module global used in a function": (
        "import anthropic\nc = anthropic.Anthropic()\ndef f():\n    c.messages.batches.results('id')\n",
        [(4, "batch_results", "Anthropic")],
    ),
    "function local": (
        "import anthropic\ndef f():\n    c = anthropic.AsyncAnthropic()\n    c.beta.messages.batches.retrieve('id')\n",
        [(4, "batch_poll", "AsyncAnthropic")],
    ),
    "self attribute set in another method": (
        "import anthropic\nclass A:\n    def setup(self):\n        self.c = anthropic.Anthropic()\n"
        "    def run(self):\n        self.c.messages.batches.cancel('id')\n",
        [(6, "batch_cancel", "Anthropic")],
    ),
    "class attribute through cls": (
        "import anthropic\nclass A:\n    c = anthropic.Anthropic()\n    @classmethod\n"
        "    def run(cls):\n        cls.c.messages.batches.delete('id')\n",
        [(6, "batch_delete", "Anthropic")],
    ),
    "inherited attribute": (
        "import anthropic\nclass Base:\n    def __init__(self):\n        self.c = anthropic.Anthropic()\n"
        "class Child(Base):\n    def run(self):\n        self.c.messages.count_tokens()\n",
        [(7, "count_tokens", "Anthropic")],
    ),
    "factory function": (
        "import anthropic\ndef make():\n    return anthropic.Anthropic()\nmake().beta.messages.tool_runner()\n",
        [(4, "tool_runner", "Anthropic")],
    ),
    "lru_cache getter": (
        "import functools, anthropic\n@functools.lru_cache\ndef get():\n    return anthropic.Anthropic()\n"
        "def f():\n    client = get()\n    client.messages.parse()\n",
        [(7, "sync", "Anthropic")],
    ),
    "annotated parameter": (
        "from typing import Optional\nimport anthropic\ndef f(c: Optional[anthropic.AsyncAnthropic]):\n"
        "    c.messages.create(stream=True)\n",
        [(4, "stream", "AsyncAnthropic")],
    ),
    "with statement": (
        "import anthropic\nwith anthropic.Anthropic() as c:\n    c.messages.create()\n",
        [(3, "sync", "Anthropic")],
    ),
    "twilio lookalike": (
        "from twilio.rest import Client\nc = Client()\nc.messages.create(body='x')\n",
        [],
    ),
    "unannotated parameter stays unknown": (
        "def f(client):\n    client.messages.batches.create(requests=[])\n",
        [],
    ),
    "rebinding the name to a non-client": (
        "import anthropic\nclass Messages:\n    def create(self):\n        pass\nclass Fake:\n"
        "    messages = Messages()\nFake().messages.create()\n",
        [],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_single_module_resolution(name: str) -> None:
    source, expected = CASES[name]
    assert [(line, kind, client) for _, line, kind, client in sites({"m.py": source})] == expected


def test_client_imported_from_another_module() -> None:
    files = {
        "src/app/llm.py": "import anthropic\nclient = anthropic.Anthropic()\ndef get():\n    return client\n",
        "src/app/jobs.py": "from app.llm import client, get\nclient.messages.create()\nget().messages.batches.list()\n",
        "src/app/rel.py": "from .llm import client as c\nc.messages.batches.create(requests=[])\n",
        "src/app/mod.py": "from app import llm\nllm.client.messages.count_tokens()\n",
    }
    assert sites(files) == [
        ("src/app/jobs.py", 2, "sync", "Anthropic"),
        ("src/app/jobs.py", 3, "batch_poll", "Anthropic"),
        ("src/app/mod.py", 2, "count_tokens", "Anthropic"),
        ("src/app/rel.py", 2, "batch_submit", "Anthropic"),
    ]


def test_project_module_wrapping_twilio_is_not_a_site() -> None:
    files = {
        "sms.py": "from twilio.rest import Client\nclient = Client()\n",
        "notify.py": "from sms import client\nclient.messages.create(body='x')\n",
    }
    assert sites(files) == []


def test_module_names() -> None:
    assert module_name("src/app/llm.py") == "app.llm"
    assert module_name("app/__init__.py") == "app"
    assert module_name("scripts/run.py") == "scripts.run"


def test_paths_outside_the_project_are_known_at_their_first_name() -> None:
    """`ProjectIndex.in_project`: a path may name the project's only when its first name starts
    a module's name or one of its suffixes (the call graph skips the rest unresolved); a folder
    named like a library makes its paths the project's again."""
    from whowaits.index import ProjectIndex

    index = ProjectIndex({path: extract(b"") for path in ("pkg/llm.py", "src/app/routes.py", "datasets/__init__.py")})
    assert index.in_project("pkg.llm.ask", "x.py") and index.in_project("llm.ask", "x.py")
    assert index.in_project("app.routes.home", "x.py") and index.in_project("routes.home", "x.py")
    assert index.in_project(".llm.ask", "pkg/service.py") and index.in_project("datasets.load_dataset", "x.py")
    assert not index.in_project("argparse.ArgumentParser", "x.py") and not index.in_project("pkg2.llm", "x.py")


def test_clients_pointed_at_other_servers_are_compatible() -> None:
    path = os.path.join(FIXTURES, "resolution", "compatible_servers.py")
    with open(path, "rb") as fh:
        facts = {"compatible_servers.py": extract(fh.read())}
    _, found = build_sites(facts)
    by_line = {s.line: (s.op.provider, s.op.batch_supported) for s in found}
    compatible = ("compatible", False)
    assert [by_line[line] for line in (23, 24, 25, 31, 38)] == [compatible] * 5  # literal URL, f-string host
    assert by_line[26] == ("openai", True)  # the official host
    assert by_line[27] == ("openai", True)  # not visible statically: not guessed
    assert by_line[28] == ("anthropic", True)
    assert by_line[29] == compatible  # LangChain's base_url
    assert by_line[30][0] == "compatible"  # LiteLLM's api_base
    assert by_line[32] == compatible  # the environment lookup's default
    assert by_line[33] == compatible  # a local server's placeholder key


def test_module_setting_points_module_client_at_a_server() -> None:
    files = {
        "a.py": "import openai\nopenai.base_url = 'http://localhost:8000/v1/'\nopenai.chat.completions.create()\n",
        "b.py": "import openai\nfrom openai import OpenAI\nopenai.base_url = 'http://localhost:8000/v1/'\nOpenAI().chat.completions.create()\n",
        "c.py": "import openai\nopenai.api_base = 'https://api.openai.com/v1'\nopenai.ChatCompletion.create()\n",
    }
    facts = {path: extract(text.encode()) for path, text in files.items()}
    _, found = build_sites(facts)
    assert sorted((s.path, s.op.provider) for s in found) == [("a.py", "compatible"), ("b.py", "openai"), ("c.py", "openai")]


def test_factories_of_factories_resolve_in_their_number_not_its_power(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each of 8 modules has 32 factories returning each of the next module's 32: 32**8 paths
    if every branch were walked again. The index remembers a branch by its values and the hops
    left, so it resolves each once; the last module's client is still found."""
    from whowaits.index import ProjectIndex

    modules, factories = 8, 32
    files: Dict[str, str] = {}
    for i in range(modules):
        last = i == modules - 1
        lines = ["import anthropic" if last else f"import m{i + 1}"]
        for j in range(factories):
            lines.append(f"def make{j}(k):")
            for t in range(factories):
                made = "anthropic.Anthropic()" if last else f"m{i + 1}.make{t}(k)"
                lines.append(f"    if k == {t}:\n        return {made}")
        files[f"m{i}.py"] = "\n".join(lines) + "\n"
    index = ProjectIndex({path: extract(text.encode()) for path, text in files.items()})
    limit = modules * factories + 1
    steps: List[str] = []
    original = ProjectIndex._steps

    def counted(self: ProjectIndex, path: str) -> List[str]:
        steps.append(path)
        assert len(steps) <= limit, "a branch was walked again"
        return original(self, path)

    monkeypatch.setattr(ProjectIndex, "_steps", counted)
    assert index.resolve_all("m0.make0().messages.create", "app.py") == ("anthropic.Anthropic().messages.create",)
