"""The container image builds here, with no registry: hack/build-image imports the cached Debian bookworm
root (hack/ensure-debian-root) with buildah as the base and builds the Dockerfile on it; the result runs
`oci-operator --help` as its numeric non-root user and carries what the boot server serves."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from support.kube import REPO
from support.netns import require_netns

IMAGE = "localhost/oci-operator:test"
ENV = {**os.environ, "STORAGE_DRIVER": "vfs", "BUILDAH_ISOLATION": "chroot"}


def buildah(*args: str, timeout: float = 120) -> str:
    out = subprocess.run(["buildah", *args], capture_output=True, text=True, env=ENV, timeout=timeout, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    require_netns()  # root, as buildah needs here (CI runs as root)
    built = subprocess.run([str(REPO / "hack" / "build-image"), IMAGE], capture_output=True, text=True, env=ENV,
                           timeout=1800, check=False)  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    yield IMAGE
    subprocess.run(["buildah", "rmi", "-f", IMAGE], capture_output=True, env=ENV, check=False)


def run_in(image: str, *cmd: str) -> str:
    container = buildah("from", image).strip()
    try:
        return buildah("run", "--isolation", "chroot", container, "--", *cmd)
    finally:
        buildah("rm", container)


def test_the_image_runs_both_commands_as_a_numeric_user(image: str) -> None:
    usage = run_in(image, "oci-operator", "--help")
    assert "{run,bootserver,cluster,bmc-sim}" in usage
    assert "usage: oci-operator bootserver" in run_in(image, "oci-operator", "bootserver", "--help")
    assert run_in(image, "id", "-u").strip() == "10001"
    config = json.loads(buildah("inspect", "--type", "image", image))["OCIv1"]["config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["oci-operator"]
    assert config["Cmd"] == ["run"]


def test_the_image_has_what_the_boot_server_serves(image: str) -> None:
    listing = run_in(
        image, "ls", "/usr/sbin/dnsmasq", "/usr/lib/ipxe/undionly.kpxe", "/usr/lib/ipxe/ipxe.efi",
        "/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64/linux",
    )  # fmt: skip
    assert listing.count("\n") == 4
