"""The sushy driver against sushy-tools' emulator over real HTTP(S) on loopback: every call, every error."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from oci_operator.bmc.driver import BMCAuthError, BMCUnreachable, BMCUnsupported, BootDevice, PowerAction
from oci_operator.bmc.drivers import TLSOptions, driver_for
from oci_operator.bmc.redfish import RedfishAddress, RedfishDriver
from support.redfish_emulator import RedfishEmulator, redfish_emulator
from support.waiting import wait_for

POWER_TIMEOUT = 40  # the fake driver applies a power change 1-11 s after the command


def test_power_actions_use_the_reset_types_the_system_allows(redfish: RedfishEmulator) -> None:
    system = redfish.take()
    driver = driver_for(redfish.address(system), redfish.username, redfish.password)
    driver.check_credentials()
    assert driver.get_power() is False

    driver.set_power(PowerAction.ON)
    wait_for(driver.get_power, POWER_TIMEOUT, "On applied")
    # The emulator advertises no PowerCycle: a cycle is its ForceRestart (off at once, on a little later).
    # It reads Off meanwhile; the driver, knowing the restart is under way, still says on.
    driver.set_power(PowerAction.CYCLE)
    assert redfish.powered_on(system) is False
    assert driver.get_power() is True
    wait_for(lambda: redfish.powered_on(system), POWER_TIMEOUT, "on again after the cycle")
    driver.set_power(PowerAction.RESET)
    wait_for(lambda: redfish.powered_on(system), POWER_TIMEOUT, "on again after the reset")
    driver.set_power(PowerAction.SOFT_OFF)
    wait_for(lambda: not driver.get_power(), POWER_TIMEOUT, "off after GracefulShutdown")
    driver.set_power(PowerAction.ON)
    wait_for(driver.get_power, POWER_TIMEOUT, "on")
    driver.set_power(PowerAction.OFF)
    wait_for(lambda: not driver.get_power(), POWER_TIMEOUT, "off after ForceOff")
    resets = redfish.requests(system, "POST")
    assert len(resets) == 6, resets  # one request per command, nothing read-first in between
    assert all("/Actions/ComputerSystem.Reset" in line for line in resets)


def test_boot_device_once_and_persistent_uefi_and_legacy(redfish: RedfishEmulator) -> None:
    system = redfish.take()
    driver = driver_for(redfish.address(system), redfish.username, redfish.password)
    driver.set_boot_device(BootDevice.PXE, persistent=False, uefi=True)
    boot = redfish.boot(system)
    assert (boot["BootSourceOverrideTarget"], boot["BootSourceOverrideMode"]) == ("Pxe", "UEFI")
    # The emulator's quirk: a one-time override reads back as Continuous. The driver takes it.
    assert boot["BootSourceOverrideEnabled"] == "Continuous"

    driver.set_boot_device(BootDevice.DISK, persistent=True, uefi=False)
    boot = redfish.boot(system)
    assert (boot["BootSourceOverrideTarget"], boot["BootSourceOverrideMode"]) == ("Hdd", "Legacy")
    driver.set_boot_device(BootDevice.DISK, persistent=True, uefi=False)  # again: harmless
    assert redfish.boot(system)["BootSourceOverrideTarget"] == "Hdd"


def test_the_single_system_is_discovered_and_several_are_refused(redfish: RedfishEmulator, tmp_path: Path) -> None:
    with pytest.raises(BMCUnsupported, match=f"{len(redfish.systems)} systems"):
        driver_for(redfish.address(None), redfish.username, redfish.password).get_power()
    with redfish_emulator(tmp_path, 1, power_on=True) as single:
        assert driver_for(single.address(None), single.username, single.password).get_power() is True


def test_wrong_password_and_unknown_user_are_authentication_errors(redfish: RedfishEmulator) -> None:
    address = redfish.address(redfish.take())
    with pytest.raises(BMCAuthError) as wrong:
        driver_for(address, redfish.username, "wrong-password-123").check_credentials()
    assert "wrong-password-123" not in str(wrong.value)
    with pytest.raises(BMCAuthError):
        driver_for(address, "nobody", redfish.password).get_power()


def test_one_login_serves_every_call(tmp_path: Path) -> None:
    with redfish_emulator(tmp_path, 1) as emu:  # its own: the service root's GETs are counted
        system = emu.take()
        roots_before = emu.log().count('"GET /redfish/v1/ HTTP')
        driver = driver_for(emu.address(system), emu.username, emu.password)
        for _ in range(5):
            driver.get_power()
        assert emu.log().count('"GET /redfish/v1/ HTTP') == roots_before + 1  # the service root, once
        assert len(emu.requests(system, "GET")) == 6  # the system when connecting, then one GET per call
        driver.close()
        driver.get_power()  # closed: logs in again
        assert emu.log().count('"GET /redfish/v1/ HTTP') == roots_before + 2


def test_one_session_is_reused_renewed_when_expired_and_deleted_on_close(tmp_path: Path) -> None:
    with redfish_emulator(tmp_path, 2, sessions=True) as emu:
        system = emu.systems[0]
        driver = driver_for(emu.address(system), emu.username, emu.password)
        for _ in range(5):
            assert driver.get_power() is False
        driver.set_boot_device(BootDevice.PXE, persistent=False, uefi=True)
        assert emu.sessions() == {"created": 1, "deleted": 0, "rejected": 0, "live": 1}

        emu.expire_sessions()  # the BMC forgets it (timeout, BMC reboot): the next call logs in again
        assert driver.get_power() is False
        assert emu.sessions()["created"] == 2
        assert driver.get_power() is False
        assert emu.sessions()["created"] == 2

        driver.close()  # credentials changed or host deleted: the session is given back
        assert emu.sessions() == {"created": 2, "deleted": 1, "rejected": 0, "live": 0}

        with pytest.raises(BMCAuthError):
            driver_for(emu.address(system), emu.username, "wrong-password-123").check_credentials()
        assert emu.sessions()["rejected"] >= 1


def test_nobody_listening_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(BMCUnreachable):
            driver_for(f"redfish+http://127.0.0.1:{port}/redfish/v1/Systems/1", "u", "p").get_power()


def test_a_bmc_that_never_answers_is_unreachable_within_the_timeout() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # accepts (the kernel does), never answers
        accepted: list[socket.socket] = []
        stop = threading.Event()

        def hold() -> None:
            sock.settimeout(0.2)
            while not stop.is_set():
                try:
                    accepted.append(sock.accept()[0])
                except TimeoutError:
                    continue

        holder = threading.Thread(target=hold, daemon=True)
        holder.start()
        try:
            address = RedfishAddress.parse(f"redfish+http://127.0.0.1:{sock.getsockname()[1]}")
            with pytest.raises(BMCUnreachable):
                RedfishDriver(address, "u", "p", timeout=2).get_power()
        finally:
            stop.set()
            holder.join()
            for conn in accepted:
                conn.close()


def test_tls_is_verified_with_the_given_ca(redfish_tls: RedfishEmulator) -> None:
    address = redfish_tls.address(redfish_tls.take())
    user, password = redfish_tls.username, redfish_tls.password
    with pytest.raises(BMCUnreachable, match="certificate"):
        driver_for(address, user, password).get_power()  # the system's trust store does not know the CA
    assert driver_for(address, user, password, TLSOptions(ca_bundle=redfish_tls.ca_pem)).get_power() is False
    assert driver_for(address, user, password, TLSOptions(verify=False)).get_power() is False
    with pytest.raises(BMCAuthError):  # verified, then refused: the credentials, not the certificate
        driver_for(address, user, "wrong", TLSOptions(ca_bundle=redfish_tls.ca_pem)).check_credentials()
