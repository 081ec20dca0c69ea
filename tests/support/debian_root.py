"""A real Debian 12 root (debootstrap minbase + python3 + systemd, cached by hack/ensure-debian-root),
given to each test as a fresh overlay so one test's packages never leak into another's; and the node
agent installed in it the way the installer's late_command does."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oci_operator.agent import oci_agent

from .kube import REPO


def base_root() -> Path:
    out = subprocess.run([str(REPO / "hack" / "ensure-debian-root")], capture_output=True, text=True, check=False)
    assert out.returncode == 0, f"hack/ensure-debian-root failed:\n{out.stderr[-2000:]}"
    return Path(out.stdout.strip())


@dataclass(frozen=True)
class DebianRoot:
    path: Path

    def chroot(self, *cmd: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["chroot", str(self.path), *cmd], capture_output=True, text=True, timeout=timeout, check=False
        )

    def install_agent(self, server: str, mac: str, host: str, token: str, certificate: str = "") -> None:
        """What late_command does: the agent, its settings, its credential (root only): the token and the
        boot server's certificate, which the agent reaches over HTTPS at `server`."""
        sbin = self.path / "usr/local/sbin"
        sbin.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(oci_agent.__file__, sbin / "oci-agent")
        (sbin / "oci-agent").chmod(0o755)
        etc = self.path / "etc/oci-operator"
        etc.mkdir(parents=True, exist_ok=True, mode=0o700)
        (etc / "agent.json").write_text(json.dumps({"server": server, "mac": mac.replace(":", "-"), "host": host}))
        credential = {"token": token, "server": server, "serverCertificate": certificate}
        (etc / "credential.json").write_text(json.dumps(credential))
        (etc / "credential.json").chmod(0o600)

    def run_agent(self, desired: dict[str, Any] | None = None) -> tuple[int, dict[str, Any], str]:
        """One agent run inside the root: exit status, its report, its output. With `desired`, the
        agent applies that document instead of fetching one (and sends no report)."""
        report = self.path / "tmp/oci-agent-report.json"
        report.unlink(missing_ok=True)
        offline: tuple[str, ...] = ()
        if desired is not None:
            (self.path / "tmp/desired.json").write_text(json.dumps(desired))
            offline = ("--desired", "/tmp/desired.json")
        proc = self.chroot(
            "python3", "/usr/local/sbin/oci-agent", "run", "--report-file", "/tmp/oci-agent-report.json", *offline
        )
        data = json.loads(report.read_text()) if report.exists() else {}
        return proc.returncode, data, proc.stdout + proc.stderr


@contextmanager
def debian_root(base: Path, workdir: Path) -> Iterator[DebianRoot]:
    upper, work, merged = workdir / "upper", workdir / "work", workdir / "root"
    for d in (upper, work, merged):
        d.mkdir(parents=True)
    mounts: list[Path] = []

    def mount(*args: str, target: Path) -> None:
        subprocess.run(["mount", *args, str(target)], check=True, capture_output=True)
        mounts.append(target)

    try:
        mount("-t", "overlay", "overlay", "-o", f"lowerdir={base},upperdir={upper},workdir={work}", target=merged)
        mount("-t", "proc", "proc", target=merged / "proc")
        mount("--bind", "/dev", target=merged / "dev")
        shutil.copyfile("/etc/resolv.conf", merged / "etc/resolv.conf")  # apt inside reaches the mirror
        yield DebianRoot(merged)
    finally:
        for target in reversed(mounts):
            subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True)
