"""Under CI=true a skipped test fails the run unless its reason is on tests/skip-allowlist.txt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import SKIP_ALLOWLIST, allowed_skip_reasons

TESTS = Path(__file__).resolve().parents[1]
SAMPLE = """
import pytest

def test_runs():
    assert True

def test_skipped_for_a_missing_prerequisite():
    pytest.skip("iproute2 missing: hack/setup installs it")

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False
"""


def run_sample(tmp_path: Path, ci: str | None, allowlist: Path | None = None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "OCI_SKIP_ALLOWLIST")}
    if allowlist is not None:
        env["OCI_SKIP_ALLOWLIST"] = str(allowlist)
    env["PYTHONPATH"] = str(TESTS)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q", "-rA", "test_sample.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_outside_ci_a_skip_is_a_skip(tmp_path: Path) -> None:
    proc = run_sample(tmp_path, None)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 1 skipped, 1 xfailed" in proc.stdout


def test_under_ci_a_skip_not_on_the_list_fails_and_says_why(tmp_path: Path) -> None:
    proc = run_sample(tmp_path, "true")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 1 passed, 1 xfailed" in proc.stdout  # an expected failure is no skip
    assert "skipped under CI=true for a reason not on skip-allowlist.txt: iproute2 missing" in proc.stdout


def test_a_reason_on_the_list_may_skip_under_ci(tmp_path: Path) -> None:
    allowlist = tmp_path / "allow.txt"
    allowlist.write_text("# why\n\niproute2 missing\n")
    proc = run_sample(tmp_path, "true", allowlist)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 1 skipped, 1 xfailed" in proc.stdout
    patterns = allowed_skip_reasons(allowlist)
    assert [p.pattern for p in patterns] == ["iproute2 missing"]
    assert patterns[0].match("iproute2 missing: hack/setup installs it")
    assert not patterns[0].match("network namespaces need root; iproute2 missing")  # anchored at the start


def test_the_list_stays_short() -> None:
    assert len(allowed_skip_reasons(SKIP_ALLOWLIST)) <= 5
