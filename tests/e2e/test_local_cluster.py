"""The chart installed into a real single-node Kubernetes (hack/local-cluster: kubelet on containerd + runc,
kube-proxy, a CNI bridge, all in a network namespace), the project's image imported from an archive: the
Deployment becomes Available with both containers running and probed, its metrics answer through the
Service, the in-cluster operator drives simulated BMCs and provisions a host through the in-pod boot server,
the logs are clean, and deleting the release leaves nothing behind.

Runs in CI: hack/test builds the image in the background while the Kubernetes binaries build (all six in one
go build, cold); see docs/local-cluster.md for the cold and warm costs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.bmcsim import bmc_sim
from support.chart import render
from support.debian_root import base_root, debian_root
from support.hosts import (
    boot_server_certificate,
    converged,
    desired_state_served,
    host_manifest,
    secret_manifest,
    state,
    token_of,
)
from support.kube import REPO
from support.local_cluster import LocalCluster, build_image, local_cluster, require_node
from support.waiting import wait_for

IMAGE = "localhost/oci-operator:local-cluster"
IMAGE_VALUES = {"image": {"registry": "localhost", "repository": "oci-operator", "tag": "local-cluster"}}
TIMEOUT = 600  # a shared 2-core machine starts pods slowly
# The non-default values of tests/integration/test_chart.py (namespaced RBAC, no host network, DHCP off).
# ServiceMonitor and PrometheusRule are left out of what is applied: this cluster has no Prometheus operator.
OTHER = {
    "bootServer": {"hostNetwork": False, "dhcp": {"enabled": False}, "advertise": "10.0.0.5:8088"},
    "metrics": {
        "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}},
        "prometheusRule": {"enabled": True},
    },
}
NOT_APPLIED = {"ServiceMonitor", "PrometheusRule"}
PLURALS = ("baremetalhosts", "noderoles", "openstackclusters")
SYSTEM = "oci-system"  # the chart's default system namespace (host tokens, the boot server's certificate)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    require_node()  # root, cgroup v1, containerd
    with local_cluster(tmp_path_factory.mktemp("local-cluster")) as running:
        build_image(IMAGE)
        running.load_image(IMAGE, tmp_path_factory.mktemp("image"))
        applied = running.kubectl("apply", "-f", str(REPO / "crds"))
        assert applied.returncode == 0, applied.stderr
        yield running


def deployment_available(cluster: LocalCluster, ns: str, name: str) -> bool:
    """Available; a container that has restarted fails at once (a crash loop shows at its first restart)."""
    pods = cluster.kubectl("-n", ns, "get", "pods", "-o", "json")
    for pod in json.loads(pods.stdout)["items"] if pods.returncode == 0 else []:
        for st in pod.get("status", {}).get("containerStatuses", []):
            assert st["restartCount"] == 0, f"{st['name']} restarted: {st.get('lastState')}"
    out = cluster.kubectl("-n", ns, "get", "deployment", name, "-o", "json")
    if out.returncode != 0:
        return False
    conditions = json.loads(out.stdout).get("status", {}).get("conditions", [])
    return any(c["type"] == "Available" and c["status"] == "True" for c in conditions)


def kept_on_uninstall(doc: dict[str, Any]) -> bool:
    annotations = doc["metadata"].get("annotations") or {}
    return bool(annotations.get("helm.sh/resource-policy") == "keep")


def pod_of(cluster: LocalCluster, ns: str) -> dict[str, Any]:
    out = cluster.kubectl("-n", ns, "get", "pods", "-o", "json")
    assert out.returncode == 0, out.stderr
    pods: list[dict[str, Any]] = json.loads(out.stdout)["items"]
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
    return pods[0]


def logs_of(cluster: LocalCluster, ns: str, pod: str, container: str) -> str:
    out = cluster.kubectl("-n", ns, "logs", pod, "-c", container)
    assert out.returncode == 0, out.stderr
    return out.stdout


def error_lines(log: str) -> list[str]:
    bad = []
    for line in log.splitlines():
        try:
            fields = json.loads(line)
            level = str(fields.get("severity") or fields.get("levelname") or "")
        except (ValueError, AttributeError):
            level = line
        if "ERROR" in level.upper() or "CRITICAL" in level.upper() or "Traceback" in line:
            bad.append(line)
    return bad


def sim_in_node(cluster: LocalCluster, url: str) -> Any:
    """GET a JSON answer from the BMC simulator's control API (on the node's loopback)."""
    fetch = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())"
    out = subprocess.run(cluster.in_node(sys.executable, "-c", fetch, url), capture_output=True, text=True,
                         timeout=60, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def converge_through_the_agent(cluster: LocalCluster, ns: str, name: str, mac: str, workdir: Path) -> None:
    """The installed node, stood in for by a Debian root with the real agent and what the installation handed
    it (credential, the boot server's certificate): one agent run against the pod's HTTPS agent port converges
    its NodeRole, and the in-cluster operator records it (Converged=True)."""
    kube = cluster.kube
    token, certificate = token_of(kube, ns, name, SYSTEM), boot_server_certificate(kube, SYSTEM)
    agents = f"{cluster.node_ip}:8443"
    wait_for(lambda: desired_state_served(f"https://{agents}", mac, token, certificate), TIMEOUT,
             f"{name}'s desired state served by the pod")  # fmt: skip
    with debian_root(base_root(), workdir) as root:
        root.install_agent(agents, mac, name, token, certificate)
        code, report, output = root.run_agent()
        assert code == 0, output[-3000:]
        assert (root.path / "etc/motd").read_text() == f"{name} in a pod\n", report
    wait_for(lambda: (converged(kube, ns, name) or ("",))[0] == "True", TIMEOUT, f"{name} Converged")


def provision_a_host(cluster: LocalCluster, ns: str, workdir: Path) -> list[str]:
    """A simulated server (its BMC on the node's loopback, its PXE client fetching from the pod's boot server)
    registered from a Secret and provisioned by the in-cluster operator; returns the secrets that must
    never reach a log."""
    boot = f"http://{cluster.node_ip}:8088"
    # On the node's loopback (the default host-network pod shares it): the kubelet's KUBE-FIREWALL drops
    # loopback traffic from other sources, which pyghmi's wake-up socket would send from the node's address.
    sim_args = ("--prefix", "kc", "--first-mac", "52:54:00:7c:00:00")
    with bmc_sim(workdir, 1, *sim_args, "--boot-server", boot, "--install-seconds", "0.3",
                 wrapper=tuple(cluster.in_node())) as sim:  # fmt: skip
        bmc = sim.take()
        kube = cluster.kube
        kube.create(ns, {"apiVersion": "oci.openstack.org/v1alpha1", "kind": "NodeRole", "metadata": {"name": "motd"},
                         "spec": {"resources": [{"type": "file", "name": "motd", "path": "/etc/motd",
                                                 "template": "{{ host.name }} in a pod\n"}]}})  # fmt: skip
        kube.create(ns, secret_manifest("kc-1-bmc", bmc.username, bmc.password))
        manifest = host_manifest("kc-1", bmc.address, "kc-1-bmc", True)
        manifest["metadata"]["annotations"] = {}
        manifest["spec"].update(bootMACAddress=bmc.mac, role="motd")
        kube.create(ns, manifest)
        wait_for(
            lambda: state(kube, ns, "kc-1") == "provisioned", TIMEOUT, "kc-1 provisioned by the in-cluster operator"
        )
        converge_through_the_agent(cluster, ns, "kc-1", bmc.mac, workdir / "debian")
        # Unregister while the simulated server still answers: the in-pod operator powers it off (the default
        # powerOffOnDelete) and its finalizer lets go.
        kube.delete(ns, "BareMetalHost", "kc-1")
        try:
            wait_for(lambda: not kube.exists(ns, "BareMetalHost", "kc-1"), 300, "kc-1 deleted (finalizer released)")
        except AssertionError as exc:
            operator = logs_of(cluster, ns, pod_of(cluster, ns)["metadata"]["name"], "operator")
            raise AssertionError(f"{exc}\n{kube.get(ns, 'BareMetalHost', 'kc-1')}\n{operator[-6000:]}") from exc
        # Powered off, once: the simulator's control API listens in the node's namespace.
        commands = [entry["command"] for entry in sim_in_node(cluster, f"{sim.url}/bmcs/{bmc.name}/log")]
        assert sim_in_node(cluster, f"{sim.url}/bmcs/{bmc.name}")["poweredOn"] is False, commands[-10:]
        assert commands.count("power_off") == 1, commands[-10:]
        # Roles too, while the operator runs (docs/install.md): after it is gone their finalizer would stay.
        kube.delete(ns, "NodeRole", "motd")
        wait_for(lambda: not kube.exists(ns, "NodeRole", "motd"), TIMEOUT, "motd deleted (finalizer released)")
        return [bmc.password]


@pytest.mark.parametrize("values", [{}, OTHER], ids=["default-values", "namespaced-rbac-no-host-network"])
def test_the_chart_runs_in_a_real_cluster(cluster: LocalCluster, values: dict[str, Any], tmp_path: Path) -> None:
    kube = cluster.kube
    ns = kube.new_namespace("kc-")
    overrides = {**values, **IMAGE_VALUES}
    if values:
        overrides["operator"] = {"watchNamespaces": [ns], "logFormat": "text"}
    docs = [d for d in render(tmp_path, overrides, namespace=ns, name="oci") if d["kind"] not in NOT_APPLIED]
    docs.sort(key=lambda d: d["kind"] != "Namespace")  # as helm installs: the system namespace before its Roles
    manifest = tmp_path / "release.yaml"
    manifest.write_text(yaml.safe_dump_all(docs))
    # What `helm uninstall` deletes: all but what the chart keeps (the system namespace, with hosts' Secrets).
    release = tmp_path / "uninstall.yaml"
    release.write_text(yaml.safe_dump_all([d for d in docs if not kept_on_uninstall(d)]))
    applied = cluster.kubectl("apply", "-f", str(manifest))
    assert applied.returncode == 0, applied.stderr
    deployment = next(d["metadata"]["name"] for d in docs if d["kind"] == "Deployment")
    service = next(d["metadata"]["name"] for d in docs if d["kind"] == "Service")

    wait_for(lambda: deployment_available(cluster, ns, deployment), TIMEOUT, f"{deployment} Available")
    pod = pod_of(cluster, ns)
    statuses = {s["name"]: s for s in pod["status"]["containerStatuses"]}
    assert set(statuses) == {"operator", "bootserver"}
    for name, st in statuses.items():
        assert st["ready"] is True, (name, st)
        assert "running" in st["state"], (name, st)
        assert st["restartCount"] == 0, (name, st)

    # Metrics through the Service (the API server's service proxy resolves it to the pod's endpoints).
    for port, family in (("metrics", "oci_"), ("bootserver-metrics", "oci_bootserver_")):
        path = f"/api/v1/namespaces/{ns}/services/http:{service}:{port}/proxy/metrics"
        scraped = wait_for(lambda path=path: (o := cluster.kubectl("get", "--raw", path)).returncode == 0 and o.stdout,
                           120, f"{port} scraped through {service}")  # fmt: skip
        assert family in scraped

    secrets = provision_a_host(cluster, ns, tmp_path / "sim") if not values else []

    pod_name = pod["metadata"]["name"]
    for container in ("operator", "bootserver"):
        log = logs_of(cluster, ns, pod_name, container)
        assert log.strip(), f"{container} logged nothing"
        assert error_lines(log) == [], container
        for secret in secrets:
            assert secret not in log, f"a BMC password in the {container} log"

    # The token Secrets go with their ServiceAccounts (the token controller), hence --ignore-not-found.
    deleted = cluster.kubectl("delete", "--ignore-not-found", "-f", str(release), "--wait=true", "--timeout=300s")
    assert deleted.returncode == 0, deleted.stderr
    wait_for(lambda: json.loads(cluster.kubectl("-n", ns, "get", "pods", "-o", "json").stdout)["items"] == [],
             TIMEOUT, "no pods left")  # fmt: skip
    # Nothing the operator holds with a finalizer outlives it (an object left so would never go away).
    held = cluster.kubectl("get", ",".join(f"{p}.oci.openstack.org" for p in PLURALS), "-A", "-o", "json")
    assert held.returncode == 0, held.stderr
    stuck = [(i["kind"], i["metadata"]["namespace"], i["metadata"]["name"], i["metadata"]["finalizers"])
             for i in json.loads(held.stdout)["items"] if i["metadata"].get("finalizers")]  # fmt: skip
    assert stuck == [], f"finalizer-stuck after the release was deleted: {stuck}"
    gone = cluster.kubectl("delete", "namespace", ns, "--wait=true", "--timeout=300s")
    assert gone.returncode == 0, gone.stderr  # a finalizer-stuck object would keep the namespace
    assert cluster.kubectl("get", "namespace", ns).returncode != 0
