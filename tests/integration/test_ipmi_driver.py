"""The pyghmi driver against simulated BMCs over real UDP: every call, and every error type."""

from __future__ import annotations

import time

import pytest
from pyghmi.ipmi.private.session import Session

from oci_operator.bmc.driver import BMCAuthError, BMCCommandError, BMCUnreachable, BootDevice, PowerAction
from oci_operator.bmc.drivers import driver_for
from oci_operator.bmc.ipmi import IPMIDriver
from support.bmcsim import SimControl


def test_power_and_boot_device(sim: SimControl) -> None:
    bmc = sim.take()
    driver = driver_for(bmc.address, bmc.username, bmc.password)
    driver.check_credentials()
    assert driver.get_power() is False
    driver.set_power(PowerAction.ON)
    assert driver.get_power() is True
    driver.set_power(PowerAction.CYCLE)
    driver.set_power(PowerAction.RESET)
    driver.set_boot_device(BootDevice.PXE, persistent=False, uefi=True)
    assert sim.state(bmc)["bootDevice"] == "network"
    driver.set_boot_device(BootDevice.DISK, persistent=True, uefi=True)
    assert sim.state(bmc)["bootDevice"] == "hd"
    driver.set_power(PowerAction.OFF)
    assert sim.state(bmc)["poweredOn"] is False
    commands = [c for c in sim.log(bmc) if c.startswith("power_")]
    assert commands == ["power_on", "power_cycle", "power_reset", "power_off"]  # one packet each, no read-first


def test_wrong_password_and_unknown_user_are_authentication_errors(sim: SimControl) -> None:
    bmc = sim.take()
    with pytest.raises(BMCAuthError) as wrong:
        driver_for(bmc.address, bmc.username, "wrong-password-123").check_credentials()
    assert "wrong-password-123" not in str(wrong.value)
    with pytest.raises(BMCAuthError):
        driver_for(bmc.address, "nobody", bmc.password).check_credentials()


def test_a_silent_bmc_is_unreachable(sim: SimControl) -> None:
    bmc = sim.take()
    sim.faults(bmc, silent=True)
    try:
        with pytest.raises(BMCUnreachable):
            driver_for(bmc.address, bmc.username, bmc.password).get_power()
    finally:
        sim.faults(bmc, silent=False)


def test_power_cycle_of_an_off_server_is_refused_by_the_bmc(sim: SimControl) -> None:
    bmc = sim.take()
    driver = driver_for(bmc.address, bmc.username, bmc.password)
    with pytest.raises(BMCCommandError, match=r"BMC 127\.0\.0\.1"):
        driver.set_power(PowerAction.CYCLE)  # IPMI completion code 0xd5: not in present state


def test_a_new_login_to_one_bmc_leaves_the_sessions_of_other_bmcs_alive(sim: SimControl) -> None:
    """pyghmi's client reaches up to 64 BMCs from one UDP port. When it logs in to one of them again from
    that port, the other BMCs' sessions with it live on. The simulated fleet shares one session table,
    and dropped them all: under reply loss re-logins are frequent, so a 100-BMC fleet stalled, every
    command acknowledged by nobody (issue 13, item 3)."""
    first, second = sim.take(), sim.take()
    kept = IPMIDriver("127.0.0.1", first.port, first.username, first.password)
    renewed = IPMIDriver("127.0.0.1", second.port, second.username, second.password)
    assert kept.get_power() is False
    assert renewed.get_power() is False
    shared = kept.local_port()
    assert shared == renewed.local_port()  # the precondition: one client port for both BMCs
    sim.faults(second, silent=True)
    try:
        with pytest.raises(BMCUnreachable):
            renewed.get_power()  # its session ends: the next call logs in anew
    finally:
        sim.faults(second, silent=False)
    assert renewed.get_power() is False
    assert renewed.local_port() == shared  # the new login came from the port `kept` still uses
    kept.set_power(PowerAction.ON)  # on the session it had before
    assert sim.state(first)["poweredOn"] is True
    assert sim.count(first, "power_on") == 1


def test_a_session_idle_past_the_bmcs_timeout_is_replaced_before_use(sim: SimControl) -> None:
    """BMCs end idle sessions (IPMI's default: after 60 s), and pyghmi sends keepalives only while a
    login waits, so between polls nothing keeps a session alive. A command on a session the BMC had
    ended got no answer: ~10 s of retries, then BMCUnreachable (so it fails with idle_limit=inf, the
    driver of before). The driver logs an idle session out and opens a new one first."""
    bmc = sim.take()
    sim.faults(bmc, sessionTimeout=1.0)
    try:
        driver = IPMIDriver("127.0.0.1", bmc.port, bmc.username, bmc.password, idle_limit=0.5)
        assert driver.get_power() is False
        time.sleep(1.5)  # the scenario is idleness itself: longer than the BMC keeps a session
        driver.set_power(PowerAction.ON)
        assert sim.state(bmc)["poweredOn"] is True
        assert sim.count(bmc, "power_on") == 1
    finally:
        sim.faults(bmc, sessionTimeout=0)


def test_an_idle_session_is_ended_without_waiting_for_the_next_call(sim: SimControl) -> None:
    """Issue 12: a settled host calls its BMC again minutes later. Its session must not stay in pyghmi's
    tables meanwhile: every thread waiting on any BMC walks them on every wake-up, so at 10,000 hosts
    sessions left open made the operator's CPU grow with the fleet at each call."""
    bmc = sim.take()
    now = [0.0]
    driver = IPMIDriver("127.0.0.1", bmc.port, bmc.username, bmc.password, idle_limit=20.0, clock=lambda: now[0])
    assert driver.get_power() is False
    session = driver._command.ipmi_session
    assert session in Session.keepalive_sessions
    now[0] = 19.0
    assert driver.end_if_idle() is False  # still within the limit: kept for the host's next call
    assert session in Session.keepalive_sessions
    now[0] = 40.5
    assert driver.end_if_idle() is True
    assert session not in Session.keepalive_sessions
    assert session not in Session.waiting_sessions
    assert driver.end_if_idle() is False  # nothing left to end
    driver.set_power(PowerAction.ON)  # a new login, then the command, once
    assert sim.state(bmc)["poweredOn"] is True
    assert sim.count(bmc, "power_on") == 1


def test_closing_a_driver_logs_its_session_out(sim: SimControl) -> None:
    """A host deleted, or its credentials changed, closes its driver: the session leaves pyghmi's tables
    (and the BMC gets its Close Session) instead of lingering until the BMC's timeout."""
    bmc = sim.take()
    driver = IPMIDriver("127.0.0.1", bmc.port, bmc.username, bmc.password)
    assert driver.get_power() is False
    session = driver._command.ipmi_session
    assert session in Session.keepalive_sessions
    driver.close()
    assert session not in Session.keepalive_sessions
    assert not session.logged
    driver.close()  # nothing left to close
