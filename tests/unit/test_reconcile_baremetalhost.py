"""The BareMetalHost pass: observe, record, act once (what was seen and the intent are one write);
driven against an in-memory BMC driver."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oci_operator.api.v1alpha1 import REBOOT_ANNOTATION
from oci_operator.bmc.credentials import check_secret
from oci_operator.bmc.driver import BMCAuthError, BMCCommandError, BMCUnreachable, PowerAction
from oci_operator.bmc.governor import GovernorConfig
from oci_operator.reconcilers.baremetalhost import record_action_failure
from oci_operator.reconcilers.host_context import PassResult
from support.fake_bmc import FakeDriver
from support.host_bench import SETTINGS, T0, Bench


def reasons(result: PassResult) -> list[tuple[str, str]]:
    return [(e.type, e.reason) for e in result.events]


def test_missing_secret_warns_once_then_counts_silently() -> None:
    bench = Bench(FakeDriver())
    first = bench.run(check_secret("bmc", None))
    assert bench.ready() == ("False", "CredentialsMissing")
    assert reasons(first) == [("Warning", "CredentialsMissing")]
    assert bench.host.status.error_type == "registration error"
    assert bench.host.status.provisioning is not None
    assert bench.host.status.provisioning.state == "registering"
    second = bench.run(check_secret("bmc", None))
    assert second.events == []
    assert bench.host.status.error_count == 2
    assert bench.driver.commands == []  # no BMC is touched without credentials


def test_registration_then_the_power_observed_in_the_same_pass_then_power_on_once() -> None:
    bench = Bench(FakeDriver(powered_on=False))
    bench.run()
    assert bench.host.status.provisioning is not None
    assert bench.host.status.provisioning.state == "registering"  # on record before it moves on
    assert bench.ready() == ("False", "Registering")
    # Registered -> available -> the power observed and, as it matches spec.online, Ready: one pass.
    registered = bench.run()
    assert bench.host.status.provisioning.state == "available"
    assert bench.host.status.good_credentials is not None
    assert bench.host.status.good_credentials.resource_version == "7"
    assert bench.host.status.powered_on is False
    assert reasons(registered)[:2] == [("Normal", "Registered"), ("Normal", "PowerStateChanged")]
    assert registered.power_action is None
    assert bench.ready() == ("True", "Available")

    bench.set(online=True)
    acting = bench.run()
    assert acting.power_action is PowerAction.ON
    assert bench.host.status.last_power_command is not None
    assert bench.ready() == ("False", "PowerChanging")

    done = bench.run()  # the fake applied the command: the change is recorded, and Ready follows at once
    assert bench.host.status.powered_on is True
    assert bench.ready() == ("True", "Available")
    assert ("Normal", "PowerStateChanged") in reasons(done)
    assert bench.power_commands() == ["set_power_on"]


def test_a_recorded_command_is_not_repeated_before_it_can_settle() -> None:
    bench = Bench(FakeDriver(powered_on=False))
    bench.settle(online=False)
    bench.set(online=True)
    bench.driver.set_power = lambda action: None  # type: ignore[method-assign]  # the server is slow to react
    assert bench.run(at=T0).power_action is PowerAction.ON
    assert bench.run(at=T0 + timedelta(seconds=10)).power_action is None
    assert bench.ready() == ("False", "PowerChanging")
    assert bench.run(at=T0 + timedelta(seconds=31)).power_action is PowerAction.ON  # settle timeout passed


def test_hard_reboot_cycles_exactly_once_and_removes_the_annotation() -> None:
    bench = Bench(FakeDriver(powered_on=True))
    bench.settle(online=True)
    bench.set(online=True, annotations={REBOOT_ANNOTATION: "hard"})
    start = bench.run()
    assert start.power_action is PowerAction.CYCLE
    assert bench.host.status.pending_reboot is not None
    done = bench.run()
    assert done.power_action is None
    assert done.remove_annotations == [REBOOT_ANNOTATION]
    assert bench.host.status.pending_reboot is None
    assert ("Normal", "Rebooted") in reasons(done)
    for _ in range(3):
        bench.run()
    assert bench.power_commands() == ["set_power_cycle"]


def test_soft_reboot_waits_for_the_os_then_forces_off() -> None:
    bench = Bench(FakeDriver(powered_on=True))
    bench.settle(online=True)
    bench.set(online=True, annotations={REBOOT_ANNOTATION: "soft"})
    bench.driver.set_power = lambda action: bench.driver.commands.append(f"set_power_{action.value}")  # type: ignore[method-assign]
    assert bench.run(at=T0).power_action is PowerAction.SOFT_OFF
    assert bench.run(at=T0 + timedelta(seconds=50)).power_action is None  # the OS may still be shutting down
    forced = bench.run(at=T0 + timedelta(seconds=101))
    assert forced.power_action is PowerAction.OFF
    assert ("Warning", "SoftRebootTimedOut") in reasons(forced)


def test_wrong_password_is_a_registration_error_that_forgets_good_credentials() -> None:
    bench = Bench(FakeDriver(fail_with=BMCAuthError("BMC 10.0.0.5:623 rejected the credentials")))
    result = bench.run()
    assert bench.ready() == ("False", "CredentialsRejected")
    assert reasons(result) == [("Warning", "CredentialsRejected")]
    assert bench.host.status.good_credentials is None
    assert "p" not in (bench.host.status.error_message or "").split()


def test_unreachable_bmc_backs_off_without_counting_skipped_attempts() -> None:
    now = [1000.0]
    bench = Bench(
        FakeDriver(fail_with=BMCUnreachable("BMC 10.0.0.5:623 did not answer")),
        GovernorConfig(backoff_base=30.0),
        clock=lambda: now[0],
    )
    now = [0.0]
    bench.governor._clock = lambda: now[0]  # a test clock: backoffs are read, not waited for
    once = bench.run()  # one lost answer is not an outage (packet loss): backoff, nothing reported yet
    assert once.deferred
    assert once.requeue_after is not None
    assert once.requeue_after > 20  # 30 s ±20 %
    assert bench.host.status.error_count == 0
    now[0] += once.requeue_after + 1
    first = bench.run()  # the second consecutive failure is
    assert bench.ready() == ("False", "BMCUnreachable")
    assert first.requeue_after is not None
    backoff = bench.governor.retry_after("ipmi://10.0.0.5")
    assert 48.0 <= backoff <= 72.0  # the second consecutive failure: 60 s ±20 %
    assert first.requeue_after == pytest.approx(min(backoff, 60.0))  # capped at the poll interval
    calls = len(bench.driver.commands)
    now[0] += 10.0
    skipped = bench.run()  # inside the backoff: no call, no new error
    assert len(bench.driver.commands) == calls
    assert bench.host.status.error_count == 1
    assert skipped.deferred
    assert skipped.requeue_after == pytest.approx(min(backoff - 10.0, 60.0))  # the rest of the same backoff
    now[0] = now[0] - 10.0 + backoff  # the backoff is over
    bench.run()  # the backoff is over: one more attempt, one more failure, a longer backoff
    assert len(bench.driver.commands) > calls
    assert bench.host.status.error_count == 2
    assert bench.requeue_after is not None
    assert 48.0 <= bench.requeue_after <= 60.0  # 60 s ±20 %, capped at the poll interval


def test_failed_action_is_not_remembered_as_sent() -> None:
    bench = Bench(FakeDriver(powered_on=False))
    bench.settle(online=False)
    bench.set(online=True)
    acting = bench.run()
    refused = BMCCommandError("BMC 10.0.0.5:623 refused power on: completion code 0xC0", "power on", 0xC0)
    failed = record_action_failure(bench.host, acting.status, refused)
    assert failed.status.last_power_command is None
    assert failed.status.error_type == "power management error"
    assert [(e.type, e.reason) for e in failed.events] == [("Warning", "PowerCommandFailed")]


def test_an_unanswered_action_stays_on_record_and_is_reported_from_the_second_failure() -> None:
    bench = Bench(FakeDriver(powered_on=False))
    bench.settle(online=False)
    bench.set(online=True)
    acting = bench.run()
    lost = BMCUnreachable("BMC 10.0.0.5:623 did not answer")
    once = record_action_failure(bench.host, acting.status, lost, failures=1)
    assert once.deferred
    assert once.status.last_power_command == acting.status.last_power_command
    twice = record_action_failure(bench.host, acting.status, lost, failures=2)
    assert twice.status.last_power_command == acting.status.last_power_command
    assert [(e.type, e.reason) for e in twice.events] == [("Warning", "BMCUnreachable")]


def test_a_long_backoff_still_rereads_the_secret_every_poll_interval() -> None:
    bench = Bench(
        FakeDriver(fail_with=BMCAuthError("BMC 10.0.0.5:623 rejected the credentials")),
        GovernorConfig(backoff_base=500.0, backoff_cap=600.0),
    )
    assert bench.run().requeue_after == SETTINGS.poll_interval
    calls = len(bench.driver.commands)
    assert bench.run().requeue_after == SETTINGS.poll_interval  # deferred: the BMC is left alone
    assert len(bench.driver.commands) == calls
    bench.driver.fail_with = None
    fixed = check_secret("bmc", {"username": "u", "password": "right"}, "8")  # a new Secret version
    bench.run(fixed)
    # The old session is dropped and the new credentials are tried at once, despite the backoff.
    assert bench.driver.commands[calls : calls + 2] == ["close", "check_credentials"]
    assert bench.host.status.good_credentials is not None


def test_password_stays_out_of_repr() -> None:
    assert "hunter2-xyz" not in repr(check_secret("bmc", {"username": "u", "password": "hunter2-xyz"}, "1"))
