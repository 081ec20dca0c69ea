"""dnsmasq as the boot server runs it, against real clients in a network namespace: busybox udhcpc
speaking for each firmware type, and tftp-hpa fetching the iPXE binaries."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.bootserver import BootServerProcess, boot_server
from support.hosts import state
from support.kube import Kube
from support.netns import ProvisioningNet, provisioning_net
from support.operator_process import free_port
from support.waiting import wait_for

IPXE = Path("/usr/lib/ipxe")
# What a udhcpc lease script sees, one KEY=VALUE per line.
LEASE_SCRIPT = """#!/bin/sh
[ "$1" = bound ] || exit 0
env | grep -E '^(ip|router|dns|boot_file|siaddr|serverid)=' > "$LEASE_OUT"
"""


def tools() -> None:
    for tool in ("busybox", "tftp", "dnsmasq"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} missing: hack/setup installs busybox, tftp-hpa and dnsmasq-base")


@pytest.fixture
def net() -> Iterator[ProvisioningNet]:
    with provisioning_net("d", 71) as n:
        yield n


@pytest.fixture
def reservation_server(kube: Kube, net: ProvisioningNet, tmp_path: Path) -> Iterator[BootServerProcess]:
    tools()
    port = free_port()
    args = (
        *("--interface", net.host_if, "--dhcp-mode", "reservation", "--dnsmasq-user", "root"),
        *("--range", f"{net.prefix}.100,{net.prefix}.150", "--router", net.server_ip, "--dns-server", net.server_ip),
        *("--advertise", f"{net.server_ip}:{port}"),
    )
    with boot_server(kube.kubeconfig, tmp_path, *args, address=net.server_ip, port=port) as server:
        yield server


def lease(net: ProvisioningNet, tmp_path: Path, *options: str) -> dict[str, str]:
    script, out = tmp_path / "lease.sh", tmp_path / "lease.env"
    script.write_text(LEASE_SCRIPT)
    script.chmod(0o755)
    out.unlink(missing_ok=True)
    net.run(
        "env", f"LEASE_OUT={out}", "busybox", "udhcpc", "-i", net.guest_if, "-n", "-q", "-f",
        "-t", "5", "-T", "1", "-s", str(script), *options,
    )  # fmt: skip
    return dict(line.split("=", 1) for line in out.read_text().split())


def test_each_firmware_gets_its_boot_file(
    net: ProvisioningNet, reservation_server: BootServerProcess, tmp_path: Path
) -> None:
    bios = lease(net, tmp_path, "-V", "PXEClient:Arch:00000:UNDI:002001")
    assert bios["boot_file"] == "undionly.kpxe"
    assert bios["router"] == net.server_ip  # the installer stops to ask without one
    assert bios["dns"] == net.server_ip
    assert bios["ip"].startswith(f"{net.prefix}.")
    uefi = lease(net, tmp_path, "-V", "PXEClient:Arch:00007:UNDI:003016", "-x", "0x5d:0007")
    assert uefi["boot_file"] == "ipxe.efi"
    ipxe = lease(net, tmp_path, "-x", "0x4d:69505845")  # user class "iPXE": iPXE itself asking
    assert ipxe["boot_file"] == f"{reservation_server.url}/boot.ipxe"


def test_tftp_serves_debians_ipxe_and_nothing_else(
    net: ProvisioningNet, reservation_server: BootServerProcess, tmp_path: Path
) -> None:
    net.run("ip", "addr", "add", f"{net.prefix}.5/24", "dev", net.guest_if)  # as if it had its lease
    for name in ("undionly.kpxe", "ipxe.efi"):
        target = tmp_path / name
        net.run("tftp", "-m", "binary", net.server_ip, "-c", "get", name, str(target))
        assert target.read_bytes() == (IPXE / name).read_bytes()
    for bad in ("../dnsmasq.conf", "/etc/passwd", "../../../../etc/shadow"):
        target = tmp_path / "bad"
        target.unlink(missing_ok=True)
        net.run("tftp", "-m", "binary", net.server_ip, "-c", "get", bad, str(target), check=False)
        assert not target.exists() or target.stat().st_size == 0, bad


def test_proxy_mode_answers_pxe_clients_and_discovery_creates_a_host(
    kube: Kube, net: ProvisioningNet, namespace: str, operator: object, tmp_path: Path
) -> None:
    """Proxy mode gives no addresses (the site's DHCP does); dnsmasq still answers the PXE client, and
    with --discover the client's MAC becomes a BareMetalHost that waits for BMC details."""
    tools()
    port = free_port()
    args = (
        *("--interface", net.host_if, "--dhcp-mode", "proxy", "--subnet", f"{net.prefix}.0", "--dnsmasq-user", "root"),
        *("--advertise", f"{net.server_ip}:{port}", "--discover", "--discover-namespace", namespace),
    )
    with boot_server(kube.kubeconfig, tmp_path, *args, address=net.server_ip, port=port) as server:
        mac = net.run("cat", f"/sys/class/net/{net.guest_if}/address").stdout.strip()
        net.run(
            "busybox", "udhcpc", "-i", net.guest_if, "-n", "-q", "-f", "-t", "2", "-T", "1",
            "-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000",  # a BIOS PXE ROM: arch 0
            "-x", "0x61:00112233445566778899aabbccddeeff00", "-s", "/bin/true", check=False,  # with a UUID
        )  # fmt: skip
        wait_for(lambda: "proxy" in server.log() and mac in server.log(), 20, "dnsmasq's proxy answer in its log")
        name = f"discovered-{mac.replace(':', '-')}"
        wait_for(lambda: state(kube, namespace, name) == "discovered", 30, f"BareMetalHost {name} discovered")
        host = kube.get(namespace, "BareMetalHost", name)
        assert host["spec"]["bootMACAddress"] == mac
        assert "bmc" not in host["spec"]
        ready = next(c for c in host["status"]["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "AwaitingBMC")
