"""The QEMU command a simulated BMC's VM backend runs: the boot device it was told is the firmware's
first boot option, the serial console is appended to across power cycles, the disk keeps its serial."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from oci_operator.bmc.sim.vm import VMSpec

SPEC = VMSpec.from_json(
    {"mac": "52:54:00:AA:00:01", "disk": "/vm/d.img", "serial": "/vm/s.log", "netns": "oci-lab", "diskSerial": "D1"}
)


def option(command: list[str], flag: str, starts: str) -> str:
    return next(v for f, v in pairwise(command) if f == flag and v.startswith(starts))


def test_network_first_unless_told_the_disk() -> None:
    pxe = SPEC.command(network_first=True)
    assert "bootindex=1" in option(pxe, "-device", "virtio-net-pci")
    assert "bootindex=2" in option(pxe, "-device", "virtio-blk-pci")
    disk = SPEC.command(network_first=False)
    assert "bootindex=2" in option(disk, "-device", "virtio-net-pci")
    assert "bootindex=1" in option(disk, "-device", "virtio-blk-pci")


def test_the_vm_runs_in_its_namespace_with_its_mac_disk_and_console() -> None:
    command = SPEC.command(network_first=True)
    assert command[:4] == ["ip", "netns", "exec", "oci-lab"]
    assert "mac=52:54:00:aa:00:01" in option(command, "-device", "virtio-net-pci")
    assert "romfile=," in option(command, "-device", "virtio-net-pci")  # the firmware's own PXE, as on metal
    assert option(command, "-device", "virtio-blk-pci").endswith(",serial=D1")
    assert option(command, "-drive", "id=d0").startswith("id=d0,file=/vm/d.img,format=raw")
    assert option(command, "-chardev", "file").endswith("path=/vm/s.log,append=on")
    assert SPEC.firmware == Path("/usr/share/ovmf/OVMF.fd")
    assert option(command, "-accel", "") == "tcg"
