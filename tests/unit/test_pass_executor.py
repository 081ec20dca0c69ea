"""The real PassExecutor, driven by the unit bench: the intent is on record before a command leaves.

The bench's MemoryPort notes every write with the number of commands the BMC had received by then, so
"persisted before sent" is checked on the executor the operator runs, not on a copy of its loop."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from oci_operator.api.v1alpha1 import REBOOT_ANNOTATION, BareMetalHostStatus
from oci_operator.api.v1alpha1.baremetalhost import PowerCommand
from oci_operator.bmc.driver import BMCCommandError, BMCUnreachable, BootDevice, PowerAction
from oci_operator.bmc.governor import GovernorConfig, NotNow
from oci_operator.reconcilers.desired_state import Rendered
from oci_operator.reconcilers.executor import Applied, PassExecutor, describe
from oci_operator.reconcilers.host_context import PassResult, SetBootDevice
from oci_operator.reconcilers.outcome import EventSpec
from support.fake_bmc import FakeDriver
from support.host_bench import GOOD, SETTINGS, T0, Bench, MemoryPort


def writes(port: MemoryPort) -> list[str]:
    return [what for what, _, _ in port.journal]


def status_writes(port: MemoryPort) -> list[tuple[dict[str, Any], int]]:
    return [(detail, sent) for what, detail, sent in port.journal if what == "status"]


def test_a_power_command_is_on_record_before_it_reaches_the_bmc(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="host-bench")
    bench = Bench(FakeDriver(powered_on=False))
    bench.settle(online=False)
    before = len(bench.driver.commands)
    bench.port.journal.clear()
    bench.set(online=True)
    acting = bench.run()
    assert acting.power_action is PowerAction.ON
    [(changes, sent)] = status_writes(bench.port)
    assert changes["lastPowerCommand"]["action"] == "on"
    assert bench.driver.commands[before:sent] == ["get_power"]  # when the status was written: observed, not sent
    assert bench.driver.commands[before:] == ["get_power", "set_power_on"]
    assert bench.host.status.last_power_command is not None  # and it is what the API server now holds
    assert "sending power-on to ipmi://10.0.0.5" in caplog.messages
    assert bench.requeue_after == acting.requeue_after


def test_a_boot_job_writes_token_then_status_then_sends_boot_device_then_power() -> None:
    bench = Bench(FakeDriver(), GovernorConfig(backoff_base=0.0, calls_per_minute=1e6, burst=10_000))
    bench.host.status.hardware = None  # not inspected: registration leads to inspection
    for _ in range(4):
        bench.port.journal.clear()
        sent_before = len(bench.driver.commands)
        result = bench.run()
        if result.actions:
            break
    assert result.boot_token is not None
    assert writes(bench.port)[:2] == ["boot-token", "status"]
    token_sent = bench.port.journal[0][2]
    (changes, status_sent) = status_writes(bench.port)[0]
    assert token_sent == status_sent  # both before any command of this pass
    assert changes["provisioning"]["bootRequested"]
    assert bench.port.secrets["boot-token"] == {
        "uid": "uid-h",
        "mac": "52:54:00:00:00:01",
        "bootId": result.boot_token,
        "install": "False",  # an inspection: no new agent credential
    }
    assert bench.driver.commands[sent_before:status_sent] == ["get_power"]
    assert bench.driver.commands[status_sent:] == ["set_boot_pxe", "set_power_on"]


def test_a_finished_reboot_drops_its_annotation_before_the_status_says_done() -> None:
    bench = Bench(FakeDriver(powered_on=True))
    bench.settle(online=True)
    bench.set(online=True, annotations={REBOOT_ANNOTATION: "hard"})
    bench.run()
    bench.port.journal.clear()
    done = bench.run()
    assert done.remove_annotations == [REBOOT_ANNOTATION]
    assert writes(bench.port)[:2] == ["remove-annotations", "status"]
    assert REBOOT_ANNOTATION not in bench.host.metadata_annotations()


def test_a_pass_that_changes_nothing_writes_nothing() -> None:
    bench = Bench(FakeDriver(powered_on=False))
    bench.settle(online=False)
    bench.port.journal.clear()
    result = bench.run()
    assert result.actions == ()
    assert bench.port.journal == []


def test_a_refused_command_withdraws_the_intent_it_recorded() -> None:
    bench = Bench(FakeDriver(powered_on=False), GovernorConfig(backoff_base=30.0))
    bench.settle(online=False)
    bench.set(online=True)

    def refused(action: PowerAction) -> None:
        raise BMCCommandError("BMC 10.0.0.5:623: power on refused: completion code 0xD5")

    bench.driver.set_power = refused  # type: ignore[method-assign]  # observing works, the command is refused
    bench.port.journal.clear()
    bench.run()
    recorded, withdrawn = status_writes(bench.port)
    assert recorded[0]["lastPowerCommand"]["action"] == "on"
    assert withdrawn[0]["lastPowerCommand"] is None  # a command the BMC did not do is not on record
    assert bench.host.status.last_power_command is None
    assert bench.ready() == ("False", "PowerCommandFailed")
    assert bench.applied is not None
    assert bench.applied.failure is not None  # handed back so the runner counts the failed reconcile
    assert bench.applied.failure.status.error_type == "power management error"
    assert [e.reason for e in bench.port.events if e.type == "Warning"] == ["PowerCommandFailed"]
    assert bench.requeue_after is not None
    assert 24.0 <= bench.requeue_after <= 60.0  # the governor's backoff, capped at the poll interval


def test_an_unanswered_command_stays_on_record() -> None:
    """No answer may mean only the reply was lost: the intent stays, and the settle check decides."""
    bench = Bench(FakeDriver(powered_on=False), GovernorConfig(backoff_base=30.0))
    bench.settle(online=False)
    bench.set(online=True)

    def unplugged(action: PowerAction) -> None:
        raise BMCUnreachable("BMC 10.0.0.5:623 did not answer")

    bench.driver.set_power = unplugged  # type: ignore[method-assign]
    bench.port.journal.clear()
    bench.run()
    assert [changes["lastPowerCommand"]["action"] for changes, _ in status_writes(bench.port)] == ["on"]
    assert bench.host.status.last_power_command is not None
    assert bench.host.status.last_power_command.action == "on"
    assert bench.applied is not None
    assert bench.applied.failure is not None
    assert bench.applied.failure.deferred  # one lost answer is no outage: no error, no Warning
    assert bench.host.status.error_count == 0
    assert not [e for e in bench.port.events if e.type == "Warning"]


def test_a_deferred_command_withdraws_the_intent_without_an_error() -> None:
    port = MemoryPort(FakeDriver())
    bench = Bench(port.driver)
    executor = PassExecutor(port, SETTINGS, logging.getLogger("test"))
    status = BareMetalHostStatus.model_validate(bench.host.status.wire())
    status.last_power_command = PowerCommand(action="on", issued=T0)
    access = bench.pool.access("ipmi://10.0.0.5", GOOD.credentials)  # type: ignore[arg-type]

    async def refuse(action: PowerAction) -> None:
        raise NotNow("BMC rate budget spent", 7.0)

    access.set_power = refuse  # type: ignore[method-assign]
    result = PassResult(status, [], actions=(PowerAction.ON,))
    applied = asyncio.run(executor.apply(bench.host, "uid-h", bench.host.status.wire(), result, access))
    assert applied.requeue_after == 7.0
    assert applied.failure is None
    recorded, withdrawn = status_writes(port)
    assert recorded[0]["lastPowerCommand"]["action"] == "on"
    assert withdrawn[0] == {"lastPowerCommand": None}  # nothing else changes: no error for a "not now"
    assert port.events == []


def test_every_write_in_the_safe_order_then_the_commands_in_theirs() -> None:
    port = MemoryPort(FakeDriver())
    bench = Bench(port.driver)
    bench.host.metadata["annotations"] = {REBOOT_ANNOTATION: "hard"}
    port.annotations = bench.host.metadata_annotations()
    executor = PassExecutor(port, SETTINGS, logging.getLogger("test"))
    status = BareMetalHostStatus.model_validate(bench.host.status.wire())
    status.last_power_command = PowerCommand(action="cycle", issued=T0)
    desired = {"resources": [{"type": "package", "name": "htop"}], "host": "h"}
    result = PassResult(
        status,
        [EventSpec("Normal", "Rebooting", "power cycle")],
        actions=(SetBootDevice(BootDevice.PXE, persistent=False, uefi=True), PowerAction.CYCLE),
        boot_token="boot-1",
        remove_annotations=[REBOOT_ANNOTATION],
        requeue_after=2.0,
        desired=Rendered(desired, "abc123"),
    )
    boot_devices: list[tuple[BootDevice, bool, bool]] = []
    port.driver.set_boot_device = lambda *args: boot_devices.append(args)  # type: ignore[method-assign,misc]
    access = bench.pool.access("ipmi://10.0.0.5", GOOD.credentials)  # type: ignore[arg-type]
    applied = asyncio.run(executor.apply(bench.host, "uid-h", bench.host.status.wire(), result, access))
    assert writes(port) == ["desired-state", "remove-annotations", "boot-token", "status", "event"]
    assert {sent for _, _, sent in port.journal} == {0}  # every write before the first command
    assert boot_devices == [(BootDevice.PXE, False, True)]
    assert port.driver.commands == ["set_power_cycle"]
    assert applied == Applied(2.0)
    # The document as the boot server serves it: canonical (sorted keys), indented.
    assert port.secrets["desired-state"] == {
        "uid": "uid-h",
        "document": json.dumps(desired, sort_keys=True, indent=1),
        "digest": "abc123",
    }
    assert port.annotations == {}
    assert [describe(c) for c in result.actions] == ["bootdev-pxe", "power-cycle"]


@pytest.mark.parametrize(
    ("actions", "requeue_after", "expected"),
    [
        ((), None, None),  # nothing to send and nothing to wait for: only a change wakes the host
        ((), 30.0, 30.0),
        ((PowerAction.OFF,), None, 0.0),  # sent: look again at once to see it take effect
        ((PowerAction.OFF,), 5.0, 5.0),
    ],
)
def test_when_to_look_again(actions: tuple[PowerAction, ...], requeue_after: float | None, expected: float) -> None:
    port = MemoryPort(FakeDriver(powered_on=True))
    bench = Bench(port.driver)
    executor = PassExecutor(port, SETTINGS, logging.getLogger("test"))
    status = BareMetalHostStatus.model_validate(bench.host.status.wire())
    result = PassResult(status, [], actions=actions, requeue_after=requeue_after)
    access = bench.pool.access("ipmi://10.0.0.5", GOOD.credentials)  # type: ignore[arg-type]
    applied = asyncio.run(executor.apply(bench.host, "uid-h", bench.host.status.wire(), result, access))
    assert applied == Applied(expected)
    assert port.driver.commands == [f"set_power_{a.value}" for a in actions]


def test_commands_are_described_for_the_log() -> None:
    assert describe(PowerAction.SOFT_OFF) == "power-soft"
    assert describe(SetBootDevice(BootDevice.PXE, persistent=False, uefi=True)) == "bootdev-pxe"
    assert describe(SetBootDevice(BootDevice.DISK, persistent=True, uefi=False)) == "bootdev-disk-persistent"


def test_an_install_job_asks_for_a_new_agent_credential_with_its_token() -> None:
    """An installation's boot token comes with a new agent credential (issue 16 #2); an inspection's does not."""
    bench = Bench(FakeDriver(powered_on=True), GovernorConfig(backoff_base=0.0, calls_per_minute=1e6, burst=10_000))
    bench.settle(online=True)
    bench.host.spec.role = "compute"
    for _ in range(6):
        result = bench.run()
        if result.boot_token is not None:
            break
    assert result.boot_token is not None
    assert bench.host.status.provisioning is not None
    assert bench.host.status.provisioning.state.value == "provisioning"
    assert bench.port.secrets["boot-token"]["install"] == "True"
