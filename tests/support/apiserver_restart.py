"""Kill a hack/local-apiserver kube-apiserver and start it again with the same command line (etcd keeps
the data): an API server outage in the middle of a run."""

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


def stop_apiserver(workdir: Path) -> list[str]:
    """Kill it hard (a crashed control-plane node); returns its command line for start_apiserver."""
    pid = int((workdir / "pids" / "kube-apiserver.pid").read_text())
    argv = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: _gone(pid), 60, "the kube-apiserver to stop")
    return argv


def start_apiserver(workdir: Path, argv: list[str]) -> None:
    with (workdir / "logs" / "kube-apiserver.log").open("ab") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (workdir / "pids" / "kube-apiserver.pid").write_text(str(process.pid))  # hack/local-apiserver stop kills it
