"""Kill a hack/local-apiserver control-plane process and start it again with the same command line (etcd
keeps its data directory): an API server (or etcd and API server) outage in the middle of a run."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from .waiting import wait_for


def _gone(pid: int) -> bool:
    """Exited (a zombie nobody reaps counts: its ports are closed)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def stop_process(workdir: Path, name: str) -> list[str]:
    """Kill it hard (a crashed control-plane node); returns its command line for start_process."""
    pid = int((workdir / "pids" / f"{name}.pid").read_text())
    argv = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _gone(pid), 60, f"the {name} to stop")
    return argv


def start_process(workdir: Path, name: str, argv: list[str]) -> None:
    with (workdir / "logs" / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (workdir / "pids" / f"{name}.pid").write_text(str(process.pid))  # hack/local-apiserver stop kills it


def stop_apiserver(workdir: Path) -> list[str]:
    return stop_process(workdir, "kube-apiserver")


def start_apiserver(workdir: Path, argv: list[str]) -> None:
    start_process(workdir, "kube-apiserver", argv)


def stop_control_plane(workdir: Path) -> dict[str, list[str]]:
    """The API server, then etcd: both down, as when the control-plane node goes away."""
    return {name: stop_process(workdir, name) for name in ("kube-apiserver", "etcd")}


def start_control_plane(workdir: Path, argvs: dict[str, list[str]]) -> None:
    for name in ("etcd", "kube-apiserver"):
        start_process(workdir, name, argvs[name])
