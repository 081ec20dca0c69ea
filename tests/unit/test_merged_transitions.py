"""Issue 12: a pass goes on through the states whose step sends nothing, and writes the status once;
a pass that sends a command still persists its intent (with what it observed) before the command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from oci_operator.api.v1alpha1.meta import Condition
from oci_operator.bmc.driver import PowerAction
from oci_operator.reconcilers.baremetalhost import keep_transition_times
from support.fake_bmc import FakeDriver
from support.host_bench import SETTINGS, T0, Bench

INSPECTION_DISABLED = {"inspect.oci.openstack.org": "disabled"}


def status_writes(bench: Bench) -> list[dict[str, Any]]:
    return [changes for what, changes, _ in bench.port.journal if what == "status"]


def uninspected(online: bool) -> Bench:
    bench = Bench(FakeDriver(powered_on=False))
    bench.host.status.hardware = None
    bench.set(online=online, annotations=INSPECTION_DISABLED)
    return bench


def test_bring_up_to_powered_on_and_ready_is_three_status_writes() -> None:
    """registering (on record, with its proof), then available + the power seen + the intent in one write
    before the command, then the result: was six writes, one per state and per observation."""
    bench = uninspected(online=True)
    for _ in range(6):
        bench.run()
    assert bench.ready() == ("True", "Available")
    assert bench.power_commands() == ["set_power_on"]
    writes = status_writes(bench)
    assert len(writes) == 3
    assert writes[0]["provisioning"]["state"] == "registering"
    assert writes[0]["goodCredentials"]["resourceVersion"] == "7"
    intent = writes[1]
    assert intent["provisioning"]["state"] == "available"
    assert intent["poweredOn"] is False  # what was seen is on record with the intent it led to
    assert intent["lastPowerCommand"]["action"] == "on"
    assert writes[2]["poweredOn"] is True


def test_the_merged_intent_is_persisted_before_its_command_leaves() -> None:
    bench = uninspected(online=True)
    bench.run()
    bench.run()
    sent_at = bench.driver.commands.index("set_power_on")
    intent = [
        calls for what, changes, calls in bench.port.journal if what == "status" and "lastPowerCommand" in changes
    ]
    assert len(intent) == 1
    assert intent[0] <= sent_at  # the driver had not received the command when the intent was written
    events = [what for what, _, _ in bench.port.journal if what in ("status", "event")]
    assert events.index("status") < events.index("event")  # Events follow the write they describe


def test_killed_after_the_merged_write_the_command_is_not_repeated_before_it_can_settle() -> None:
    bench = uninspected(online=True)
    bench.run(at=T0)
    registered = bench.run(at=T0, send=False)  # the process dies after the write, before the command left
    assert registered.power_action is PowerAction.ON
    assert bench.power_commands() == []
    waiting = bench.run(at=T0 + timedelta(seconds=SETTINGS.settle_timeout - 1))
    assert waiting.actions == ()
    assert bench.ready() == ("False", "PowerChanging")
    resent = bench.run(at=T0 + timedelta(seconds=SETTINGS.settle_timeout + 1))
    assert resent.power_action is PowerAction.ON  # observation beats memory, once
    assert bench.power_commands() == ["set_power_on"]


def test_a_power_change_seen_on_a_settled_host_is_acted_on_in_the_same_pass() -> None:
    bench = Bench(FakeDriver(powered_on=True))
    bench.settle(online=True)
    before = len(status_writes(bench))
    bench.driver.powered_on = False  # someone pressed the button
    later = T0 + timedelta(seconds=SETTINGS.settle_timeout + 1)  # the last command is old
    seen = bench.run(at=later)
    assert seen.power_action is PowerAction.ON
    assert ("Normal", "PowerStateChanged") in [(e.type, e.reason) for e in seen.events]
    writes = status_writes(bench)[before:]
    assert len(writes) == 1
    assert writes[0]["poweredOn"] is False
    assert writes[0]["lastPowerCommand"]["action"] == "on"


def test_a_pass_that_changes_nothing_writes_nothing_after_the_merged_bring_up() -> None:
    bench = uninspected(online=False)
    bench.run()
    bench.run()
    assert bench.ready() == ("True", "Available")  # seen off, as asked: nothing to send
    writes = len(status_writes(bench))
    assert writes == 2
    for _ in range(3):
        bench.run()
    assert len(status_writes(bench)) == writes
    assert bench.driver.commands.count("set_power_on") == 0


def test_a_condition_back_where_it_was_keeps_its_transition_time() -> None:
    old, new = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)

    def ready(status: str, at: datetime) -> Condition:
        return Condition(
            type="Ready", status=status, reason="Available", message="m", last_transition_time=at, observed_generation=1
        )

    stored = [ready("True", old)]
    # False on the way, True again at the end of the pass: no reader saw a transition.
    assert keep_transition_times([ready("True", new)], stored)[0].last_transition_time == old
    assert keep_transition_times([ready("False", new)], stored)[0].last_transition_time == new
    assert keep_transition_times([ready("True", new)], [])[0].last_transition_time == new
