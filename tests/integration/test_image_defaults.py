"""Image installs through the boot server's deploy ramdisk, with simulated servers that follow the
ramdisk's calls (job, download, sha256, report, agent credential, power off): the image comes from the
host's spec.image, else its NodeRole's; an operator that requires images refuses an install without
one with a clear condition, and status.provisioning.image says which image was written and from where."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conftest import FAST_OPERATOR
from support.bmcsim import SimControl, bmc_sim
from support.bootserver import BootServerProcess, boot_server
from support.hosts import create_booting_host, ready, state, status
from support.kube import Kube
from support.operator_process import OperatorProcess, operator_process
from support.waiting import wait_for

TIMEOUT = 90


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def images(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A site's image store: two small 'images' and their sha256, over HTTP on loopback."""
    directory = tmp_path / "images"
    directory.mkdir()
    sums = {}
    for name in ("role.raw", "host.raw"):
        data = name.encode() * 100_000
        (directory / name).write_bytes(data)
        sums[name] = hashlib.sha256(data).hexdigest()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", sums
    server.shutdown()
    server.server_close()


@pytest.fixture
def ramdisk_server(kube: Kube, private_namespace: str, tmp_path: Path) -> Iterator[BootServerProcess]:
    ramdisk = tmp_path / "ramdisk"
    ramdisk.mkdir()
    (ramdisk / "vmlinuz").write_bytes(b"kernel" * 1000)
    (ramdisk / "initrd.img").write_bytes(b"initrd" * 1000)
    (ramdisk / "lldp.img").write_bytes(b"lldp" * 1000)  # hack/build-deploy-ramdisk makes all three
    extra = ("--no-dhcp", "--namespace", private_namespace, "--deploy-ramdisk", str(ramdisk))
    with boot_server(kube.kubeconfig, tmp_path / "bs", *extra) as server:
        yield server


@pytest.fixture
def servers(ramdisk_server: BootServerProcess, tmp_path: Path) -> Iterator[SimControl]:
    extra = ("--prefix", "img", "--first-mac", "52:54:00:6e:00:00", "--boot-server", ramdisk_server.url)
    with bmc_sim(tmp_path / "sim", 2, *extra, "--install-seconds", "0.3") as control:
        yield control


@pytest.fixture
def image_operator(kube: Kube, private_namespace: str, tmp_path: Path) -> Iterator[OperatorProcess]:
    extra = ("--namespace", private_namespace, *FAST_OPERATOR, "--require-image")
    (tmp_path / "operator").mkdir()
    with operator_process(kube.kubeconfig, tmp_path / "operator", *extra) as op:
        yield op


def role(image: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"resources": []}
    if image:
        spec["image"] = image
    return {"apiVersion": "oci.openstack.org/v1alpha1", "kind": "NodeRole", "metadata": {"name": "web"}, "spec": spec}


def chosen(kube: Kube, namespace: str, name: str) -> dict[str, str] | None:
    found: dict[str, str] | None = (status(kube, namespace, name).get("provisioning") or {}).get("image")
    return found


def test_the_noderoles_image_is_written_when_the_host_names_none_and_none_at_all_is_a_clear_error(
    kube: Kube,
    private_namespace: str,
    image_operator: OperatorProcess,
    servers: SimControl,
    images: tuple[str, dict[str, str]],
) -> None:
    url, sums = images
    ns = private_namespace
    kube.create(ns, role())
    first, second = servers.take(), servers.take()

    # No image anywhere and the operator requires one: inspected, then refused with a reason; nothing boots.
    create_booting_host(kube, ns, "a", first, first.mac, role="web")
    wait_for(lambda: (ready(kube, ns, "a") or ("", ""))[1] == "ImageMissing", TIMEOUT, "the ImageMissing condition")
    current = status(kube, ns, "a")
    assert current["errorType"] == "provisioning error"
    assert "NodeRole 'web'" in current["errorMessage"]
    assert "bootId" not in current["provisioning"]
    assert servers.count(first, "node_ramdisk_job") == 1  # the inspection's only

    # The NodeRole gets an image: the waiting host is installed from it; status says which and from where.
    role_image = {"url": f"{url}/role.raw", "checksum": sums["role.raw"]}
    kube.patch_spec(ns, "NodeRole", "web", {"image": role_image})
    wait_for(lambda: state(kube, ns, "a") == "provisioned", TIMEOUT, "host a provisioned from the NodeRole's image")
    assert chosen(kube, ns, "a") == {**role_image, "format": "raw", "source": "NodeRole"}
    assert f"{url}/role.raw sha256 {sums['role.raw']}" in dict(servers.entries(first))["node_image_written"]
    assert "errorType" not in status(kube, ns, "a")
    events = [e.message for e in kube.events(ns, "a") if e.reason == "Provisioned"]
    assert any(f"{url}/role.raw" in (m or "") and "NodeRole" in (m or "") for m in events), events

    # A host's own image wins over its NodeRole's.
    host_image = {"url": f"{url}/host.raw", "checksum": sums["host.raw"]}
    create_booting_host(kube, ns, "b", second, second.mac, role="web", image=host_image)
    wait_for(lambda: state(kube, ns, "b") == "provisioned", TIMEOUT, "host b provisioned from its own image")
    assert chosen(kube, ns, "b") == {**host_image, "format": "raw", "source": "host"}

    # Deprovisioned: the record of the image goes with the wipe.
    kube.patch_spec(ns, "BareMetalHost", "b", {"role": None})
    wait_for(lambda: state(kube, ns, "b") == "available", TIMEOUT, "host b wiped")
    assert chosen(kube, ns, "b") is None
