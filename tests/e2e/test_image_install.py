"""A real VM's life through our own deploy ramdisk, powered through the simulated BMC driving QEMU:
UEFI firmware → dnsmasq DHCP + TFTP (ipxe.efi) → iPXE → the deploy ramdisk (hack/build-deploy-ramdisk)
→ inspection (status.hardware shows the virtio disk) → an image streamed onto that disk and verified
(a corrupted one fails with `provisioning error` naming the step, and leaves no partition table) →
the role removed: wiped, powered off, available.

QEMU runs under TCG (this machine's KVM cannot run guests, see ../shared/docs/pxe-lab.md) in a network
namespace whose only way out is the veth the boot server's dnsmasq serves. The image is small and made
here (GPT, one ext4 partition labelled oci-root); hack/build-os-image's bootable Debian is not used yet."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path

import pytest

from oci_operator.api.v1alpha1 import GROUP, VERSION
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
IMAGE_MIB = 64
JOB_TIMEOUT = 600  # a network boot under TCG: firmware, iPXE and the ramdisk take 1-2 min here; CI may be slower


@pytest.fixture(scope="module")
def ramdisk() -> Path:
    """Built once and cached in ~/.cache/oci-operator (its key: the Debian packages' versions)."""
    if shutil.which("apt-get") is None:
        pytest.fail("apt-get missing: the deploy ramdisk is made of Debian packages")
    out = subprocess.run(
        [str(ROOT / "hack/build-deploy-ramdisk")], check=True, capture_output=True, text=True, timeout=1200
    ).stdout
    return Path(out.strip().splitlines()[-1])


@pytest.fixture
def vm_net() -> Iterator[ProvisioningNet]:
    with vm_network("i", 73) as net:
        yield net


@pytest.fixture
def pxe_server(kube: Kube, vm_net: ProvisioningNet, ramdisk: Path, tmp_path: Path) -> Iterator[BootServerProcess]:
    with vm_boot_server(kube.kubeconfig, vm_net, tmp_path / "bs", "--deploy-ramdisk", str(ramdisk)) as server:
        yield server


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


def make_image(path: Path, workdir: Path) -> str:
    """A small raw disk image: GPT with one ext4 partition labelled oci-root; returns its sha256."""
    for tool in ("sfdisk", "mkfs.ext4"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} missing: hack/setup installs fdisk and e2fsprogs")
    tree = workdir / "image-root"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/os-release").write_text('PRETTY_NAME="oci-operator test image"\n')
    with path.open("wb") as f:
        f.truncate(IMAGE_MIB << 20)
    layout = "label: gpt\nstart=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=oci-root\n"
    subprocess.run(["sfdisk", "-q", str(path)], input=layout, text=True, check=True, capture_output=True)
    part = workdir / "root.ext4"
    size = (IMAGE_MIB - 2) << 20
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-L", "oci-root", "-d", str(tree), str(part), f"{size // 1024}k"],
        check=True,
        capture_output=True,
    )
    with path.open("r+b") as image, part.open("rb") as fs:
        image.seek(1 << 20)
        shutil.copyfileobj(fs, image, 1 << 20)
    part.unlink()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_from_root(disk: Path, name: str, workdir: Path) -> str:
    """A file of the ext4 partition that starts at 1 MiB (the image's layout), read with debugfs."""
    part = workdir / "written-root.ext4"
    with disk.open("rb") as src, part.open("wb") as dst:
        src.seek(1 << 20)
        dst.write(src.read((IMAGE_MIB - 2) << 20))
    return subprocess.run(["debugfs", "-R", f"cat {name}", str(part)], capture_output=True, text=True).stdout


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


@pytest.mark.timeout(2400)  # building the image (minutes under load) and a boot under TCG
def test_the_os_image_boots_to_systemd_from_its_disk(tmp_path: Path) -> None:
    """hack/build-os-image's output, on a virtio disk, boots under UEFI: systemd-boot → the kernel and our
    initramfs (oci.root=) → systemd → multi-user, with the agent's timer. No network here: the point is
    the image's own boot chain."""
    built = (
        subprocess.run([str(ROOT / "hack/build-os-image")], check=True, capture_output=True, text=True, timeout=1800)
        .stdout.strip()
        .splitlines()[-1]
    )
    image = Path(built)
    assert Path(f"{image}.sha256").read_text().split()[0] == hashlib.sha256(image.read_bytes()).hexdigest()
    disk = tmp_path / "disk.raw"
    subprocess.run(["cp", "--sparse=always", str(image), str(disk)], check=True)
    serial = tmp_path / "serial.log"
    qemu = subprocess.Popen(
        [
            "qemu-system-x86_64", "-accel", "tcg", "-m", "1024", "-smp", "2", "-nographic", "-monitor", "none",
            "-bios", str(OVMF), "-serial", f"file:{serial}", "-nic", "none",
            "-drive", f"id=d0,file={disk},format=raw,if=none", "-device", "virtio-blk-pci,drive=d0,bootindex=1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:

        def reached() -> bool:
            assert qemu.poll() is None, f"QEMU exited: {qemu.stderr.read().decode() if qemu.stderr else ''}"
            text = serial.read_text(errors="replace") if serial.exists() else ""
            assert "Kernel panic" not in text, text[-3000:]
            return "Reached target" in text and "Multi-User System" in text

        started = time.monotonic()
        try:
            wait_for(reached, 600, "systemd to reach multi-user", interval=2)
        except AssertionError:
            print(serial.read_text(errors="replace")[-3000:] if serial.exists() else "(no console)")
            raise
        print(f"\nOS image: power-on to multi-user in {time.monotonic() - started:.0f}s (TCG)")
        text = serial.read_text(errors="replace")
        assert "oci-agent.timer" in text or "Run the oci-operator node agent regularly" in text
    finally:
        qemu.kill()
        qemu.wait()


@pytest.mark.timeout(3000)  # four network boots of a VM under TCG
def test_a_vm_is_inspected_installed_from_an_image_and_wiped_through_the_deploy_ramdisk(
    kube: Kube,
    namespace: str,
    operator: OperatorProcess,
    pxe_server: BootServerProcess,
    image_server: tuple[str, Path],
    vm: tuple[SimControl, SimBMC, Path, Path],
    tmp_path: Path,
) -> None:
    sim, bmc, disk, serial = vm
    url, images = image_server
    checksum = make_image(images / "node.raw", tmp_path)

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
    assert VM_MAC in [n["mac"] for n in hardware["nics"]]
    assert hardware["systemVendor"]["manufacturer"] == "QEMU"
    wait("the host to be available", lambda: state(kube, namespace, "vm") == "available", 120)
    log = pxe_server.log()
    for step in ("ipxe.efi", "GET /v1/ramdisk/vmlinuz", "GET /v1/ramdisk/initrd.img", "GET /v1/hosts/"):
        assert step in log, step
    assert "/v1/images/linux" not in log  # never the Debian installer

    # A corrupted image (its checksum is not the one given): provisioning error naming the step, and the
    # disk keeps no partition table (nothing half-written boots).
    wrong = hashlib.sha256(b"not the image").hexdigest()
    image = {"url": f"{url}/node.raw", "checksum": wrong}
    hints = {"serialNumber": DISK_SERIAL}  # below 4 GB: metal3's default hint would refuse it
    kube.patch_spec(namespace, "BareMetalHost", "vm", {"role": "compute", "image": image, "rootDeviceHints": hints})

    def failed() -> bool:
        return bool(status(kube, namespace, "vm").get("errorType") == "provisioning error")

    wait("the checksum mismatch", failed)
    message = status(kube, namespace, "vm")["errorMessage"]
    assert "provisioning error at step verify-image: checksum mismatch" in message, message
    assert head(disk, 8 << 20) == bytes(8 << 20)

    # The right checksum: the retried job writes the image, verifies it and configures the node.
    kube.patch_spec(namespace, "BareMetalHost", "vm", {"image": {"url": f"{url}/node.raw", "checksum": checksum}})
    begun = time.monotonic()
    wait("the host to be provisioned", lambda: state(kube, namespace, "vm") == "provisioned", JOB_TIMEOUT + 300)
    provisioned = time.monotonic() - begun
    assert head(disk, 1024)[512:520] == b"EFI PART"
    assert "oci-operator test image" in read_from_root(disk, "/etc/os-release", tmp_path)
    agent = json.loads(read_from_root(disk, "/etc/oci-operator/agent.json", tmp_path))
    assert (agent["host"], agent["mac"]) == ("vm", VM_MAC.replace(":", "-"))
    assert json.loads(read_from_root(disk, "/etc/oci-operator/credential.json", tmp_path))["token"]
    assert read_from_root(disk, "/etc/hostname", tmp_path).strip() == "vm"
    ramdisk_mbps = write_rate(pxe_server.log())
    dd_mbps = dd_rate(images / "node.raw", tmp_path / "dd-peer.raw")

    # The role removed: the ramdisk wipes the disk, the host is powered off and available again.
    kube.patch_spec(namespace, "BareMetalHost", "vm", {"role": None, "image": None})
    wait("the host to be available again", lambda: state(kube, namespace, "vm") == "available", JOB_TIMEOUT)
    assert head(disk, 8 << 20) == bytes(8 << 20)
    wait("the VM to be off", lambda: status(kube, namespace, "vm").get("poweredOn") is False, 120)
    assert sim.state(bmc)["poweredOn"] is False
    assert "vm_killed" in sim.log(bmc)
    print(
        f"\ndeploy ramdisk VM (UEFI, TCG): inspected in {inspected:.0f}s,"
        f" image job to provisioned in {provisioned:.0f}s"
    )
    # Noisy: the machine is shared, and the VM runs under TCG (every guest instruction emulated).
    print(
        f"deploy throughput: ramdisk {ramdisk_mbps:.1f} MB/s (HTTP, sha256 in the same pass, under TCG) vs dd of the"
        f" same image here {dd_mbps:.1f} MB/s (conv=fsync): ratio {ramdisk_mbps / dd_mbps:.3f}"
    )


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


@pytest.mark.skipif(
    os.environ.get("OCI_E2E_IMAGE_LIFE") != "1",
    reason="opt-in (OCI_E2E_IMAGE_LIFE=1): the disk-booted image gets no network yet (no udev in the minbase root)",
)
@pytest.mark.timeout(3600)  # network boots and a disk boot of a VM under TCG
def test_an_image_installed_vm_boots_its_disk_and_its_agent_converges_the_role(
    kube: Kube,
    namespace: str,
    operator: OperatorProcess,
    pxe_server: BootServerProcess,
    image_server: tuple[str, Path],
    vm: tuple[SimControl, SimBMC, Path, Path],
    tmp_path: Path,
) -> None:
    """PXE → ramdisk → inspection → hack/build-os-image's image written and verified → the ramdisk reboots
    → the disk boots (systemd) → the agent's timer → a package from a local apt repository, a templated
    file, a unit enabled and running → Converged=True."""
    _, bmc, _, serial = vm
    url, images = image_server
    built = Path(
        subprocess.run([str(ROOT / "hack/build-os-image")], check=True, capture_output=True, text=True, timeout=1800)
        .stdout.strip()
        .splitlines()[-1]
    )
    (images / "debian12.raw").symlink_to(built)
    checksum = Path(f"{built}.sha256").read_text().split()[0]
    repo = images / "repo"
    repo.mkdir()
    local_repository(repo, ("hello",))
    kube.create(
        namespace,
        {
            "apiVersion": "oci.openstack.org/v1alpha1",
            "kind": "NodeRole",
            "metadata": {"name": "demo"},
            "spec": {
                "resources": [
                    # The site's mirror: the VM reaches nothing else.
                    {"type": "file", "name": "apt-sources", "path": "/etc/apt/sources.list",
                     "template": f"deb [trusted=yes] {url}/repo ./\n"},
                    {"type": "package", "name": "hello"},
                    {"type": "file", "name": "demo-conf", "path": "/etc/oci-demo.conf",
                     "template": "host={{ host.name }}\nrole={{ role.name }}\n"},
                    {"type": "file", "name": "demo-unit", "path": "/etc/systemd/system/oci-demo.service",
                     "template": DEMO_UNIT},
                    {"type": "service", "name": "oci-demo", "enabled": True, "running": True,
                     "restartOn": ["demo-conf"]},
                ]
            },
        },
    )  # fmt: skip

    def wait(what: str, check: Callable[[], object], timeout: float = JOB_TIMEOUT) -> None:
        wait_showing(what, check, timeout, serial, pxe_server)

    started = time.monotonic()
    hints = {"serialNumber": DISK_SERIAL}
    image = {"url": f"{url}/debian12.raw", "checksum": checksum}
    create_booting_host(
        kube,
        namespace,
        "vm",
        bmc,
        VM_MAC,
        online=True,
        bootMode="UEFI",
        role="demo",
        image=image,
        rootDeviceHints=hints,
    )
    wait("the host to be provisioned", lambda: state(kube, namespace, "vm") == "provisioned", 4 * JOB_TIMEOUT)
    provisioned = time.monotonic() - started

    def unit_started() -> bool:
        found = status(kube, namespace, "vm").get("convergence") or {}
        service = [r for r in found.get("resources", []) if r["name"] == "oci-demo"]
        return bool(service) and "started" in service[0]["message"]

    wait("the agent's report of oci-demo started by systemd", unit_started, JOB_TIMEOUT + 600)
    wait(
        "Converged=True",
        lambda: (converged(kube, namespace, "vm") or ("",))[0] == "True",
        JOB_TIMEOUT + 600,
    )
    total = time.monotonic() - started
    assert "Multi-User System" in serial.read_text(errors="replace")
    report = status(kube, namespace, "vm")["convergence"]
    assert report["failed"] == 0, report
    print(f"\nimage install, one VM's life (TCG): provisioned in {provisioned:.0f}s, Converged=True in {total:.0f}s")
