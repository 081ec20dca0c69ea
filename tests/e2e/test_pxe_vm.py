"""A real VM PXE-boots from the boot server and reports its hardware: UEFI firmware → dnsmasq DHCP +
TFTP (ipxe.efi) → iPXE → HTTP kernel and initrd → preseed (HTTP Basic auth with the host's token) →
the installer's early_command runs oci-report.sh → status.hardware on the BareMetalHost.

QEMU runs under TCG (this machine's KVM cannot run guests, see ../shared/docs/pxe-lab.md) in a
network namespace whose only way out is the veth the boot server's dnsmasq serves. It stands in for
the server behind a simulated BMC: the test starts it when that BMC is told to power on."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.bmcsim import SimControl
from support.bootserver import BootServerProcess
from support.hosts import boot_token, create_booting_host, state, status
from support.kube import Kube
from support.netns import ProvisioningNet
from support.operator_process import OperatorProcess
from support.pxe_vm import qemu_command, vm_boot_server, vm_network
from support.waiting import wait_for

VM_MAC = "52:54:00:e2:e0:01"
BOOT_TIMEOUT = 420  # measured ~90-100 s to the callback under TCG; CI machines may be slower


@pytest.fixture
def vm_net() -> Iterator[ProvisioningNet]:
    with vm_network("q", 72) as net:
        yield net


@pytest.fixture
def pxe_server(kube: Kube, vm_net: ProvisioningNet, tmp_path: Path) -> Iterator[BootServerProcess]:
    with vm_boot_server(kube.kubeconfig, vm_net, tmp_path / "bs") as server:
        yield server


def test_a_vm_pxe_boots_into_the_installer_and_its_hardware_reaches_the_host(
    kube: Kube,
    namespace: str,
    sim: SimControl,
    operator: OperatorProcess,
    vm_net: ProvisioningNet,
    pxe_server: BootServerProcess,
    tmp_path: Path,
) -> None:
    bmc = sim.take()
    create_booting_host(kube, namespace, "vm", bmc, VM_MAC, bootMode="UEFI")
    wait_for(lambda: boot_token(kube, namespace, "vm"), 60, "the inspection job's token")
    wait_for(lambda: "power_on" in sim.log(bmc), 60, "the operator powering the server on")
    assert "set_boot_device" in sim.log(bmc)

    disk = tmp_path / "disk.img"
    with disk.open("wb") as f:
        f.truncate(4 << 30)
    serial = tmp_path / "serial.log"
    started = time.monotonic()
    qemu = subprocess.Popen(
        qemu_command(
            vm_net, VM_MAC, serial,
            # A USB disk: the netboot initrd has usb-storage, not virtio-blk/ahci/nvme (those come
            # from the mirror later, after early_command), so this is a disk inspection can see.
            "-device", "qemu-xhci", "-device", "usb-storage,drive=d0",
            "-drive", f"id=d0,file={disk},format=raw,if=none",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:

        def inspected() -> bool:
            assert qemu.poll() is None, f"QEMU exited: {qemu.stderr.read().decode() if qemu.stderr else ''}"
            return status(kube, namespace, "vm").get("hardware") is not None

        try:
            wait_for(inspected, BOOT_TIMEOUT, "the VM's inspection report", interval=2)
        except AssertionError:
            print("serial console (tail):\n", serial.read_text(errors="replace")[-3000:])
            print("boot server log (tail):\n", pxe_server.log()[-3000:])
            raise
        took = time.monotonic() - started
        print(f"\nPXE VM (UEFI): power-on to inspection report in {took:.1f}s (TCG, 2 vCPUs)")
    finally:
        qemu.kill()
        qemu.wait()

    hardware = status(kube, namespace, "vm")["hardware"]
    assert hardware["cpu"]["count"] == 2
    assert 900 <= hardware["ramMebibytes"] <= 1024
    assert [(d["name"], d["sizeBytes"]) for d in hardware["disks"]] == [("/dev/sda", 4 << 30)]
    assert VM_MAC in [n["mac"] for n in hardware["nics"]]
    wait_for(lambda: state(kube, namespace, "vm") == "available", 30, "the host to be available")
    log = pxe_server.log()
    for step in (
        "DHCPACK",
        "sent /",
        "ipxe.efi",
        "GET /boot.ipxe",
        "GET /v1/images/linux",
        "GET /v1/hosts/",
        "POST /v1/hosts/",
    ):
        assert step in log, step
