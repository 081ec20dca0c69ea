"""The node agent's apply and drift logic on a temporary directory, through its command line
(`oci-agent run --desired FILE`), so the tests hold whatever way it writes files.

Files are owned by whoever runs the tests: no root needed. Packages, services and puppet need a Debian
root and are covered by tests/e2e/test_agent_debian_root.py."""

from __future__ import annotations

import grp
import json
import os
import pwd
from pathlib import Path
from typing import Any

import pytest

from oci_operator.agent import oci_agent

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


class Agent:
    """Runs the agent on documents, as the timer would run it on a host."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "root"
        self.root.mkdir()
        self.state_dir = tmp_path / "state"
        self.document = tmp_path / "desired.json"
        self.report_file = tmp_path / "report.json"
        self.runs = 0

    def path(self, name: str) -> Path:
        return self.root / name

    def file(self, name: str, content: str = "", mode: str = "0644", **extra: Any) -> dict[str, Any]:
        return {"type": "file", "name": name, "path": str(self.path(name)), "content": content, "mode": mode,
                "owner": OWNER, "group": GROUP, **extra}  # fmt: skip

    def run(self, *resources: dict[str, Any], digest: str = "h1") -> tuple[int, dict[str, Any]]:
        self.document.write_text(json.dumps({"hash": digest, "resources": list(resources)}))
        code = oci_agent.main(
            ["run", "--desired", str(self.document), "--state-dir", str(self.state_dir),
             "--report-file", str(self.report_file)]
        )  # fmt: skip
        self.runs += 1
        report: dict[str, Any] = json.loads(self.report_file.read_text())
        return code, report


def counts(report: dict[str, Any]) -> tuple[int, int, int]:
    return report["changed"], report["drifted"], report["failed"]


@pytest.fixture
def agent(tmp_path: Path) -> Agent:
    return Agent(tmp_path)


def test_first_run_applies_then_a_second_run_changes_nothing(agent: Agent) -> None:
    conf = agent.file("app.conf", "port = 80\n", mode="0640")
    code, report = agent.run(conf)
    assert (code, counts(report)) == (0, (1, 0, 0))
    assert report["appliedHash"] == "h1"
    assert agent.path("app.conf").read_text() == "port = 80\n"
    assert agent.path("app.conf").stat().st_mode & 0o7777 == 0o640
    state = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in agent.state_dir.iterdir()}
    written = agent.path("app.conf").stat().st_mtime_ns

    code, report = agent.run(conf)
    assert (code, counts(report)) == (0, (0, 0, 0))
    assert report["resources"] == []
    assert agent.path("app.conf").stat().st_mtime_ns == written  # not rewritten
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in agent.state_dir.iterdir()} == state


def test_a_file_changed_by_hand_is_drift_and_is_repaired(agent: Agent) -> None:
    conf = agent.file("app.conf", "port = 80\n")
    agent.run(conf)
    agent.path("app.conf").write_text("port = 8080\n")  # someone edited it on the host
    code, report = agent.run(conf)
    assert (code, counts(report)) == (0, (1, 1, 0))
    [resource] = report["resources"]
    assert (resource["name"], resource["type"], resource["changed"], resource["drift"]) == (
        "app.conf",
        "file",
        True,
        True,
    )
    assert agent.path("app.conf").read_text() == "port = 80\n"
    assert counts(agent.run(conf)[1]) == (0, 0, 0)  # repaired: quiet again


def test_a_mode_changed_by_hand_is_drift_too(agent: Agent) -> None:
    conf = agent.file("secret.conf", "k\n", mode="0600")
    agent.run(conf)
    agent.path("secret.conf").chmod(0o644)
    assert counts(agent.run(conf)[1]) == (1, 1, 0)
    assert agent.path("secret.conf").stat().st_mode & 0o7777 == 0o600


def test_a_deleted_file_is_drift_and_comes_back(agent: Agent) -> None:
    conf = agent.file("app.conf", "x\n")
    agent.run(conf)
    agent.path("app.conf").unlink()
    assert counts(agent.run(conf)[1]) == (1, 1, 0)
    assert agent.path("app.conf").read_text() == "x\n"


def test_a_new_desired_value_is_a_change_not_drift(agent: Agent) -> None:
    agent.run(agent.file("app.conf", "port = 80\n"))
    code, report = agent.run(agent.file("app.conf", "port = 443\n"), digest="h2")
    assert (code, counts(report)) == (0, (1, 0, 0))
    assert report["appliedHash"] == "h2"
    assert agent.path("app.conf").read_text() == "port = 443\n"


def test_an_absent_file_is_removed_once(agent: Agent) -> None:
    agent.path("old.conf").write_text("stale\n")
    gone = {"type": "file", "name": "old.conf", "path": str(agent.path("old.conf")), "state": "absent"}
    assert counts(agent.run(gone)[1]) == (1, 0, 0)
    assert not agent.path("old.conf").exists()
    assert counts(agent.run(gone)[1]) == (0, 0, 0)


def test_one_failing_resource_does_not_stop_the_others_and_fails_the_run(agent: Agent) -> None:
    bad_owner = agent.file("a.conf", "a\n", owner="no-such-user-oci")
    unknown = {"type": "teleport", "name": "t"}
    good = agent.file("b.conf", "b\n")
    code, report = agent.run(bad_owner, unknown, good)
    assert code == 1
    assert counts(report) == (1, 0, 2)
    failed = {r["name"]: r["message"] for r in report["resources"] if r["failed"]}
    assert set(failed) == {"a.conf", "t"}
    assert "unknown owner or group" in failed["a.conf"]
    assert agent.path("b.conf").read_text() == "b\n"
    assert not agent.path("a.conf").exists()


def test_a_resource_that_failed_is_not_drift_when_it_finally_applies(agent: Agent) -> None:
    blocked = agent.root / "blocker"
    blocked.write_text("a file where a directory must be\n")
    conf = {**agent.file("c.conf", "c\n"), "path": str(blocked / "c.conf")}
    code, report = agent.run(conf)
    assert (code, counts(report)) == (1, (0, 0, 1))
    blocked.unlink()
    code, report = agent.run(conf)
    assert (code, counts(report)) == (0, (1, 0, 0))  # the first success is a change, never drift


def test_a_command_guarded_by_creates_runs_until_its_file_exists(agent: Agent) -> None:
    marker = agent.path("marker")
    command = {"type": "command", "name": "init", "command": f"echo done > {marker}", "creates": str(marker)}
    assert counts(agent.run(command)[1]) == (1, 0, 0)
    assert marker.read_text() == "done\n"
    assert counts(agent.run(command)[1]) == (0, 0, 0)
    marker.unlink()  # the guard is gone: it runs again, and that is drift (the same command had to run again)
    assert counts(agent.run(command)[1]) == (1, 1, 0)


def test_a_command_guarded_by_unless_and_a_failing_command(agent: Agent) -> None:
    flag = agent.path("flag")
    guarded = {"type": "command", "name": "once", "command": f"touch {flag}", "unless": f"test -e {flag}"}
    failing = {"type": "command", "name": "broken", "command": "echo oops >&2; exit 3"}
    code, report = agent.run(guarded, failing)
    assert code == 1
    assert counts(report) == (1, 0, 1)
    messages = {r["name"]: r["message"] for r in report["resources"]}
    assert messages["broken"] == "exit 3: oops"
    code, report = agent.run(guarded, failing)
    assert counts(report) == (0, 0, 1)  # the guarded one is satisfied; the broken one still fails


def test_the_desired_states_interval_becomes_the_timers_and_its_absence_the_packaged_default(tmp_path: Path) -> None:
    dropin = tmp_path / "oci-agent.timer.d" / "interval.conf"
    owner = {"uid": os.getuid(), "gid": os.getgid()}
    assert oci_agent.apply_schedule({"resources": []}, dropin, systemd=False, **owner) is None  # nothing to do
    first = oci_agent.apply_schedule({"agent": {"intervalSeconds": 20}}, dropin, systemd=False, **owner)
    assert first is not None
    assert (first.changed, first.failed, first.message) == (True, False, "every 20s")
    text = dropin.read_text()
    assert "OnUnitActiveSec=\nOnUnitActiveSec=20s\n" in text  # the packaged 5 min cleared, not added to
    assert "OnBootSec=\nOnBootSec=20s\n" in text
    assert "RandomizedDelaySec=2s\n" in text
    assert oci_agent.apply_schedule({"agent": {"intervalSeconds": 20}}, dropin, systemd=False, **owner) is None
    back = oci_agent.apply_schedule({"resources": []}, dropin, systemd=False, **owner)
    assert back is not None
    assert (back.changed, back.message) == (True, "back to every 300s")
    assert not dropin.exists()
    assert "RandomizedDelaySec=30s" in oci_agent.timer_dropin(3600)  # the spread never exceeds the packaged one
