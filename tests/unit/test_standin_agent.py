"""The stand-in agent's run reports are ones the boot server accepts (its AgentReport model forbids
anything else), and say what the real agent would: all resources changed on a new state, nothing on
a state already reported, one failed resource under the fault knob."""

from __future__ import annotations

from typing import Any

from oci_operator.bmc.sim.standin import AgentKnobs, StandInAgent
from oci_operator.bootserver.app import AgentReport

DESIRED = {
    "hash": "ab" * 32,
    "resources": [{"type": "package", "name": "nginx"}, {"type": "file", "name": "motd", "path": "/etc/motd"}],
}


def agent() -> StandInAgent:
    stand_in = StandInAgent("52:54:00:00:00:01", lambda what, detail: None, AgentKnobs(enabled=True))
    stand_in._desired = DESIRED
    return stand_in


def accepted(report: dict[str, Any]) -> AgentReport:
    return AgentReport.model_validate(report)


def test_a_new_state_reports_every_resource_changed() -> None:
    report = accepted(agent().report(0.5, ""))
    assert (report.applied_hash, report.changed, report.failed) == (DESIRED["hash"], 2, 0)
    assert [r.name for r in report.resources] == ["nginx", "motd"]


def test_a_state_already_reported_changes_nothing() -> None:
    stand_in = agent()
    stand_in._reported = (DESIRED["hash"], "fault")
    report = accepted(stand_in.report(0.1, ""))
    assert (report.changed, report.failed, report.resources) == (0, 0, [])


def test_the_fault_fails_the_first_resource_with_its_message() -> None:
    report = accepted(agent().report(0.1, "disk full"))
    assert (report.changed, report.failed) == (0, 1)
    assert [(r.name, r.type, r.failed, r.message) for r in report.resources] == [
        ("nginx", "package", True, "disk full")
    ]


def test_an_empty_state_with_a_fault_still_names_a_resource() -> None:
    stand_in = agent()
    stand_in._desired = {"hash": "cd" * 32, "resources": []}
    assert accepted(stand_in.report(0.0, "boom")).resources[0].name == "simulated"
