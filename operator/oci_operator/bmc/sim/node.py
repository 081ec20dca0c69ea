"""A simulated server behind a virtual BMC: when powered on it boots like real firmware would.

Firmware order is network first, then disk, unless the BMC was told a boot device. A network boot
follows the real chain over HTTP: /boot.ipxe, the host's iPXE script, the kernel and initrd, the
preseed (with the token from the script's kernel line, sent as HTTP Basic auth like the installer's
wget does), then it makes the calls the preseed's early/late commands would make (the same POSTs as
oci-report.sh, and the wget of the agent's credential). An installation leaves "Debian" on the disk,
and the installer reboots. Debian booted from disk runs the stand-in node agent (standin.py).
A boot script for the boot server's own deploy ramdisk (oci.token= on its kernel line) is followed as
hack/deploy-ramdisk/init does: the job fetched with that token, then inspect, wipe, or an image
downloaded and its sha256 checked (a mismatch is reported as the ramdisk reports it), the agent's
credential fetched, and the server powered off.

Failures are met as the real parts meet them, so a boot server shedding load (503) under a boot storm
delays nodes rather than stranding them: a failed step of the host's script is chained again after
10 s (boot.ipxe's `|| goto retry`), the ramdisk tries its job 10 times 3 s apart, and a report is
sent up to 5 times 5 s apart (oci-report.sh).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .hardware import HardwareProfile, disk_name, nic_mac
from .standin import AgentKnobs, StandInAgent

if TYPE_CHECKING:
    from collections.abc import Callable

    from .fleet import VirtualBMC

CHAIN_RETRY_SECONDS = 10.0  # render/templates/boot.ipxe.j2
JOB_TRIES, JOB_PAUSE = 10, 3.0  # hack/deploy-ramdisk/init
REPORT_TRIES, REPORT_PAUSE = 5, 5.0  # bootserver/files/oci-report.sh

# The report helper's arguments: SERVER MAC TOKEN EVENT (the job token, which only the preseed shows).
_REPORT = re.compile(r"\bsh /tmp/oci-report\.sh \S+ \S+ (\S+) (\w+)")
_CREDENTIAL = re.compile(
    r"-O /target/etc/oci-operator/credential\.json http://[^@\s]+@\S+/(v1/hosts/\S+/agent-credential)"
)


def hardware_for(index: int, mac: str, profile: HardwareProfile | None = None) -> dict[str, Any]:
    """What inspection reports (status.hardware's shape): by default a small SSD and a big disk, two NICs
    (the first boots); a profile sets product, RAM, CPUs, disks and NICs (hardware.py)."""
    profile = profile or HardwareProfile()
    disks = [group for group in profile.disks for _ in range(group.count)]
    kinds = ["HDD" if disk.rotational else "SSD" for disk in disks]
    # Serial numbers unique per host: the first disk of a kind keeps the plain one, others count on.
    serials = [f"{kind}{index:05d}" + (f"-{kinds[:n].count(kind)}" if kind in kinds[:n] else "")
               for n, kind in enumerate(kinds)]  # fmt: skip
    return {
        "systemVendor": {"manufacturer": profile.manufacturer, "product": profile.product,
                         "serialNumber": f"SIM{index:05d}"},
        "cpu": {"arch": "x86_64", "model": "Simulated CPU @ 2.0GHz", "count": profile.cpus},
        "ramMebibytes": profile.ram_gib * 1024,
        "disks": [
            {"name": disk_name(n), "sizeBytes": disk.size_gb * 10**9,
             "model": disk.model or ("SIM-HDD" if disk.rotational else "SIM-SSD"), "rotational": disk.rotational,
             "serialNumber": serials[n]}
            for n, disk in enumerate(disks)
        ],
        "nics": [
            {"name": f"eno{n + 1}", "mac": nic_mac(mac, n), "speedMbps": profile.nics.speed_mbps}
            | ({"lldp": {"switch": "sim-tor-1", "port": f"Ethernet{index}"}} if n == 0 else {})
            for n in range(profile.nics.count)
        ],
    }  # fmt: skip


@dataclass
class SimulatedNode:
    bmc: VirtualBMC
    mac: str
    boot_url: str  # what DHCP would hand out: http://server/boot.ipxe
    hardware: dict[str, Any]
    install_seconds: float = 0.5
    os_installed: bool = False
    running: str = "off"  # off, firmware, installer, idle, os
    agent_knobs: AgentKnobs = field(default_factory=AgentKnobs)
    index: int = 0  # its number in the fleet: serial numbers, switch port
    agent: StandInAgent = field(init=False, repr=False)  # holds what the installation handed the agent
    _generation: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self.agent = StandInAgent(self.mac, self._log, self.agent_knobs)

    def set_hardware(self, profile: HardwareProfile) -> None:
        """What the next inspection reports (a server rebuilt with other parts)."""
        self.hardware = hardware_for(self.index, self.mac, profile)

    def agent_status(self) -> dict[str, Any]:
        """The stand-in agent's knobs and its last accepted report (no credential)."""
        return {**asdict(self.agent_knobs), "lastReport": self.agent.last_report or None}

    def power_changed(self, on: bool) -> None:
        """Called by the BMC on every power transition: a new boot, or the end of the current one."""
        self._generation += 1
        self.agent.nudge()  # the running agent's timer ends with this boot
        if not on:
            self.running = "off"
            return
        generation = self._generation
        threading.Thread(target=self._boot, args=(generation,), name=f"node-{self.bmc.name}", daemon=True).start()

    def _alive(self, generation: int) -> bool:
        return generation == self._generation

    def _log(self, what: str, detail: str = "") -> None:
        self.bmc.record(f"node_{what}", detail)

    def _boot(self, generation: int) -> None:
        device = self.bmc.take_boot_device()
        order = {"network": ["network"], "hd": ["hd"]}.get(device, ["network", "hd"])
        self.running = "firmware"
        for dev in order:
            if not self._alive(generation):
                return
            if dev == "network":
                try:
                    if self._network_boot(generation):
                        return
                except urllib.error.HTTPError as exc:  # a refused request: firmware moves on to the next device
                    self._log("pxe_failed", f"{exc}: {exc.read()[:500]!r}")
                except Exception as exc:
                    self._log("pxe_failed", str(exc))
            elif self.os_installed:
                self.running = "os"
                self._log("os_running", "Debian booted from /dev/sda")
                self.agent.serve(lambda: self._alive(generation))
                return
        self.running = "idle"
        self._log("no_boot_device")

    # The PXE chain ------------------------------------------------------------------------------
    def _get(self, url: str, auth: tuple[str, str] | None = None) -> bytes:
        request = urllib.request.Request(url)  # noqa: S310 - the boot server's own http URL
        if auth is not None:
            request.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            data: bytes = response.read()
            return data

    def _tries(self, generation: int, tries: int, pause: float, what: str, fn: Callable[[], bytes]) -> bytes | None:
        """`fn` up to `tries` times, `pause` seconds apart, while this boot lasts; None when all failed."""
        for attempt in range(1, tries + 1):
            try:
                return fn()
            except Exception as exc:  # refused or no answer: the shell loops retry on any failure
                self._log("retry", f"{what}: {exc} (attempt {attempt})")
            if attempt < tries:
                time.sleep(pause)
            if not self._alive(generation):
                return None
        return None

    def _network_boot(self, generation: int) -> bool:
        """True when the network boot took over the machine; False when its script said 'exit'."""
        root = self._get(self.boot_url).decode()  # a failure here: the firmware moves on
        chain = re.search(r"chain (?:--autofree )?(\S+)", root)
        if chain is None:
            raise RuntimeError("boot.ipxe has no chain line")
        script_url = chain.group(1).replace("${netX/mac:hexhyp}", self.mac.replace(":", "-"))
        kernel_args: str | None = None
        while self._alive(generation) and kernel_args is None:
            try:
                kernel_args = self._load(generation, script_url)
            except Exception as exc:  # boot.ipxe: `chain ... || goto retry`, sleep 10, chain again
                self._log("pxe_retry", f"{exc}; chaining again in {CHAIN_RETRY_SECONDS:.0f} s")
                time.sleep(CHAIN_RETRY_SECONDS)
                continue
            if kernel_args == "":
                return False
        if kernel_args is None:
            return True  # powered off or cycled meanwhile: that boot is over
        if ramdisk := dict(re.findall(r"\boci\.(server|mac|token)=(\S+)", kernel_args)):
            self._ramdisk(generation, ramdisk)
            return True
        preseed_url = re.search(r"\burl=(\S+)", kernel_args)
        if preseed_url is None:
            raise RuntimeError("kernel line without url=")
        self._installer(generation, preseed_url.group(1))
        return True

    def _load(self, generation: int, script_url: str) -> str | None:
        """The host's script followed up to `boot`: its kernel line's arguments once the kernel and
        initrd are loaded; "" when it says exit; None when the boot ended meanwhile."""
        while self._alive(generation):
            script = self._get(script_url).decode()
            if re.search(r"^exit\b", script, re.M):
                self._log("pxe_exit", "script says: boot the local disk")
                return ""
            kernel = re.search(r"^kernel (\S+)(.*)$", script, re.M)
            if kernel is None:  # the wait script: the operator is still issuing the token
                time.sleep(0.5)
                continue
            initrd = re.search(r"^initrd (\S+)", script, re.M)
            self._log("pxe_script", "kernel and initrd")
            size = len(self._get(kernel.group(1))) + (len(self._get(initrd.group(1))) if initrd else 0)
            self._log("pxe_images", f"{size} bytes")
            return kernel.group(2)
        return None

    def _installer(self, generation: int, url: str) -> None:
        parts = urlsplit(url)
        auth = (parts.username or "", parts.password or "")
        plain_url = url.replace(f"{parts.username}:{parts.password}@", "")
        preseed = self._get(plain_url, auth).decode()
        self.running = "installer"
        self._log("preseed", f"{len(preseed)} bytes")
        early = "\n".join(line for line in preseed.splitlines() if "preseed/early_command" in line)
        late = "\n".join(line for line in preseed.splitlines() if "preseed/late_command" in line)
        server = f"{parts.scheme}://{parts.hostname}:{parts.port}"
        for token, event in _REPORT.findall(early):
            if event == "wiped":
                self.os_installed = False
                self.agent.forget()
            self._report(server, (auth[0], token), event)
        if not late:
            self.running = "idle"  # inspect and wipe jobs idle until the operator acts
            return
        time.sleep(self.install_seconds)
        if not self._alive(generation):
            return
        self.os_installed = True
        for path in _CREDENTIAL.findall(late):  # the agent's credential, as the late_command's wget takes it
            job = _REPORT.findall(late)[0][0]
            self.agent.forget()  # a new installation: a new credential, nothing cached
            self.agent.credential = json.loads(self._get(f"{server}/{path}", (auth[0], job)))
        for token, event in _REPORT.findall(late):
            self._report(server, (auth[0], token), event)
        self._log("installer_reboot")
        self.power_changed(True)  # the installer reboots the machine at the end

    def _ramdisk(self, generation: int, kernel: dict[str, str]) -> None:
        server, mac_path = f"http://{kernel['server']}", kernel["mac"]
        url, token = f"{server}/v1/hosts/{mac_path}/job", (mac_path, kernel["token"])
        fetched = self._tries(generation, JOB_TRIES, JOB_PAUSE, "job", lambda: self._get(url, token))
        if fetched is None:
            self.running = "idle"
            self._log("ramdisk_idle", f"could not fetch the job from {server}")
            return
        job = fetched.decode()
        values = {k: v.strip("'") for k, v in re.findall(r"^(OCI_[A-Z0-9_]+)=(.*)$", job, re.M)}
        self.running = "ramdisk"
        self._log("ramdisk_job", values.get("OCI_MODE", ""))
        auth = (mac_path, values.get("OCI_TOKEN", ""))
        mode = values.get("OCI_MODE")
        if mode == "inspect":
            self._report(server, auth, "inspected")
        elif mode == "wipe":
            self.os_installed = False
            self.agent.forget()
            self._report(server, auth, "wiped")
        elif mode == "install":
            url, expected = values.get("OCI_IMAGE_URL", ""), values.get("OCI_IMAGE_SHA256", "")
            self._report(server, auth, "installing", f"step write-image: streaming {url}")
            got = hashlib.sha256(self._get(url)).hexdigest()
            self._log("image_written", f"{url} sha256 {got}")
            if got != expected:
                mismatch = f"checksum mismatch: expected sha256 {expected}, got {got}"
                self._report(server, auth, "failed", f"provisioning error at step verify-image: {mismatch}")
                self.running = "idle"
                return
            time.sleep(self.install_seconds)
            if not self._alive(generation):
                return
            self.os_installed = True
            self.agent.forget()
            self.agent.credential = json.loads(self._get(f"{server}/v1/hosts/{mac_path}/agent-credential", auth))
            self._report(server, auth, "installed", f"image written to {values.get('OCI_ROOT_DEVICE')} and verified")
            self._log("ramdisk_poweroff")
            self.bmc.power_off_by_os()
        self.running = "idle"

    def _report(self, server: str, auth: tuple[str, str], event: str, message: str = "") -> None:
        body: dict[str, Any] = {"event": event, "message": message or f"simulated node {self.bmc.name}"}
        if event == "inspected":
            body["hardware"] = self.hardware
        request = urllib.request.Request(  # noqa: S310
            f"{server}/v1/hosts/{self.mac.replace(':', '-')}/report",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode(),
            },
        )
        for attempt in range(1, REPORT_TRIES + 1):
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    self._log("report", f"{event}: {response.status}")
                    return
            except Exception as exc:  # oci-report.sh tries again whatever the failure
                if attempt == REPORT_TRIES:
                    raise
                self._log("retry", f"report {event}: {exc} (attempt {attempt})")
            time.sleep(REPORT_PAUSE)
