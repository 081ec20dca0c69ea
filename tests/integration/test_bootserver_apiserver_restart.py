"""Issue 13 (b) for the boot server: its informers recover after the control plane (etcd and the API
server) was killed and started again; a host created afterwards is served within 30 s."""

from __future__ import annotations

import time
from pathlib import Path

from oci_operator.config import DEFAULT_SYSTEM_NAMESPACE
from support.apiserver_restart import start_control_plane, stop_control_plane
from support.bootserver import boot_server
from support.cluster import api_server
from support.hosts import host_manifest
from support.kube import Kube
from support.operator_process import http_get
from support.waiting import wait_for

MACS = {"before": "52:54:00:b5:00:01", "after": "52:54:00:b5:00:02"}


def create(kube: Kube, namespace: str, name: str) -> None:
    manifest = host_manifest(name, "ipmi://127.0.0.1:9", f"{name}-bmc")
    manifest["spec"]["bootMACAddress"] = MACS[name]
    kube.create(namespace, manifest)


def served(url: str, name: str) -> bool:
    """The boot server's script for the host's MAC names the host (an unknown MAC's does not)."""
    script = http_get(f"{url}/v1/boot/{MACS[name].replace(':', '-')}.ipxe")
    return script is not None and f"oci-operator: {name} boots from its local disk" in script


def created(kube: Kube, namespace: str, name: str) -> bool:
    try:
        create(kube, namespace, name)
    except Exception:  # refused connection, 503 while the API server starts
        return False
    return True


def test_the_boot_server_serves_new_hosts_again_after_etcd_and_the_api_server_restart(tmp_path: Path) -> None:
    workdir = tmp_path / "api"
    with api_server(workdir) as kubeconfig:
        kube = Kube.connect(kubeconfig)
        kube.apply_crds()  # before the boot server: its health waits for its informers' first lists
        kube.ensure_namespace(DEFAULT_SYSTEM_NAMESPACE)
        with boot_server(kubeconfig, tmp_path / "boot", "--no-dhcp") as server:
            restart_and_serve(kube, workdir, server.url)
            assert server.process.poll() is None


def restart_and_serve(kube: Kube, workdir: Path, url: str) -> None:
    namespace = kube.new_namespace("p-")
    create(kube, namespace, "before")
    wait_for(lambda: served(url, "before"), 60, "the first host served")
    argvs = stop_control_plane(workdir)
    start_control_plane(workdir, argvs)
    wait_for(lambda: created(kube, namespace, "after"), 180, "the control plane back, taking a new host")
    back = time.monotonic()
    wait_for(lambda: served(url, "after"), 30, "the host created after the restart served")
    print(f"served a new host {time.monotonic() - back:.1f}s after the control plane came back")
    assert served(url, "before")
