"""dnsmasq as a child process: its configuration, its TFTP root, and its log (which shows DHCP clients)."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from ..render import render
from .config import BootServerConfig
from .macs import normalize

_log = logging.getLogger("dnsmasq")
IPXE_BINARIES = ("undionly.kpxe", "ipxe.efi", "snponly.efi")
# DHCPDISCOVER(br0) 52:54:00:12:34:56   |   PXE(br0) 52:54:00:12:34:56 proxy
_CLIENT = re.compile(r"\b(?:DHCPDISCOVER|DHCPREQUEST|PXE)\([^)]*\)\s+(?:[0-9.]+\s+)?([0-9a-fA-F:]{17})\b")


def client_mac(line: str) -> str | None:
    """The MAC of a DHCP or PXE client in one dnsmasq log line."""
    found = _CLIENT.search(line)
    return normalize(found.group(1)) if found else None


def config_text(config: BootServerConfig, tftp_root: Path, lease_file: Path) -> str:
    dhcp = config.dhcp
    problem = dhcp.problem()
    if problem:
        raise ValueError(problem)
    return render(
        "dnsmasq.conf.j2",
        mode=dhcp.mode,
        interface=dhcp.interface,
        subnet=dhcp.subnet,
        range_start=dhcp.range_start,
        range_end=dhcp.range_end,
        lease_time=dhcp.lease_time,
        router=dhcp.router,
        dns_server=dhcp.dns_server,
        ra_prefix=dhcp.ra_prefix,
        reservations=dhcp.reservations,
        tftp_root=tftp_root,
        lease_file=lease_file,
        boot_url=f"{config.base_url}/boot.ipxe",
    )


def prepare(config: BootServerConfig) -> Path:
    """Write the TFTP root (Debian's iPXE binaries) and dnsmasq.conf; return the config path."""
    state = config.state_dir
    tftp_root = state / "tftp"
    tftp_root.mkdir(parents=True, exist_ok=True)
    for name in IPXE_BINARIES:
        source = config.ipxe_dir / name
        if source.is_file():
            shutil.copyfile(source, tftp_root / name)
        else:
            _log.warning("%s missing: install Debian's ipxe package", source)
    conf = state / "dnsmasq.conf"
    conf.write_text(config_text(config, tftp_root, state / "dnsmasq.leases"))
    return conf


class Dnsmasq:
    def __init__(
        self,
        config: BootServerConfig,
        on_client: Callable[[str, str], None] | None = None,
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        self.config, self.on_client, self.on_exit = config, on_client, on_exit
        self.process: subprocess.Popen[str] | None = None
        self.stopping = False

    def start(self) -> None:
        conf = prepare(self.config)
        check = subprocess.run(
            [self.config.dhcp.dnsmasq, "--test", f"--conf-file={conf}"], capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            raise RuntimeError(f"dnsmasq rejected its configuration: {check.stderr.strip()}")
        self.process = subprocess.Popen(
            [self.config.dhcp.dnsmasq, "--keep-in-foreground", "--log-facility=-", f"--conf-file={conf}"]
            + ([f"--user={self.config.dhcp.user}"] if self.config.dhcp.user else []),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read_log, name="dnsmasq-log", daemon=True).start()

    def _read_log(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip()
            _log.info("%s", line)
            mac = client_mac(line)
            if mac and self.on_client:
                self.on_client(mac, "DHCP request")
        status = self.process.wait()
        if not self.stopping:
            _log.error("dnsmasq exited with status %s; the boot server stops too", status)
            if self.on_exit:
                self.on_exit(status)

    def stop(self) -> None:
        self.stopping = True
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None
