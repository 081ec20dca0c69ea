"""A fleet of simulated servers with mixed hardware (tests/support/cloud.py's cloud_fleet): each host's
inspection, through the real boot server and operator, reports the hardware its profile gave it, and a
profile set at run time through the simulator's control API is what the next inspection reports."""

from __future__ import annotations

import urllib.error
from pathlib import Path
from typing import Any

import pytest

from support.bootserver import BootServerProcess
from support.cloud import COMPUTE, CONTROLLER, SMALL, STORAGE, cloud_fleet
from support.hosts import ready, status
from support.kube import Kube
from support.operator_process import OperatorProcess
from support.waiting import wait_for

TIMEOUT = 120
REBUILT: dict[str, Any] = {
    "product": "SimServer 2U",
    "ramGiB": 384,
    "cpus": 96,
    "disks": [{"count": 3, "sizeGB": 1920}],
    "nics": {"count": 2, "speedMbps": 100000},
}


def summary(hardware: dict[str, Any]) -> dict[str, Any]:
    """A reported status.hardware in a profile's terms."""
    return {
        "product": hardware["systemVendor"]["product"],
        "ramGiB": hardware["ramMebibytes"] // 1024,
        "cpus": hardware["cpu"]["count"],
        "disks": [(d["sizeBytes"] // 10**9, d.get("rotational", False)) for d in hardware["disks"]],
        "nics": [n["speedMbps"] for n in hardware["nics"]],
    }


def expected(profile: dict[str, Any]) -> dict[str, Any]:
    return {
        "product": profile["product"],
        "ramGiB": profile["ramGiB"],
        "cpus": profile["cpus"],
        "disks": [(g["sizeGB"], g.get("rotational", False)) for g in profile["disks"] for _ in range(g["count"])],
        "nics": [profile["nics"]["speedMbps"]] * profile["nics"]["count"],
    }


def test_inspected_hosts_report_the_hardware_their_profile_gave_them(
    kube: Kube, namespace: str, bootserver: BootServerProcess, operator: OperatorProcess, tmp_path: Path
) -> None:
    profiles = [CONTROLLER, COMPUTE, STORAGE, SMALL]
    with cloud_fleet(tmp_path / "fleet", bootserver.url, profiles, prefix="hw", first_mac="52:54:00:c3:00:00") as fleet:
        names = list(fleet.bmcs)
        assert fleet.control.hardware(fleet.bmcs[names[3]], REBUILT)["ramMebibytes"] == 384 * 1024
        with pytest.raises(urllib.error.HTTPError) as refused:  # a bad profile changes nothing and says why
            fleet.control.hardware(fleet.bmcs[names[3]], {"ramGiB": 64, "disk": []})
        assert refused.value.code == 400
        assert "disk: Extra inputs are not permitted" in refused.value.read().decode()
        fleet.create_hosts(kube, namespace)
        available = ("True", "Available")
        wait_for(lambda: all(ready(kube, namespace, n) == available for n in names), TIMEOUT, "all inspected")
        reported = {name: summary(status(kube, namespace, name)["hardware"]) for name in names}
        assert reported == dict(zip(names, map(expected, [CONTROLLER, COMPUTE, STORAGE, REBUILT]), strict=True))
        boot_macs = {name: status(kube, namespace, name)["hardware"]["nics"][0]["mac"] for name in names}
        assert boot_macs == {name: bmc.mac for name, bmc in fleet.bmcs.items()}
