"""The operator as its own process, the way it runs in a pod."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .waiting import wait_for


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: each socket stays bound until all are chosen (a port let go at once
    can be the kernel's next answer: an operator once got one port for metrics and liveness, and kopf's
    liveness server failed to bind)."""
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def http_get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback test URL
            text: str = response.read().decode()
            return text
    except OSError:
        return None


def start(log_path: Path, subcommand: str, *args: str) -> subprocess.Popen[bytes]:
    """`python -m oci_operator SUBCOMMAND ARGS`, output to `log_path`, the way a container runs it."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "oci_operator", subcommand, *args], stdout=log, stderr=subprocess.STDOUT
        )


def stop(process: subprocess.Popen[bytes], grace: float = 15) -> None:
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class OperatorProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    metrics_url: str
    health_url: str

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def metrics(self) -> str:
        return http_get(self.metrics_url) or ""


@contextmanager
def operator_process(kubeconfig: str, workdir: Path, *extra: str) -> Iterator[OperatorProcess]:
    metrics_port, health_port = free_ports(2)
    log_path = workdir / "operator.log"
    process = start(
        log_path,
        "run",
        *("--kubeconfig", kubeconfig, "--verbose", "--metrics-address", "127.0.0.1"),
        *("--metrics-port", str(metrics_port), "--health-port", str(health_port)),
        *extra,
    )
    op = OperatorProcess(
        process, log_path, f"http://127.0.0.1:{metrics_port}/metrics", f"http://127.0.0.1:{health_port}/healthz"
    )
    try:
        wait_for(
            lambda: process.poll() is None and http_get(op.health_url) is not None,
            60,
            f"the operator's liveness endpoint {op.health_url}",
        )
        yield op
    finally:
        stop(process)
