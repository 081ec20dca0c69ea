"""Issue 13: observation beats memory (a lost command is sent again, once) and a refused command is a failure."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import timedelta

import pytest

from oci_operator.api.v1alpha1 import ErrorType
from oci_operator.bmc.driver import (
    BMCAuthError,
    BMCCommandError,
    BMCCommandUnsupported,
    BMCUnreachable,
    BootDevice,
    PowerAction,
)
from oci_operator.bmc.governor import GovernorConfig
from oci_operator.reconcilers.baremetalhost import record_action_failure
from oci_operator.reconcilers.host_context import PassResult, SetBootDevice
from oci_operator.reconcilers.outcome import EventSpec
from support.fake_bmc import FakeDriver
from support.host_bench import GOOD, SETTINGS, T0, Bench

SETTLE = 30  # host_bench.SETTINGS.settle_timeout


def bench() -> Bench:
    return Bench(FakeDriver(), GovernorConfig(backoff_base=0.0, calls_per_minute=1e6, burst=10_000))


def inspecting(driver_boot_device: BootDevice | None = None) -> Bench:
    """A host never inspected, in `inspecting`, its boot id recorded: the next pass boots it."""
    b = bench()
    b.host.status.hardware = None
    b.driver.boot_device = driver_boot_device
    for _ in range(2):
        b.run()
    assert b.state() == "inspecting"
    assert b.host.status.provisioning.boot_id  # type: ignore[union-attr]
    return b


def warnings(result: PassResult, reason: str) -> int:
    return sum(1 for e in result.events if e.type == "Warning" and e.reason == reason)


def test_a_boot_lost_with_a_killed_operator_is_sent_again_once_after_the_settle_time() -> None:
    b = inspecting()
    booting = b.run(send=False)  # the intent is persisted; the process dies before the commands leave
    assert booting.power_action is PowerAction.ON
    calls_before_settle = len(b.driver.commands)
    b.run(at=T0 + timedelta(seconds=1))  # the first wait says so once
    status_before_settle = b.host.status.wire()
    for seconds in range(2, SETTLE, 2):  # waiting: no BMC poll, and nothing to write (no count of seconds)
        b.run(at=T0 + timedelta(seconds=seconds))
    assert len(b.driver.commands) == calls_before_settle
    assert b.host.status.wire() == status_before_settle

    resent = b.run(at=T0 + timedelta(seconds=SETTLE + 1))  # the BMC still says off: observation wins
    assert resent.actions == (SetBootDevice(BootDevice.PXE, persistent=False, uefi=True), PowerAction.ON)
    assert warnings(resent, "PowerCommandResent") == 1
    assert b.driver.commands[calls_before_settle:] == ["get_power", "get_boot_device", "set_boot_pxe", "set_power_on"]
    assert b.host.status.last_power_command.resent  # type: ignore[union-attr]

    for seconds in (SETTLE + 3, 2 * SETTLE + 2, 2 * SETTLE + 10):  # it landed: no further command
        assert b.run(at=T0 + timedelta(seconds=seconds)).actions == ()
    assert b.host.status.powered_on is True
    assert b.host.status.last_power_command is None
    assert b.power_commands() == ["set_power_on"]
    assert b.ready() == ("False", "Inspecting")


def test_the_boot_device_read_back_as_pxe_is_not_set_again() -> None:
    b = inspecting(driver_boot_device=BootDevice.PXE)
    b.run(send=False)
    resent = b.run(at=T0 + timedelta(seconds=SETTLE + 1))
    assert resent.actions == (PowerAction.ON,)


def test_a_boot_lost_twice_fails_the_job_and_a_new_job_follows() -> None:
    b = inspecting()
    b.run(send=False)
    b.run(at=T0 + timedelta(seconds=SETTLE + 1), send=False)  # the second power on is lost too
    failed = b.run(at=T0 + timedelta(seconds=2 * SETTLE + 2))
    assert failed.actions == ()
    assert b.host.status.error_type is ErrorType.INSPECTION
    assert "sent twice" in (b.host.status.error_message or "")
    assert b.host.status.provisioning.boot_id is None  # type: ignore[union-attr]


def test_a_lost_power_command_is_sent_again_once_then_reported() -> None:
    b = bench()
    b.settle(online=False)
    b.set(online=True)
    first = b.run(send=False)
    assert first.power_action is PowerAction.ON
    assert b.run(at=T0 + timedelta(seconds=SETTLE - 1)).actions == ()  # within the settle time: wait
    again = b.run(at=T0 + timedelta(seconds=SETTLE + 1), send=False)
    assert again.power_action is PowerAction.ON
    assert warnings(again, "PowerCommandResent") == 1
    given_up = b.run(at=T0 + timedelta(seconds=2 * SETTLE + 2))
    assert given_up.actions == ()
    assert b.ready() == ("False", "PowerCommandNotObeyed")
    assert b.host.status.error_type is ErrorType.POWER_MANAGEMENT
    assert b.host.status.error_count == 1
    later = b.run(at=T0 + timedelta(seconds=300))  # stated again, not failed again: no count, no Event
    assert later.actions == ()
    assert later.events == []
    assert b.host.status.error_count == 1
    b.set(online=False)  # a new intent: the power is already off, nothing to send, the error goes
    b.run(at=T0 + timedelta(seconds=301))
    assert b.ready() == ("True", "Available")


def refuse(b: Bench, result: PassResult, exc: BMCCommandError) -> PassResult:
    """What the runner does when the BMC refuses the pass' command: the failure, recorded on the host."""
    failed = record_action_failure(b.host, result.status, exc)
    b.host.status = failed.status
    return failed


def test_a_refused_boot_device_counts_keeps_its_error_and_warns_once() -> None:
    b = inspecting()
    refusal = BMCCommandError(
        "BMC x refused set boot device pxe: completion code 0xC0 (Node Busy)", "set boot device pxe", 0xC0
    )
    events: list[EventSpec] = []
    for attempt in range(1, 4):
        result = b.run(at=T0 + timedelta(seconds=attempt * 10), send=False)
        assert result.actions[0] == SetBootDevice(BootDevice.PXE, persistent=False, uefi=True)
        events += result.events
        failed = refuse(b, result, refusal)
        events += failed.events
        assert b.host.status.error_count == attempt
        assert b.host.status.error_type is ErrorType.POWER_MANAGEMENT
        assert b.ready() == ("False", "PowerCommandFailed")
        assert "set boot device pxe" in (b.host.status.error_message or "")
        assert "0xC0" in (b.host.status.error_message or "")
    assert [(e.type, e.reason) for e in events] == [("Warning", "PowerCommandFailed")]  # one, not one per retry
    ok = b.run(at=T0 + timedelta(seconds=60))  # it passes at last: the error goes once the boot went out
    assert ok.power_action is PowerAction.ON
    b.run(at=T0 + timedelta(seconds=61))
    assert b.ready() == ("False", "Inspecting")
    assert b.host.status.error_count == 0


def test_an_unsupported_boot_device_stops_retrying_and_says_what_to_do() -> None:
    b = inspecting()
    result = b.run(send=False)
    unsupported = BMCCommandUnsupported(
        "BMC x refused set boot device pxe: completion code 0xCC (Invalid data field in request)",
        "set boot device pxe",
        0xCC,
    )
    refuse(b, result, unsupported)
    assert b.ready() == ("False", "BMCCommandUnsupported")
    assert "bootDeviceControl: false" in (b.host.status.error_message or "")
    for seconds in (60, 600):
        idle = b.run(at=T0 + timedelta(seconds=seconds))
        assert idle.actions == ()
        assert idle.requeue_after is None  # until the spec changes
    b.set(bootDeviceControl=False)  # the user's answer: boot from the network first, no boot device command
    b.host.metadata["generation"] = 3
    boot = b.run(at=T0 + timedelta(seconds=700))
    assert boot.actions == (PowerAction.ON,)


def test_without_boot_device_control_a_boot_job_sends_power_only() -> None:
    b = bench()
    b.host.status.hardware = None
    b.set(bootDeviceControl=False)
    for _ in range(2):  # registering; inspecting, its boot id recorded
        b.run()
    boot = b.run()
    assert boot.actions == (PowerAction.ON,)
    assert not [c for c in b.driver.commands if "boot" in c]


def test_a_refusal_opens_the_breaker_and_a_good_read_does_not_reset_its_backoff() -> None:
    now = [0.0]
    b = Bench(FakeDriver(), GovernorConfig(backoff_base=2.0, calls_per_minute=1e6, burst=10_000))
    b.governor._clock = lambda: now[0]  # a test clock: the backoffs are read, not waited for
    assert GOOD.credentials is not None
    access = b.pool.access("ipmi://10.0.0.5", GOOD.credentials)

    def boom() -> None:
        raise BMCCommandError("refused", "set boot device pxe", 0xC0)

    delays: list[float] = []
    for _ in range(3):
        with contextlib.suppress(BMCCommandError):
            asyncio.run(b.governor.call(access.key, "set_boot_device", boom))
        delays.append(b.governor.retry_after(access.key))
        now[0] += delays[-1] + 0.01
        asyncio.run(access.get_power())  # the BMC answers reads fine meanwhile
    assert delays[0] < delays[1] < delays[2]


def uninspected_available(b: Bench) -> dict[str, str]:
    """Registered with inspection disabled: available, power settled off, no hardware known."""
    disabled = {"inspect.oci.openstack.org": "disabled"}
    b.set(annotations=disabled)
    for _ in range(4):
        b.run()
    assert b.state() == "available"
    assert b.ready() == ("True", "Available")
    return disabled


def test_a_role_on_an_uninspected_host_inspects_it_first() -> None:
    b = bench()
    b.host.status.hardware = None
    uninspected_available(b)
    assert b.state() == "available"
    b.set(annotations={}, role="compute")
    started = b.run()
    assert b.state() == "inspecting"
    # Entering inspecting and recording the job's boot id are one pass (one status write).
    assert [e.reason for e in started.events] == ["InspectionRequired", "NetworkBoot"]
    assert started.actions == ()


def test_a_role_on_a_host_whose_inspection_is_disabled_says_why_nothing_happens() -> None:
    b = bench()
    b.host.status.hardware = None
    disabled = uninspected_available(b)
    b.set(annotations=disabled, role="compute")
    told = b.run()
    assert b.state() == "available"
    assert told.actions == ()
    assert b.ready() == ("False", "InspectionRequired")
    assert "remove the inspect.oci.openstack.org: disabled annotation" in (b.host.status.error_message or "")
    assert [(e.type, e.reason) for e in told.events] == [("Warning", "InspectionRequired")]
    assert b.run().events == []  # said once
    b.set(annotations={}, role="compute")
    b.run()
    assert b.state() == "inspecting"


def test_a_node_that_never_fetches_its_boot_script_fails_the_job_before_its_timeout() -> None:
    b = inspecting()
    b.run()  # booted: power on sent and done, but the node finds no boot server (restarted meanwhile)
    assert b.run(at=T0 + timedelta(seconds=SETTINGS.boot_script_timeout - 1)).actions == ()
    b.run(at=T0 + timedelta(seconds=SETTINGS.boot_script_timeout + 1))
    assert b.host.status.error_type is ErrorType.INSPECTION
    assert "did not fetch its boot script" in (b.host.status.error_message or "")
    assert b.host.status.provisioning.boot_id is None  # type: ignore[union-attr]


def test_a_waiting_job_sleeps_until_its_next_deadline_and_a_report_moves_it_on() -> None:
    """No poll while the node works: the handler wakes the host when its report arrives (the watch)."""
    settings = replace(SETTINGS, boot_poll_interval=3600.0)
    b = Bench(FakeDriver(), GovernorConfig(backoff_base=0.0, calls_per_minute=1e6, burst=10_000), settings=settings)
    b.host.status.hardware = None
    for _ in range(2):
        b.run()
    b.run()  # boots it
    assert b.requeue_after == SETTLE  # then a look at the power once the settle time has passed
    b.run(at=T0 + timedelta(seconds=SETTLE + 1))  # on: it landed; next deadline, the boot script's
    assert b.requeue_after == pytest.approx(settings.boot_script_timeout - SETTLE - 1, abs=0.2)
    b.report("scriptServed", at=T0 + timedelta(seconds=40))
    assert b.run(at=T0 + timedelta(seconds=40)).actions == ()  # the report woke it: the job's own deadline
    assert b.requeue_after == pytest.approx(settings.inspect_timeout - 40, abs=0.2)
    b.run(at=T0 + timedelta(seconds=settings.inspect_timeout + 1))  # woken by nothing: the deadline
    assert b.host.status.error_type is ErrorType.INSPECTION
    assert SETTINGS.boot_poll_interval == 30.0  # the default bounds a wait whose wake-up was missed


def test_a_rejected_password_stays_the_reason_when_later_logins_get_no_answer() -> None:
    """Under reply loss a login with a wrong password sometimes times out instead of being refused."""
    b = Bench(FakeDriver(fail_with=BMCAuthError("BMC rejected the credentials")), GovernorConfig(backoff_base=0.0))
    b.run()
    assert b.ready() == ("False", "CredentialsRejected")
    b.driver.fail_with = BMCUnreachable("BMC did not answer")
    for _ in range(3):
        lost = b.run()
        assert lost.events == []
        assert b.ready() == ("False", "CredentialsRejected")


def test_a_retried_job_that_fails_again_is_no_new_warning() -> None:
    b = inspecting()
    at = T0
    warned = 0
    for _ in range(3):  # boot, then no boot script in time, then the retry after its backoff
        b.run(at=at)
        at += timedelta(seconds=SETTINGS.boot_script_timeout + 1)
        failed = b.run(at=at)
        warned += warnings(failed, "InspectingFailed")
        assert b.ready() == ("False", "InspectingFailed")
        b.host.status.last_updated = at
        at += timedelta(seconds=4000)  # past any retry backoff
        b.run(at=at)  # a new boot id
    assert warned == 1
