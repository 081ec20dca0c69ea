"""The boot server as its own process (`oci-operator bootserver`), the way the sidecar runs it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .operator_process import free_ports, http_get, start, stop
from .waiting import wait_for


@dataclass
class BootServerProcess:
    process: subprocess.Popen[bytes]
    url: str  # http://host:port
    log_path: Path
    images: Path
    agent_address: str = ""  # host:port of the HTTPS listener for installed agents

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def fake_images(directory: Path) -> Path:
    """Small stand-ins for the installer kernel and initrd (the e2e test boots the real ones)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "linux").write_bytes(os.urandom(1 << 20))
    (directory / "initrd.gz").write_bytes(os.urandom(3 << 20))
    return directory


@contextmanager
def boot_server(
    kubeconfig: str,
    workdir: Path,
    *extra: str,
    images: Path | None = None,
    address: str = "127.0.0.1",
    port: int | None = None,
) -> Iterator[BootServerProcess]:
    chosen, agent_port = free_ports(2)
    port = port or chosen
    workdir.mkdir(parents=True, exist_ok=True)
    images = images or fake_images(workdir / "images")
    log_path = workdir / "bootserver.log"
    process = start(
        log_path,
        "bootserver",
        *("--kubeconfig", kubeconfig, "--listen-address", address, "--port", str(port)),
        *("--agent-port", str(agent_port)),
        *("--images-dir", str(images), "--state-dir", str(workdir / "state")),
        *extra,
    )
    server = BootServerProcess(process, f"http://{address}:{port}", log_path, images, f"{address}:{agent_port}")
    try:
        wait_for(
            lambda: process.poll() is not None or http_get(f"{server.url}/healthz") == "ok\n",
            60,
            "the boot server's /healthz",
        )
        assert process.poll() is None, server.log()
        yield server
    finally:
        stop(process, grace=10)
