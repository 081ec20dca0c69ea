"""Per-host hardware of the simulated servers: profiles parsed strictly, what inspection reports is
valid status.hardware, and the default server is the one tests have always seen."""

from __future__ import annotations

from pathlib import Path

import pytest

from oci_operator.api.v1alpha1.hardware import HardwareDetails
from oci_operator.bmc.sim.hardware import (
    HardwareProfile,
    ProfileError,
    disk_name,
    load_profiles,
    parse_profile,
    profile_for,
    unknown_hosts,
)
from oci_operator.bmc.sim.node import hardware_for

MAC = "52:54:00:00:00:07"


def test_the_default_server_is_unchanged() -> None:
    hw = HardwareDetails.model_validate(hardware_for(7, MAC))
    assert (hw.system_vendor.product, hw.cpu.count, hw.ram_mebibytes) == ("SimServer 1U", 8, 32768)
    assert [(d.name, d.size_bytes, d.rotational, d.serial_number) for d in hw.disks] == [
        ("/dev/sda", 480 * 10**9, False, "SSD00007"),
        ("/dev/sdb", 4 * 10**12, True, "HDD00007"),
    ]
    assert [(n.name, n.mac, n.speed_mbps) for n in hw.nics] == [
        ("eno1", MAC, 10000),
        ("eno2", "02:54:00:00:00:07", 10000),
    ]
    assert hw.nics[0].lldp is not None
    assert hw.nics[1].lldp is None


def test_a_profile_sets_every_knob() -> None:
    profile = parse_profile(
        {
            "product": "SimStorage 4U",
            "ramGiB": 192,
            "cpus": 48,
            "disks": [{"count": 2, "sizeGB": 480}, {"count": 28, "sizeGB": 8000, "rotational": True}],
            "nics": {"count": 6, "speedMbps": 25000},
        }
    )
    hw = HardwareDetails.model_validate(hardware_for(3, MAC, profile))  # the API's own schema accepts it
    assert (hw.system_vendor.product, hw.cpu.count, hw.ram_mebibytes) == ("SimStorage 4U", 48, 192 * 1024)
    assert len(hw.disks) == 30
    assert [d.rotational for d in hw.disks] == [False] * 2 + [True] * 28
    assert hw.disks[-1].name == "/dev/sdad"
    assert {d.size_bytes for d in hw.disks[2:]} == {8000 * 10**9}
    assert len({d.serial_number for d in hw.disks}) == 30
    assert [n.speed_mbps for n in hw.nics] == [25000] * 6
    assert len({n.mac for n in hw.nics}) == 6
    assert hw.nics[0].mac == MAC  # the boot NIC


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"ram": 64}, "ram: Extra inputs are not permitted"),
        ({"ramGiB": -1}, "ramGiB: Input should be greater than or equal to 0"),
        ({"disks": [{"count": 1, "sizeGB": 0}]}, "disks.0.sizeGB"),
        ({"nics": {"count": 0}}, "nics.count"),
        ({"cpus": "many"}, "cpus"),
    ],
)
def test_a_bad_profile_is_refused_saying_where(data: dict[str, object], says: str) -> None:
    with pytest.raises(ProfileError, match="node-001") as refused:
        parse_profile(data, "node-001")
    assert says in str(refused.value)


def test_a_profile_map_from_yaml_with_a_default(tmp_path: Path) -> None:
    path = tmp_path / "hw.yaml"
    path.write_text("default: {ramGiB: 64}\nnode-002: {product: Big, ramGiB: 512}\n")
    profiles = load_profiles(path)
    assert profile_for(profiles, "node-002").ram_gib == 512
    assert profile_for(profiles, "node-000") == HardwareProfile(ram_gib=64)
    assert profile_for({}, "node-000") == HardwareProfile()
    assert unknown_hosts(profiles, ["node-000", "node-002"]) == []
    assert unknown_hosts(profiles, ["node-000"]) == ["node-002"]


def test_a_profile_file_that_is_not_a_map_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hw.json"
    path.write_text("[1, 2]")
    with pytest.raises(ProfileError, match="expected a map"):
        load_profiles(path)


@pytest.mark.parametrize(("index", "name"), [(0, "/dev/sda"), (25, "/dev/sdz"), (26, "/dev/sdaa"), (701, "/dev/sdzz")])
def test_disks_are_named_like_the_kernel_names_them(index: int, name: str) -> None:
    assert disk_name(index) == name
