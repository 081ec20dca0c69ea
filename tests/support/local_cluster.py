"""hack/local-cluster from the tests: a real single-node Kubernetes (kubelet, containerd, kube-proxy, CNI)
in its own network namespace, and the project's image built with buildah and imported into its containerd."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from .kube import REPO, Kube
from .netns import require_netns

SCRIPT = REPO / "hack" / "local-cluster"
BUILDAH_ENV = {**os.environ, "STORAGE_DRIVER": "vfs", "BUILDAH_ISOLATION": "chroot"}


@dataclass(frozen=True)
class LocalCluster:
    directory: Path
    kubeconfig: str
    netns: str
    node_ip: str
    kube: Kube

    def in_node(self, *cmd: str) -> list[str]:
        """`cmd` run in the node's network namespace (where host-network pods and node IPs live)."""
        return ["nsenter", f"--net=/run/netns/{self.netns}", *cmd]

    def kubectl(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        kubectl = shutil.which("kubectl")
        assert kubectl, "kubectl is not on PATH (hack/ensure-kube-binaries)"
        return subprocess.run([kubectl, "--kubeconfig", self.kubeconfig, *args], capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip

    def load_image(self, image: str, workdir: Path) -> None:
        """The image, from buildah's store, into the node's containerd through an archive (no registry)."""
        archive = workdir / "image.tar"
        archive.unlink(missing_ok=True)
        pushed = subprocess.run(["buildah", "push", "-q", image, f"docker-archive:{archive}:{image}"],
                                capture_output=True, text=True, env=BUILDAH_ENV, timeout=900, check=False)  # fmt: skip
        assert pushed.returncode == 0, pushed.stderr[-2000:]
        loaded = subprocess.run([str(SCRIPT), "load", str(self.directory), str(archive)], capture_output=True,
                                text=True, timeout=900, check=False)  # fmt: skip
        assert loaded.returncode == 0, loaded.stderr[-2000:]
        archive.unlink()


# hack/local-cluster's kubelet runs pods with the cgroupfs driver under these cgroup v1 hierarchies.
CGROUP_V1 = ("cpu", "memory", "pids", "devices", "freezer")


def require_node() -> None:
    """Skip, naming the obstacle, where a kubelet cannot run pods: not root, no cgroup v1 hierarchies (a
    cgroup v2-only host), or Debian's containerd/runc/CNI missing. CI (root, Debian 12, hack/setup) has them,
    and its skip allow-list does not excuse this one: there the test runs."""
    require_netns()
    absent = [h for h in CGROUP_V1 if not os.access(f"/sys/fs/cgroup/{h}/cgroup.procs", os.W_OK)]
    if absent:
        pytest.skip(f"no writable cgroup v1 hierarchy for {', '.join(absent)} under /sys/fs/cgroup "
                    "(hack/local-cluster's kubelet uses the cgroupfs driver on cgroup v1)")  # fmt: skip
    tools = [t for t in ("containerd", "runc", "ctr", "buildah", "iptables") if shutil.which(t) is None]
    tools += [] if os.access("/usr/lib/cni/bridge", os.X_OK) else ["/usr/lib/cni/bridge"]
    if tools:
        pytest.skip(f"{', '.join(tools)} missing (Debian packages hack/setup installs)")


def build_image(image: str) -> None:
    built = subprocess.run([str(REPO / "hack" / "build-image"), image], capture_output=True, text=True,
                           env=BUILDAH_ENV, timeout=2400, check=False)  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]


@contextmanager
def local_cluster(directory: Path) -> Iterator[LocalCluster]:
    started = subprocess.run([str(SCRIPT), "start", str(directory)], capture_output=True, text=True,
                             timeout=3600, check=False)  # fmt: skip
    try:
        assert started.returncode == 0, started.stderr[-4000:]
        env = dict(line.split("=", 1) for line in (directory / "cluster.env").read_text().splitlines() if line)
        kubeconfig = started.stdout.strip().splitlines()[-1]
        yield LocalCluster(directory, kubeconfig, env["netns"], env["node_ip"], Kube.connect(kubeconfig))
    finally:
        stopped = subprocess.run([str(SCRIPT), "stop", str(directory)], capture_output=True, text=True,
                                 timeout=300, check=False)  # fmt: skip
        assert stopped.returncode == 0, stopped.stderr[-2000:]
