"""A real VM's PXE lab: a network namespace with a bridge and a tap, the boot server serving it with DHCP
and TFTP, and the QEMU command line (UEFI, TCG: this machine's KVM cannot run guests, see
../shared/docs/pxe-lab.md). Shared by the installer (test_pxe_vm) and deploy ramdisk (test_image_install) tests."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .bootserver import BootServerProcess, boot_server
from .netns import ProvisioningNet, provisioning_net
from .operator_process import free_port

OVMF = Path("/usr/share/ovmf/OVMF.fd")
NETBOOT = Path("/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64")


@contextmanager
def vm_network(tag: str, octet: int) -> Iterator[ProvisioningNet]:
    """The namespace's bridge with tap0 for the VM, and IPv6 RAs (iPXE waits ~15 s for them otherwise)."""
    with provisioning_net(tag, octet, bridge=True) as net:
        net.run("ip", "tuntap", "add", "tap0", "mode", "tap")
        net.run("ip", "link", "set", "tap0", "master", "br0")
        net.run("ip", "link", "set", "tap0", "up")
        subprocess.run(["ip", "-6", "addr", "add", f"fd98:{octet}::1/64", "dev", net.host_if], check=True)
        yield net


def require_vm_tools() -> None:
    for tool, package in (("qemu-system-x86_64", "qemu-system-x86"), ("dnsmasq", "dnsmasq-base")):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} missing: hack/setup installs {package}")
    if not OVMF.is_file():
        pytest.fail("UEFI firmware missing: hack/setup installs ovmf")
    if not (NETBOOT / "linux").is_file():
        pytest.fail("the Debian installer is missing: hack/setup installs debian-installer-12-netboot-amd64")


@contextmanager
def vm_boot_server(kubeconfig: str, net: ProvisioningNet, workdir: Path, *extra: str) -> Iterator[BootServerProcess]:
    """The boot server on the namespace's veth, handing out addresses itself (reservation mode)."""
    require_vm_tools()
    port = free_port()
    octet = net.prefix.rsplit(".", 1)[1]
    args = (
        *("--interface", net.host_if, "--dhcp-mode", "reservation", "--dnsmasq-user", "root"),
        *("--range", f"{net.prefix}.100,{net.prefix}.150", "--router", net.server_ip, "--dns-server", net.server_ip),
        *("--ra-prefix", f"fd98:{octet}::", "--advertise", f"{net.server_ip}:{port}"),
        *("--kernel-args", "console=ttyS0,115200n8"),
        *extra,
    )
    with boot_server(kubeconfig, workdir, *args, images=NETBOOT, address=net.server_ip, port=port) as server:
        yield server


def qemu_command(net: ProvisioningNet, mac: str, serial: Path, *devices: str, memory_mib: int = 1024) -> list[str]:
    """UEFI firmware whose own PXE client fetches ipxe.efi over TFTP (no option ROM: the full route)."""
    return [
        "ip", "netns", "exec", net.netns, "qemu-system-x86_64",
        "-accel", "tcg", "-m", str(memory_mib), "-smp", "2", "-nographic", "-monitor", "none",
        "-serial", f"file:{serial}", "-no-reboot", "-boot", "n", "-bios", str(OVMF),
        "-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
        "-device", f"virtio-net-pci,netdev=n0,mac={mac},romfile=",
        *devices,
    ]  # fmt: skip
