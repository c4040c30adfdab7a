"""Discovery: ignore files, default excludes, the text pre-filter and project roots."""

from __future__ import annotations

import os

from whowaits.discover import find_root, prefilter, sdk_package_files, walk


def _tree(root, files) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_gitignore_default_excludes_and_negation(tmp_path) -> None:
    _tree(tmp_path, {
        ".gitignore": "generated/\n*_pb2.py\n!keep_pb2.py\n/top_only.py\n",
        "app.py": "", "generated/x.py": "", "api_pb2.py": "", "keep_pb2.py": "", "top_only.py": "",
        "pkg/top_only.py": "", ".venv/lib/site.py": "", "node_modules/a.py": "", "build/b.py": "",
        "pkg/.gitignore": "local.py\n", "pkg/local.py": "", "pkg/mod.py": "", "notes.txt": "",
    })
    files, problems, watched = walk(str(tmp_path), [str(tmp_path)])
    assert [f.relpath for f in files] == ["app.py", "keep_pb2.py", "pkg/mod.py", "pkg/top_only.py"]
    assert problems == []
    # What the outcome depends on: the folders listed (not the excluded or ignored ones) and
    # the ignore files read.
    assert watched == [".", ".gitignore", "pkg", "pkg/.gitignore"]


def test_exclude_patterns_and_explicit_files(tmp_path) -> None:
    _tree(tmp_path, {"migrations/0001.py": "", "app.py": "", "vendor/lib.py": ""})
    files = walk(str(tmp_path), [str(tmp_path)], excludes=["migrations/", "vendor"]).files
    assert [f.relpath for f in files] == ["app.py"]
    # A file named on the command line is analysed even inside an excluded folder.
    files = walk(str(tmp_path), [str(tmp_path / "vendor" / "lib.py")], excludes=["vendor"]).files
    assert [f.relpath for f in files] == ["vendor/lib.py"]


def test_prefilter_follows_imports_of_sdk_modules() -> None:
    contents = {
        "pkg/llm.py": b"import anthropic\nclient = anthropic.Anthropic()\n",
        "pkg/service.py": b"from pkg.llm import client\n",
        "pkg/api.py": b"from .service import handle\n",
        "pkg/unrelated.py": b"import json\n",
        "tools/relative.py": b"from . import llm\n",
    }
    assert prefilter(contents) == {"pkg/llm.py", "pkg/service.py", "pkg/api.py", "tools/relative.py"}


def test_prefilter_follows_helpers_the_selected_files_import() -> None:
    contents = {
        "evals/model.py": b"import anthropic\nfrom . import parallel\n",
        "evals/run.py": b"from evals.model import Model\nfrom evals.qa import QA\n",
        "evals/qa.py": b"from .common import (\n    map_all,\n)\n",
        "evals/common.py": b"from multiprocessing.pool import ThreadPool\nimport util\n",
        "evals/parallel.py": b"",
        "util.py": b"",
        "tests/conftest.py": b"import pytest\n",
        "docs/unrelated.py": b"import json\n",
    }
    assert prefilter(contents) == {
        "evals/model.py", "evals/run.py", "evals/qa.py", "evals/common.py", "evals/parallel.py", "util.py",
        "tests/conftest.py",
    }


def test_the_sdk_own_source_is_not_followed() -> None:
    """A top-level package named like an SDK that defines its client class is that SDK (the
    SDK's repository, a vendored copy): its modules are neither parsed nor followed. A folder of
    that name inside a project package, or one that only uses the SDK, is judged as usual."""
    contents = {
        "src/anthropic/__init__.py": b"from ._client import Anthropic\n",
        "src/anthropic/_client.py": b"import anthropic\nclass Anthropic:\n    def create(self): self.messages.create()\n",
        "src/anthropic/_models.py": b"import pydantic\n",
        "vendor/google/genai/__init__.py": b"from .client import Client\n",
        "vendor/google/genai/client.py": b"import google.genai\nclass Client:\n    pass\n",
        "tests/test_client.py": b"import anthropic\nanthropic.Anthropic().messages.create()\n",
        "app/__init__.py": b"",
        "app/providers/__init__.py": b"",
        "app/providers/anthropic/__init__.py": b"import anthropic\nclient = anthropic.Anthropic()\n",
        "app/main.py": b"from app.providers.anthropic import client\n",
        "examples/openai/__init__.py": b"",
        "examples/openai/chat.py": b"import openai\nopenai.OpenAI().chat.completions.create()\n",
    }
    assert sdk_package_files(contents) == {
        "src/anthropic/__init__.py", "src/anthropic/_client.py", "src/anthropic/_models.py",
        "vendor/google/genai/__init__.py", "vendor/google/genai/client.py",
    }
    assert prefilter(contents) == {"tests/test_client.py", "app/providers/anthropic/__init__.py", "app/main.py",
                                   "examples/openai/chat.py", "examples/openai/__init__.py"}


def test_find_root(tmp_path) -> None:
    _tree(tmp_path, {"proj/pyproject.toml": "", "proj/src/pkg/mod.py": ""})
    assert find_root([str(tmp_path / "proj" / "src" / "pkg" / "mod.py")]) == str(tmp_path / "proj")
    assert find_root([str(tmp_path / "proj" / "src")]) == str(tmp_path / "proj")
    os.remove(tmp_path / "proj" / "pyproject.toml")
    # No marker anywhere: the given folder (a file's folder), never the working folder.
    assert find_root([str(tmp_path / "proj" / "src")]) == str(tmp_path / "proj" / "src")
    assert find_root([str(tmp_path / "proj" / "src" / "pkg" / "mod.py")]) == str(tmp_path / "proj" / "src" / "pkg")
    assert find_root([str(tmp_path / "proj" / "src" / "pkg"), str(tmp_path / "proj" / "x.py")]) == str(tmp_path / "proj")


def test_the_mention_screens_pass_every_shape_and_word_the_regex_matches() -> None:
    """The screens in front of the SDK-mention regex (its words, one regex for its method
    shapes) only skip bytes it cannot match: every method shape and word it knows passes them; a
    near miss (a shape's first part on a Django-style path) is screened out or rejected by the regex."""
    from whowaits.discover import SDK_MENTION
    from whowaits.knowledge.sdk import METHOD_TAILS

    shapes = {".".join(tail.split(".")[-2:]) for tail in METHOD_TAILS if "." in tail and "(" not in tail}
    assert len(shapes) > 20
    for shape in shapes:
        assert SDK_MENTION.search(f"result = client.{shape}(**request)\n".encode()), shape
    for word in ("anthropic", "openai", "langchain_openai", "bedrock-runtime", "litellm"):
        assert SDK_MENTION.search(f"x = {word}\n".encode()), word
    assert SDK_MENTION.search(b"from django.db.models.functions import Lower\nform.files.get('x')\n") is None


def test_the_model_constant_screen_passes_every_prefix_and_only_those() -> None:
    """The one-pass screen for model ids (a hyphen, then a look back for a prefix) passes each
    prefix of the price table quoted, and nothing that only ends like one."""
    from whowaits.cost import model_prefixes
    from whowaits.discover import _model_constant

    named, constant = _model_constant()
    assert len(model_prefixes()) >= 2
    for prefix in model_prefixes():
        source = f'MODEL = "{prefix}x-1"\n'.encode()
        assert named.search(source) and constant.search(source), prefix
        assert named.search(f"MODEL = '{prefix}x-1'\n".encode()), prefix
        assert named.search(f'MODEL = "{prefix[:-1]}"  # {prefix[:-1]} -x\n'.encode()) is None, prefix
    assert named.search(b'NAME = "x-claude"\nlimit = a - b\n') is None
