"""A real QEMU virtual machine behind a virtual BMC (what virtualbmc does for libvirt): power on starts the
QEMU process, power off kills it (a pulled plug), a cycle or reset restarts it, and the boot device the
BMC was told decides which of the NIC and the disk the firmware tries first. A guest that powers itself
off ends the process, and the BMC then reads off, as a real one would.

`oci-operator bmc-sim --vms FILE` puts one behind the BMCs named in FILE (JSON, by BMC name):
{"node-000": {"mac": "52:54:00:12:34:56", "disk": "/var/lib/vm/node-000.img", "netns": "oci-lab",
 "tap": "tap0", "serial": "/var/log/vm/node-000.log", "memoryMiB": 1024, "cpus": 2,
 "firmware": "/usr/share/ovmf/OVMF.fd", "accel": "tcg"}}
Under TCG (no usable KVM) a boot is slow but complete; give the guest a generous time to come up.
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fleet import VirtualBMC

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VMSpec:
    mac: str
    disk: Path
    serial: Path
    netns: str = ""  # run QEMU inside this network namespace (its tap lives there)
    tap: str = "tap0"
    memory_mib: int = 1024
    cpus: int = 2
    firmware: Path = Path("/usr/share/ovmf/OVMF.fd")
    accel: str = "tcg"
    disk_serial: str = ""  # what the guest reads as the disk's serial number

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VMSpec:
        return cls(
            mac=str(data["mac"]).lower(),
            disk=Path(data["disk"]),
            serial=Path(data["serial"]),
            netns=str(data.get("netns", "")),
            tap=str(data.get("tap", "tap0")),
            memory_mib=int(data.get("memoryMiB", 1024)),
            cpus=int(data.get("cpus", 2)),
            firmware=Path(data.get("firmware", "/usr/share/ovmf/OVMF.fd")),
            accel=str(data.get("accel", "tcg")),
            disk_serial=str(data.get("diskSerial", "")),
        )

    def command(self, network_first: bool) -> list[str]:
        # bootindex is the firmware's boot order (OVMF reads it from fw_cfg at every start and reset).
        net_index, disk_index = (1, 2) if network_first else (2, 1)
        serial = f",serial={self.disk_serial}" if self.disk_serial else ""
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        return [
            *prefix, "qemu-system-x86_64",
            "-accel", self.accel, "-m", str(self.memory_mib), "-smp", str(self.cpus),
            "-nographic", "-monitor", "none", "-bios", str(self.firmware),
            "-chardev", f"file,id=console,path={self.serial},append=on", "-serial", "chardev:console",
            "-netdev", f"tap,id=n0,ifname={self.tap},script=no,downscript=no",
            # No option ROM: the firmware's own PXE client fetches the boot loader over TFTP, as on metal.
            "-device", f"virtio-net-pci,netdev=n0,mac={self.mac},romfile=,bootindex={net_index}",
            "-drive", f"id=d0,file={self.disk},format=raw,if=none,cache=unsafe",
            "-device", f"virtio-blk-pci,drive=d0,bootindex={disk_index}{serial}",
        ]  # fmt: skip


def load_specs(path: Path) -> dict[str, VMSpec]:
    data = json.loads(path.read_text())
    return {str(name): VMSpec.from_json(spec) for name, spec in data.items()}


@dataclass
class VMNode:
    """The BMC's `node`: told every power transition, it starts, stops or restarts the QEMU process."""

    bmc: VirtualBMC
    spec: VMSpec
    running: str = "off"  # off, on (the guest's own state is on its serial console)
    os_installed: bool | None = None  # unknown: the disk holds whatever was written to it
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def power_changed(self, on: bool) -> None:
        with self._lock:
            self._kill()
            if on:
                self._start()

    def stop(self) -> None:
        with self._lock:
            self._kill()

    def _start(self) -> None:
        device = self.bmc.take_boot_device()
        network_first = device != "hd"
        self.spec.serial.parent.mkdir(parents=True, exist_ok=True)
        stderr = self.spec.serial.with_suffix(".qemu.log").open("ab")
        process = subprocess.Popen(self.spec.command(network_first), stdout=subprocess.DEVNULL, stderr=stderr)
        stderr.close()
        self._process = process
        self.running = "on"
        self.bmc.record("vm_started", f"pid {process.pid}, {'network' if network_first else 'disk'} first")
        threading.Thread(target=self._watch, args=(process,), name=f"vm-{self.bmc.name}", daemon=True).start()

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.kill()  # a pulled plug: no shutdown, as a hard power off is
        process.wait(timeout=30)
        self.running = "off"
        self.bmc.record("vm_killed", f"pid {process.pid}")

    def _watch(self, process: subprocess.Popen[bytes]) -> None:
        """The guest powered itself off (or QEMU died): the BMC reads off from now on."""
        status = process.wait()
        with self._lock:
            if self._process is not process:
                return  # killed by a power command, which already said so
            self._process = None
            self.running = "off"
            self.bmc.powered_on = False
        self.bmc.record("vm_exited", f"status {status}")
        _log.info("VM behind %s exited with status %s", self.bmc.name, status)
