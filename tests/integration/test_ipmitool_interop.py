"""The simulator speaks IPMI well enough for Debian's ipmitool (lanplus), like a real BMC."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from support.bmcsim import SimBMC, SimControl


def ipmitool(bmc: SimBMC, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("ipmitool")
    if binary is None:
        pytest.fail("ipmitool is not installed: hack/setup installs Debian's ipmitool")
    return subprocess.run(
        [
            binary,
            "-I",
            "lanplus",
            "-H",
            "127.0.0.1",
            "-p",
            str(bmc.port),
            "-U",
            bmc.username,
            "-E",
            "-N",
            "1",
            "-R",
            "2",
            *args,
        ],
        env={**os.environ, "IPMI_PASSWORD": password or bmc.password},  # -E: never on the command line
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_ipmitool_drives_power_and_boot_device(sim: SimControl) -> None:
    bmc = sim.take()
    assert ipmitool(bmc, "chassis", "power", "status").stdout.strip() == "Chassis Power is off"
    assert ipmitool(bmc, "chassis", "power", "on").returncode == 0
    assert sim.state(bmc)["poweredOn"] is True
    assert ipmitool(bmc, "chassis", "power", "status").stdout.strip() == "Chassis Power is on"
    assert ipmitool(bmc, "chassis", "power", "cycle").returncode == 0
    assert ipmitool(bmc, "chassis", "bootdev", "pxe").returncode == 0
    assert sim.state(bmc)["bootDevice"] == "network"
    assert ipmitool(bmc, "chassis", "power", "off").returncode == 0
    assert sim.state(bmc)["poweredOn"] is False
    assert sim.log(bmc)[-1] == "power_off"
    assert {"power_on", "power_cycle", "set_boot_device"} <= set(sim.log(bmc))


def test_ipmitool_with_a_wrong_password_is_refused(sim: SimControl) -> None:
    bmc = sim.take()
    result = ipmitool(bmc, "chassis", "power", "status", password="wrong")
    assert result.returncode != 0
    assert "RMCP+" in result.stderr or "session" in result.stderr.lower()
    assert "get_power" not in sim.log(bmc)
