"""What findings say about who waits: never a blocking kind for a path nobody waits on."""

from __future__ import annotations

import os

from conftest import FIXTURES, run


def test_tolerant_message_names_no_blocking_kind() -> None:
    case = os.path.join(FIXTURES, "contexts", "tolerant_with_test")
    result = run([case], root=case)
    [finding] = [f for f in result.findings if f.code == "WW201"]
    assert "offline script" in finding.message
    assert "ci premerge" not in finding.message and "pytest" not in finding.message
    [site] = result.sites
    assert {c.kind for c in site.contexts} == {"offline_script", "ci_premerge"}  # the test still reaches it


def test_tests_that_fake_the_api_decide_nothing() -> None:
    case = os.path.join(FIXTURES, "contexts", "tests_fake_servers")
    result = run([case], root=case)
    verdicts = {s.call.function: s.verdict for s in result.sites}
    # A local server (module base_url, env, client argument) and a conftest that replaces the
    # client: those tests do not call the provider. The live test does.
    assert verdicts == {"summarize": "unknown", "classify": "unknown", "translate": "unknown", "tag": "blocking"}
