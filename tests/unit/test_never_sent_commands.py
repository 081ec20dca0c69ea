"""Issue 13 (c): only a command that left and got no answer keeps its intent. A command that never left
(login failed, session lost, or an earlier command of the pass failed) is withdrawn: sending it again is
no duplicate, and it must not use up the one resend that observation allows."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from oci_operator.bmc.driver import BMCNotSent, BMCUnreachable, BootDevice, PowerAction
from oci_operator.bmc.governor import GovernorConfig
from oci_operator.reconcilers.host_context import SetBootDevice
from support.fake_bmc import FakeDriver
from support.host_bench import T0, Bench

SETTLE = 30  # host_bench.SETTINGS.settle_timeout


class FlakyDriver(FakeDriver):
    """Reads answer; the named commands fail with the given errors, one per call, in order."""

    def __init__(self, failures: dict[str, list[Exception]]) -> None:
        super().__init__(powered_on=False)
        self.failures = failures

    def _fail(self, command: str) -> None:
        queue = self.failures.get(command)
        if queue:
            raise queue.pop(0)

    def set_power(self, action: PowerAction) -> None:
        self._fail(f"set_power_{action.value}")
        super().set_power(action)

    def set_boot_device(self, device: BootDevice, persistent: bool, uefi: bool) -> None:
        self._fail(f"set_boot_{device.value}")
        super().set_boot_device(device, persistent, uefi)


def bench(driver: FakeDriver) -> Bench:
    return Bench(driver, GovernorConfig(backoff_base=0.0, calls_per_minute=1e6, burst=10_000))


def never_sent() -> BMCNotSent:
    return BMCNotSent("BMC 10.0.0.5:623 did not answer; power on was not sent")


def failures_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "host-bench" and "failed" in r.getMessage()]


def test_a_power_command_that_never_left_is_withdrawn_and_sent_as_new(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "host-bench")
    b = bench(FlakyDriver({"set_power_on": [never_sent(), never_sent()]}))
    b.settle(online=False)
    b.set(online=True)
    b.run(at=T0 + timedelta(seconds=1))  # the login failed: nothing left
    # The log says what failed, where, and that nothing is kept (what an operator greps for).
    assert failures_logged(caplog) == [
        "power-on to ipmi://10.0.0.5 failed (intent withdrawn): BMC 10.0.0.5:623 did not answer; power on was not sent"
    ]
    assert b.host.status.last_power_command is None
    assert b.host.status.error_count == 0  # one failure is no outage
    b.run(at=T0 + timedelta(seconds=2))  # again
    assert b.host.status.last_power_command is None
    for seconds in (3, 4, 5):  # it answers: sent as a first attempt (no resend Warning), then observed
        b.run(at=T0 + timedelta(seconds=seconds))
    assert b.ready() == ("True", "Available")
    assert b.host.status.powered_on is True
    assert not [e for e in b.port.events if e.reason in ("PowerCommandResent", "PowerCommandNotObeyed")]


def test_under_loss_logins_that_fail_never_end_in_power_command_not_obeyed() -> None:
    """The chaos (c) failure: each attempt's login lost, past the settle time each time. Before, the
    kept intents spent the one resend and the host gave up with PowerCommandNotObeyed."""
    b = bench(FlakyDriver({"set_power_on": [never_sent() for _ in range(4)]}))
    b.settle(online=False)
    b.set(online=True)
    for attempt in range(7):
        b.run(at=T0 + timedelta(seconds=attempt * (SETTLE + 5)))
    assert b.ready() == ("True", "Available")
    assert b.host.status.powered_on is True


def test_a_power_command_whose_reply_was_lost_keeps_its_intent_and_is_not_repeated_early(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "host-bench")
    lost = BMCUnreachable("BMC 10.0.0.5:623 did not answer power on")
    b = bench(FlakyDriver({"set_power_on": [lost]}))
    b.settle(online=False)
    b.set(online=True)
    b.run(at=T0)
    assert failures_logged(caplog) == [
        "power-on to ipmi://10.0.0.5 failed (may have landed, intent kept): BMC 10.0.0.5:623 did not answer power on"
    ]
    assert b.host.status.last_power_command is not None
    assert b.run(at=T0 + timedelta(seconds=SETTLE - 1)).actions == ()  # it may have landed: wait


def test_the_power_command_after_a_failed_boot_device_never_left() -> None:
    """A boot's actions are (boot device, power): when the boot device gets no answer, the power command
    was never sent, whatever became of the boot device, so the boot is withdrawn and tried again."""
    lost = BMCUnreachable("BMC 10.0.0.5:623 did not answer set boot device pxe")
    b = bench(FlakyDriver({"set_boot_pxe": [lost]}))
    b.host.status.hardware = None
    for _ in range(2):  # registering; inspecting, its boot id recorded
        b.run()
    assert b.state() == "inspecting"
    booting = b.run(at=T0)
    assert booting.actions == (SetBootDevice(BootDevice.PXE, persistent=False, uefi=True), PowerAction.ON)
    prov = b.host.status.provisioning
    assert prov is not None
    assert prov.boot_requested is None
    assert b.host.status.last_power_command is None
    again = b.run(at=T0 + timedelta(seconds=1))  # booted again at once, not after a settle time
    assert again.power_action is PowerAction.ON
    assert b.power_commands() == ["set_power_on"]
    assert not [e for e in b.port.events if e.reason == "PowerCommandResent"]
