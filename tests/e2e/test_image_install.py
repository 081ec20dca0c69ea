"""One real VM's whole life through our own deploy ramdisk, powered through the simulated BMC driving QEMU:
UEFI firmware → dnsmasq DHCP + TFTP (ipxe.efi) → iPXE → the deploy ramdisk (hack/build-deploy-ramdisk)
→ inspection (status.hardware shows the virtio disk and the LLDP neighbour the test's "switch" announces
on the VM's link) → a corrupted image refused (`provisioning error`
naming the step, no partition table left) → hack/build-os-image's Debian written and verified → the host
boots its disk (systemd, udev, networkd) → the agent converges a role from a local apt repository, its unit
running → Converged=True → the role removed: wiped, powered off, available.

One VM life covers all of it: every network boot under TCG costs minutes, so the stages share it.
QEMU runs under TCG (this machine's KVM cannot run guests, see ../shared/docs/pxe-lab.md) in a network
namespace whose only way out is the veth the boot server's dnsmasq serves."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from oci_operator.api.v1alpha1 import GROUP, VERSION
from support import images as builds
from support.bmcsim import SimBMC, SimControl, bmc_sim
from support.bootserver import BootServerProcess
from support.hosts import converged, create_booting_host, state, status
from support.kube import Kube
from support.netns import ProvisioningNet
from support.operator_process import OperatorProcess, free_port, http_get
from support.pxe_vm import OVMF, vm_boot_server, vm_network
from support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
VM_MAC = "52:54:00:e2:e0:14"
DISK_BYTES = 2 << 30
DISK_SERIAL = "oci-vm-disk-1"
TRUNCATED_MIB = 64
SWITCH = ("0a:0b:0c:e2:e0:01", "Ethernet14", "tor-e2e-1")  # chassis MAC, port, system name
JOB_TIMEOUT = 600  # a network boot under TCG: firmware, iPXE and the ramdisk take 1-2 min here; CI may be slower


@pytest.fixture(scope="module")
def ramdisk() -> Path:
    """Built once and cached in ~/.cache/oci-operator (its key: the Debian packages' versions)."""
    if shutil.which("apt-get") is None:
        pytest.fail("apt-get missing: the deploy ramdisk is made of Debian packages")
    return builds.built("build-deploy-ramdisk", timeout=1200)


@pytest.fixture(scope="module")
def os_image() -> tuple[Path, str]:
    """hack/build-os-image's raw image (cached like the ramdisk) and its sha256, checked against the file."""
    return builds.os_image()


@pytest.fixture
def vm_net() -> Iterator[ProvisioningNet]:
    with vm_network("i", 73) as net:
        yield net


@pytest.fixture
def pxe_server(kube: Kube, vm_net: ProvisioningNet, ramdisk: Path, tmp_path: Path) -> Iterator[BootServerProcess]:
    # A short LLDP wait (the default, 35 s, is for real switches' 30 s interval; ours sends every second).
    extra = ("--deploy-ramdisk", str(ramdisk), "--kernel-args", "console=ttyS0,115200n8 oci.lldp_wait=30")
    with vm_boot_server(kube.kubeconfig, vm_net, tmp_path / "bs", *extra) as server:
        yield server


@pytest.fixture
def switch(vm_net: ProvisioningNet) -> Iterator[None]:
    """LLDP frames onto the VM's link (its tap, in the test's namespace) once a second, as a ToR switch."""
    sender = ROOT / "tests/support/lldp.py"
    process = subprocess.Popen(["ip", "netns", "exec", vm_net.netns, sys.executable, str(sender), "tap0", *SWITCH])
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def image_server(vm_net: ProvisioningNet, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain HTTP server on the provisioning network, as a site's image store would be."""
    directory = tmp_path / "images"
    directory.mkdir()
    port = free_port()
    log = (tmp_path / "image-server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", vm_net.server_ip, "--directory", str(directory)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://{vm_net.server_ip}:{port}"
    try:
        wait_for(lambda: process.poll() is not None or http_get(url + "/") is not None, 30, "the image server")
        assert process.poll() is None, (tmp_path / "image-server.log").read_text()
        yield url, directory
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def vm(
    kube: Kube, namespace: str, vm_net: ProvisioningNet, tmp_path: Path
) -> Iterator[tuple[SimControl, SimBMC, Path, Path]]:
    """One BMC of the simulator with a QEMU VM behind it (bmc-sim --vms): power on starts the VM. The test's
    host goes before its BMC does (a host being deleted powers its server off, through that BMC)."""
    if not OVMF.is_file():
        pytest.fail("UEFI firmware missing: hack/setup installs ovmf")
    disk, serial = tmp_path / "disk.img", tmp_path / "serial.log"
    with disk.open("wb") as f:
        f.truncate(DISK_BYTES)
    spec = {"mac": VM_MAC, "disk": str(disk), "serial": str(serial), "netns": vm_net.netns, "tap": "tap0"}
    spec["diskSerial"] = DISK_SERIAL
    vms = tmp_path / "vms.json"
    vms.write_text(json.dumps({"vm-000": spec}))
    with bmc_sim(tmp_path / "sim", 1, "--prefix", "vm", "--vms", str(vms)) as control:
        yield control, control.take(), disk, serial
        kube.custom.delete_collection_namespaced_custom_object(GROUP, VERSION, namespace, "baremetalhosts")

        def gone() -> bool:
            return not kube.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "baremetalhosts")["items"]

        wait_for(gone, 300, "the test's hosts to be deleted")


def wait_showing(
    what: str, check: Callable[[], object], timeout: float, serial: Path, server: BootServerProcess
) -> None:
    """wait_for, and on a timeout the VM's serial console and the boot server's log (what went wrong)."""
    try:
        wait_for(check, timeout, what, interval=2)
    except AssertionError:
        console = serial.read_text(errors="replace")[-4000:] if serial.exists() else "(none)"
        print(f"serial console (tail):\n{console}\nboot server log (tail):\n{server.log()[-3000:]}")
        raise


def head(disk: Path, size: int = 1 << 20) -> bytes:
    with disk.open("rb") as f:
        return f.read(size)


def write_rate(log: str) -> float:
    """MB/s the ramdisk reported for streaming and verifying the image (its verify-image step)."""
    found = re.search(r"verified: ([0-9]+) bytes in ([0-9]+)s", log)
    assert found is not None, "no verify-image report in the boot server's log"
    size, seconds = int(found.group(1)), max(int(found.group(2)), 1)
    return size / seconds / 1e6


def dd_rate(image: Path, target: Path) -> float:
    """The peer: dd of the same image to a file on this machine, flushed."""
    started = time.monotonic()
    subprocess.run(["dd", f"if={image}", f"of={target}", "bs=4M", "conv=fsync", "status=none"], check=True)
    took = time.monotonic() - started
    target.unlink()
    return image.stat().st_size / took / 1e6


DEMO_UNIT = """[Unit]
Description=oci-operator demo service

[Service]
ExecStart=/bin/sh -c 'cat /etc/oci-demo.conf; exec sleep infinity'

[Install]
WantedBy=multi-user.target
"""


def local_repository(directory: Path, packages: tuple[str, ...]) -> None:
    """A flat apt repository of a few .debs (apt-get download), its Packages index written here."""
    subprocess.run(["apt-get", "download", "-q", *packages], cwd=directory, check=True, capture_output=True)
    stanzas = []
    for deb in sorted(directory.glob("*.deb")):
        control = subprocess.run(["dpkg-deb", "-f", str(deb)], check=True, capture_output=True, text=True).stdout
        digest = hashlib.sha256(deb.read_bytes()).hexdigest()
        extra = f"Filename: ./{deb.name}\nSize: {deb.stat().st_size}\nSHA256: {digest}\n"
        stanzas.append(control.rstrip("\n") + "\n" + extra)
    index = directory / "Packages"
    index.write_text("\n".join(stanzas))
    digest = hashlib.sha256(index.read_bytes()).hexdigest()
    (directory / "Release").write_text(
        f"Origin: oci-e2e\nSuite: local\nDate: {formatdate(usegmt=True)}\n"
        f"SHA256:\n {digest} {index.stat().st_size} Packages\n"
    )


def truncated_copy(image: Path, target: Path) -> None:
    """A corrupted download: the image's first TRUNCATED_MIB (a valid GPT and ESP), the rest missing."""
    with image.open("rb") as src, target.open("wb") as dst:
        dst.write(src.read(TRUNCATED_MIB << 20))


CONVERGE_INTERVAL = 15  # the role's convergeIntervalSeconds: the agent's runs after its first, at boot


def demo_role(url: str, revision: int = 1) -> dict[str, object]:
    """A package from the site's mirror (the VM reaches nothing else), a templated file, a unit enabled and
    running, restarted when its file changes; the agent runs again every CONVERGE_INTERVAL seconds."""
    return {
        "apiVersion": "oci.openstack.org/v1alpha1",
        "kind": "NodeRole",
        "metadata": {"name": "demo"},
        "spec": {
            "convergeIntervalSeconds": CONVERGE_INTERVAL,
            "resources": [
                {"type": "file", "name": "apt-sources", "path": "/etc/apt/sources.list",
                 "template": f"deb [trusted=yes] {url}/repo ./\n"},
                {"type": "package", "name": "hello"},
                {"type": "file", "name": "demo-conf", "path": "/etc/oci-demo.conf",
                 "template": f"host={{{{ host.name }}}}\nrole={{{{ role.name }}}}\nrevision={revision}\n"},
                {"type": "file", "name": "demo-unit", "path": "/etc/systemd/system/oci-demo.service",
                 "template": DEMO_UNIT},
                {"type": "service", "name": "oci-demo", "enabled": True, "running": True, "restartOn": ["demo-conf"]},
            ]
        },
    }  # fmt: skip


@pytest.mark.timeout(4800)  # five boots of a VM under TCG (four from the network, one from its disk)
def test_one_vm_is_inspected_installed_from_an_image_boots_its_disk_converges_and_is_wiped(
    kube: Kube,
    namespace: str,
    operator: OperatorProcess,
    pxe_server: BootServerProcess,
    image_server: tuple[str, Path],
    os_image: tuple[Path, str],
    vm: tuple[SimControl, SimBMC, Path, Path],
    switch: None,
    tmp_path: Path,
) -> None:
    sim, bmc, disk, serial = vm
    url, images = image_server
    built, checksum = os_image
    (images / "debian12.raw").symlink_to(built)
    truncated_copy(built, images / "truncated.raw")
    repo = images / "repo"
    repo.mkdir()
    local_repository(repo, ("hello",))
    kube.create(namespace, demo_role(url))

    def wait(what: str, check: Callable[[], object], timeout: float = JOB_TIMEOUT) -> None:
        wait_showing(what, check, timeout, serial, pxe_server)

    # Inspection: the VM powers on through the BMC, PXE-boots our ramdisk, which reports its hardware.
    started = time.monotonic()
    create_booting_host(kube, namespace, "vm", bmc, VM_MAC, bootMode="UEFI")
    wait("the VM's inspection report", lambda: status(kube, namespace, "vm").get("hardware") is not None)
    inspected = time.monotonic() - started
    assert "vm_started" in sim.log(bmc)
    hardware = status(kube, namespace, "vm")["hardware"]
    assert [(d["name"], d["sizeBytes"], d["serialNumber"]) for d in hardware["disks"]] == [
        ("/dev/vda", DISK_BYTES, DISK_SERIAL)
    ]
    assert hardware["cpu"]["count"] == 2
    assert 900 <= hardware["ramMebibytes"] <= 1024
    nic = next(n for n in hardware["nics"] if n["mac"] == VM_MAC)
    chassis, port, name = SWITCH
    assert nic["lldp"] == {"chassisId": chassis, "portId": port, "systemName": name, "switch": name, "port": port}
    assert hardware["systemVendor"]["manufacturer"] == "QEMU"
    wait("the host to be available", lambda: state(kube, namespace, "vm") == "available", 120)
    log = pxe_server.log()
    for step in ("ipxe.efi", "GET /v1/ramdisk/vmlinuz", "GET /v1/ramdisk/initrd.img", "GET /v1/hosts/"):
        assert step in log, step
    assert "/v1/images/linux" not in log  # never the Debian installer

    # A corrupted image (a truncated download: its sha256 is not the one given): provisioning error naming
    # the step, and the disk keeps no partition table although a valid GPT was written (nothing half-written
    # boots).
    hints = {"serialNumber": DISK_SERIAL}  # below 4 GB: metal3's default hint would refuse it
    image = {"url": f"{url}/truncated.raw", "checksum": checksum}
    kube.patch_spec(namespace, "BareMetalHost", "vm", {"role": "demo", "image": image, "rootDeviceHints": hints})

    def failed() -> bool:
        return bool(status(kube, namespace, "vm").get("errorType") == "provisioning error")

    wait("the checksum mismatch", failed)
    message = status(kube, namespace, "vm")["errorMessage"]
    assert "provisioning error at step verify-image: checksum mismatch" in message, message
    assert head(disk, 8 << 20) == bytes(8 << 20)

    # The whole image, and the host online: the retried job writes it, verifies it and configures the node;
    # the ramdisk powers off, the operator powers the host on from its disk.
    image = {"url": f"{url}/debian12.raw", "checksum": checksum}
    kube.patch_spec(namespace, "BareMetalHost", "vm", {"image": image, "online": True})
    begun = time.monotonic()
    wait("the host to be provisioned", lambda: state(kube, namespace, "vm") == "provisioned", JOB_TIMEOUT + 300)
    provisioned = time.monotonic() - begun
    assert head(disk, 1024)[512:520] == b"EFI PART"
    ramdisk_mbps = write_rate(pxe_server.log())
    dd_mbps = dd_rate(built, tmp_path / "dd-peer.raw")

    # The disk boots: systemd, udev and networkd, the host's name the ramdisk wrote, the agent's timer; the
    # agent fetches the role, installs the package from the local repository and starts the unit.
    begun = time.monotonic()
    wait("the login prompt of the host named vm", lambda: "vm login:" in serial.read_text(errors="replace"))
    booted = time.monotonic() - begun
    assert ("vm_started", "disk first") in [(c, d.rsplit(", ", 1)[-1]) for c, d in sim.entries(bmc)]

    reports: list[dict[str, Any]] = []

    def reported(word: str) -> Callable[[], bool]:
        """The agent's latest report says oci-demo was `word` (kept: the next run, seconds later, reports
        nothing changed)."""

        def check() -> bool:
            found = status(kube, namespace, "vm").get("convergence") or {}
            service = [r for r in found.get("resources", []) if r["name"] == "oci-demo"]
            if service and word in service[0]["message"]:
                reports.append(found)
            return bool(service) and word in service[0]["message"]

        return check

    wait("the agent's report of oci-demo started by systemd", reported("started"), JOB_TIMEOUT)
    wait("Converged=True", lambda: (converged(kube, namespace, "vm") or ("",))[0] == "True", JOB_TIMEOUT)
    converged_in = time.monotonic() - begun
    report = reports[-1]
    assert report["failed"] == 0, report
    names = {r["name"] for r in report["resources"]}
    assert names >= {"hello", "demo-conf", "oci-demo", "oci-agent.timer"}, report
    assert report["appliedHash"] == status(kube, namespace, "vm")["desiredState"]["hash"]
    assert status(kube, namespace, "vm").get("poweredOn") is True
    # The image carried a root partition the size of its content; at first boot it took the rest of the disk.
    layout = subprocess.run(["sfdisk", "-J", str(disk)], check=True, capture_output=True, text=True).stdout
    partitions = json.loads(layout)["partitiontable"]["partitions"]
    root_partition = next(p for p in partitions if p.get("name") == "oci-root")
    assert root_partition["size"] * 512 > DISK_BYTES - (72 << 20), partitions

    # restartOn: the role's file changes; the agent's next timer run (every CONVERGE_INTERVAL s, as the role
    # set it) rewrites it and restarts the unit because of it, and the host converges to the new state.
    before = status(kube, namespace, "vm")["desiredState"]["hash"]
    kube.patch_spec(namespace, "NodeRole", "demo", demo_role(url, revision=2)["spec"])  # type: ignore[arg-type]
    changed = time.monotonic()
    wait("the agent's report of oci-demo restarted", reported("restarted (demo-conf changed)"), 300)
    report = reports[-1]
    assert report["appliedHash"] != before, report
    assert report["failed"] == 0, report
    assert report["drifted"] == 0, report  # a restart its file caused is no drift
    wait("Converged=True for the changed role", lambda: (converged(kube, namespace, "vm") or ("",))[0] == "True")
    restarted = time.monotonic() - changed

    # The role removed: the ramdisk wipes the disk, the host is powered off and available again.
    kills = sim.count(bmc, "vm_killed")
    begun = time.monotonic()
    kube.patch_spec(namespace, "BareMetalHost", "vm", {"role": None, "image": None, "online": False})
    wait("the host to be available again", lambda: state(kube, namespace, "vm") == "available", JOB_TIMEOUT)
    assert head(disk, 8 << 20) == bytes(8 << 20)
    wait("the VM to be off", lambda: status(kube, namespace, "vm").get("poweredOn") is False, 120)
    assert sim.state(bmc)["poweredOn"] is False
    assert sim.count(bmc, "vm_killed") > kills
    wiped = time.monotonic() - begun
    print(
        f"\none VM's life (UEFI, TCG): inspected in {inspected:.0f}s, image job to provisioned in {provisioned:.0f}s,"
        f" disk boot to login {booted:.0f}s and to Converged=True {converged_in:.0f}s, (PXE to Converged"
        f" {inspected + provisioned + converged_in:.0f}s, the test's own steps excluded), role change to restart"
        f" {restarted:.0f}s, wiped and off in {wiped:.0f}s;"
        f" {time.monotonic() - started:.0f}s in all"
    )
    # Noisy: the machine is shared, and the VM runs under TCG (every guest instruction emulated).
    print(
        f"deploy throughput ({built.stat().st_size / 1e6:.0f} MB image): ramdisk {ramdisk_mbps:.1f} MB/s (HTTP,"
        f" sha256 in the same pass, under TCG) vs dd of the same image here {dd_mbps:.1f} MB/s (conv=fsync):"
        f" ratio {ramdisk_mbps / dd_mbps:.3f}"
    )
