"""Issue 16 #8: a flood of unknown MACs on the provisioning network creates no more hosts than the cap.

Before the limits, 500 anonymous iPXE requests for random MACs created 500 BareMetalHosts."""

from __future__ import annotations

from pathlib import Path

from support.bootserver import boot_server
from support.kube import Kube
from support.operator_process import http_get
from support.waiting import wait_for

CAP = 5


def discovered(kube: Kube, namespace: str) -> list[str]:
    items = kube.custom.list_namespaced_custom_object("oci.openstack.org", "v1alpha1", namespace, "baremetalhosts")
    return [h["metadata"]["name"] for h in items["items"] if h["metadata"]["name"].startswith("discovered-")]


def test_a_flood_of_unknown_macs_stops_at_the_cap(kube: Kube, namespace: str, tmp_path: Path) -> None:
    args = ("--no-dhcp", "--discover", "--discover-namespace", namespace, "--discover-max", str(CAP))
    with boot_server(
        kube.kubeconfig, tmp_path, *args, "--discover-per-minute", "60000", "--discover-burst", "1000"
    ) as server:
        for i in range(60):
            assert (http_get(f"{server.url}/v1/boot/52-54-00-f1-00-{i:02x}.ipxe") or "").startswith("#!ipxe")
        wait_for(lambda: len(discovered(kube, namespace)) == CAP, 60, f"{CAP} discovered hosts")
        # Once the boot server has seen them, more MACs are refused (and said so, once, in its log).
        wait_for(lambda: "discovered hosts exist already" in server.log(), 60, "the cap in the log", interval=0.5)
        for i in range(60, 80):
            assert (http_get(f"{server.url}/v1/boot/52-54-00-f1-00-{i:02x}.ipxe") or "").startswith("#!ipxe")
        assert len(discovered(kube, namespace)) == CAP
