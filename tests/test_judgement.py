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
