"""Network namespaces joined to this host by a veth pair: the host end plays the provisioning interface
the boot server's dnsmasq serves, the namespace end a server's NIC. There is no default route inside,
so nothing there reaches anything but the boot server."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest


def ip(*args: str, netns: str | None = None) -> None:
    prefix = ["ip", "netns", "exec", netns, "ip"] if netns else ["ip"]
    subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=30)


@dataclass(frozen=True)
class ProvisioningNet:
    netns: str
    host_if: str  # the boot server's side, in this namespace
    guest_if: str  # inside netns
    server_ip: str
    prefix: str  # e.g. 10.98.7

    def run(self, *cmd: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.netns, *cmd], capture_output=True, text=True, timeout=timeout, check=check
        )


def require_netns() -> None:
    """Skip reason names the obstacle; CI runs as root with iproute2, so there these tests run."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces and DHCP port 67 need root (CI runs as root)")
    if shutil.which("ip") is None:
        pytest.skip("iproute2 missing: hack/setup installs it")


@contextmanager
def provisioning_net(tag: str, octet: int, bridge: bool = False) -> Iterator[ProvisioningNet]:
    """`bridge`: the namespace end is a bridge (with the veth in it), so VMs' taps can join it."""
    require_netns()
    netns, host_if, guest_if = f"oci-{tag}", f"oci{tag}h", f"oci{tag}g"
    prefix = f"10.98.{octet}"
    subprocess.run(["ip", "netns", "del", netns], capture_output=True, check=False)  # leftovers of a killed run
    subprocess.run(["ip", "link", "del", host_if], capture_output=True, check=False)
    ip("netns", "add", netns)
    try:
        ip("link", "add", host_if, "type", "veth", "peer", "name", guest_if)
        ip("link", "set", guest_if, "netns", netns)
        ip("addr", "add", f"{prefix}.1/24", "dev", host_if)
        ip("link", "set", host_if, "up")
        ip("link", "set", "lo", "up", netns=netns)
        ip("link", "set", guest_if, "up", netns=netns)
        if bridge:
            ip("link", "add", "br0", "type", "bridge", netns=netns)
            ip("link", "set", guest_if, "master", "br0", netns=netns)
            ip("link", "set", "br0", "up", netns=netns)
        yield ProvisioningNet(netns, host_if, guest_if, f"{prefix}.1", prefix)
    finally:
        subprocess.run(["ip", "netns", "del", netns], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, check=False)
