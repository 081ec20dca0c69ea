"""Deploy throughput: MB/s the deploy ramdisk writes (and verifies) against `dd` of the same image here.

The ramdisk boots straight from its kernel and initramfs in QEMU (TCG, virtio disk and NIC, as the e2e
test's VM; no firmware or iPXE: they are not what is measured) in a network namespace, gets its address
from dnsmasq and its job from a small HTTP server standing in for the boot server: the same routes the
ramdisk calls (job, oci-report.sh, reports, agent credential) and the image. The figure is the ramdisk's
own `verify-image` report (bytes over seconds from the first byte to the verified sum); the peer is `dd`
of the same image to a file on this machine with conv=fsync, measured in the same run. Noisy on a
shared machine, and under TCG every guest instruction (sha256 included) is emulated."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from support.images import built, os_image  # noqa: E402
from support.pxe_vm import vm_network  # noqa: E402
from support.waiting import wait_for  # noqa: E402

MAC = "52:54:00:be:0d:01"
REPORT_SCRIPT = ROOT / "operator/oci_operator/bootserver/files/oci-report.sh"


class StandIn(ThreadingHTTPServer):
    """What the ramdisk asks the boot server for, and the image store."""

    def __init__(self, address: str, image: Path, checksum: str) -> None:
        super().__init__((address, 0), Handler)
        self.address, self.image, self.checksum = address, image, checksum
        self.reports: list[str] = []

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.server_address[1]}"

    def job(self) -> bytes:
        lines = {"OCI_HOST": "bench", "OCI_MODE": "install", "OCI_TOKEN": "job", "OCI_ROOT_DEVICE": "/dev/vda",
                 "OCI_DISKS": "/dev/vda", "OCI_IMAGE_URL": f"{self.url}/image.raw", "OCI_IMAGE_SHA256": self.checksum,
                 "OCI_IMAGE_FORMAT": "raw"}  # fmt: skip
        return "".join(f"{k}='{v}'\n" for k, v in lines.items()).encode()


class Handler(BaseHTTPRequestHandler):
    server: StandIn

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, body: bytes, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/image.raw":
            size = self.server.image.stat().st_size
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            with self.server.image.open("rb") as f:
                while chunk := f.read(1 << 20):
                    self.wfile.write(chunk)
        elif self.path.endswith("/job"):
            self._send(self.server.job())
        elif self.path == "/v1/scripts/oci-report.sh":
            self._send(REPORT_SCRIPT.read_bytes())
        elif self.path.endswith("/agent-credential"):
            self._send(b"{}")
        else:
            self._send(b"not found\n", 404)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode(errors="replace")
        self.server.reports.append(body)
        self._send(b"{}")


def ramdisk_rate(image: Path, checksum: str, ramdisk: Path, work: Path) -> tuple[float, float]:
    """MB/s the ramdisk reported for write + verify, and the seconds from power-on to its power-off."""
    with vm_network("d", 74) as net:
        server = StandIn(net.server_ip, image, checksum)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        dnsmasq = subprocess.Popen(
            ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0", "--bind-interfaces",
             f"--interface={net.host_if}", f"--dhcp-range={net.prefix}.100,{net.prefix}.150,1h",
             f"--dhcp-leasefile={work / 'leases'}", "--pid-file=", "--user=root", "--log-facility=-"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        disk, serial = work / "disk.img", work / "serial.log"
        with disk.open("wb") as f:
            f.truncate(2 << 30)
        kernel_line = f"oci.server={net.server_ip}:{server.server_address[1]} oci.mac={MAC.replace(':', '-')}"
        qemu = subprocess.Popen(
            ["ip", "netns", "exec", net.netns, "qemu-system-x86_64", "-accel", "tcg", "-m", "1024", "-smp", "2",
             "-nographic", "-monitor", "none", "-serial", f"file:{serial}", "-no-reboot",
             "-kernel", str(ramdisk / "vmlinuz"), "-initrd", str(ramdisk / "initrd.img"),
             "-append", f"{kernel_line} oci.token=bench console=ttyS0,115200n8",
             "-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
             "-device", f"virtio-net-pci,netdev=n0,mac={MAC},romfile=",
             "-drive", f"id=d0,file={disk},format=raw,if=none,cache=unsafe", "-device", "virtio-blk-pci,drive=d0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        started = time.monotonic()
        try:
            wait_for(lambda: qemu.poll() is not None, 1800, "the ramdisk to write the image and power off", interval=2)
        finally:
            for process in (qemu, dnsmasq):
                process.terminate()
                process.wait(timeout=30)
            server.shutdown()
        took = time.monotonic() - started
    verified = [r for r in server.reports if "verified:" in r]
    if not verified:
        raise SystemExit(f"no verify-image report: {server.reports}\n{serial.read_text(errors='replace')[-2000:]}")
    found = re.search(r"verified: ([0-9]+) bytes in ([0-9]+)s", verified[0])
    assert found is not None
    with disk.open("rb") as f:
        assert f.read(1024)[512:520] == b"EFI PART", "the disk holds no GPT after the install"
    disk.unlink()
    return int(found.group(1)) / max(int(found.group(2)), 1) / 1e6, took


def dd_rate(image: Path, work: Path) -> float:
    target = work / "dd-peer.raw"
    started = time.monotonic()
    subprocess.run(["dd", f"if={image}", f"of={target}", "bs=4M", "conv=fsync", "status=none"], check=True)
    took = time.monotonic() - started
    target.unlink()
    return image.stat().st_size / took / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    ramdisk, (image, checksum) = built("build-deploy-ramdisk"), os_image()
    size = image.stat().st_size / 1e6
    with tempfile.TemporaryDirectory(prefix="deploy-bench.") as tmp:
        for run in range(1, args.runs + 1):
            rate, took = ramdisk_rate(image, checksum, ramdisk, Path(tmp))
            peer = dd_rate(image, Path(tmp))
            print(f"run {run}: {size:.0f} MB image: ramdisk {rate:.1f} MB/s (HTTP, sha256 in the same pass, TCG;"
                  f" power-on to power-off {took:.0f}s) vs dd here {peer:.1f} MB/s (conv=fsync): ratio"
                  f" {rate / peer:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
