"""The Helm chart: rendered with default and other values, checked by the real API server (server-side
dry run), values refused by its strict schema, and the chart's copies of the CRDs and rules current."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from support.bootserver import boot_server
from support.chart import CHART, check_values, render
from support.kube import REPO, Kube
from support.operator_process import http_get

MONITORING = "monitoring.coreos.com/v1"  # no prometheus-operator CRDs on the test API server


def kubectl(kube: Kube, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("kubectl")
    assert binary, "kubectl not on PATH: hack/test puts the cached build there"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "KUBECONFIG": kube.kubeconfig})  # fmt: skip


def dry_run(kube: Kube, docs: list[dict[str, Any]], tmp_path: Path) -> str:
    """Client-side apply (kubectl, helm) and server-side apply (Flux, Argo CD's ServerSideApply), both
    dry runs against the real API server (v1.20, whose server-side apply wants every list-map key set)."""
    path = tmp_path / "server-side.yaml"
    path.write_text(yaml.safe_dump_all([d for d in docs if d["apiVersion"] != MONITORING]))
    out = kubectl(kube, "apply", "--dry-run=server", "-f", str(path))
    assert out.returncode == 0, out.stderr
    ssa = kubectl(kube, "apply", "--server-side", "--field-manager=flux", "--dry-run=server", "-f", str(path))
    assert ssa.returncode == 0, ssa.stderr
    return out.stdout


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def test_default_render_passes_server_side_dry_run(kube: Kube, namespace: str, tmp_path: Path) -> None:
    docs = render(tmp_path, namespace=namespace)
    kinds = sorted({d["kind"] for d in docs})
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "Deployment", "Namespace", "Role", "RoleBinding", "Secret",
                     "Service", "ServiceAccount"]  # fmt: skip
    out = dry_run(kube, docs, tmp_path)
    assert "deployment.apps/oci-operator created (server dry run)" in out
    deployment = by_kind(docs, "Deployment")[0]
    spec = deployment["spec"]
    assert (spec["replicas"], spec["strategy"]["type"]) == (1, "Recreate")
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    operator, bootserver = pod["containers"]
    assert operator["securityContext"]["runAsNonRoot"] is True
    assert operator["securityContext"]["readOnlyRootFilesystem"] is True
    assert operator["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    # DHCP is off by default (it needs the site's network): no root, no capabilities, nothing to crash on.
    assert "--no-dhcp" in bootserver["args"]
    assert bootserver["securityContext"]["runAsNonRoot"] is True
    assert bootserver["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["hostNetwork"] is True
    # Each container mounts only its own account's token.
    mounts = {c["name"]: {m["name"] for m in c["volumeMounts"]} for c in pod["containers"]}
    assert mounts == {"operator": {"operator-token"}, "bootserver": {"bootserver-token", "bootserver-state"}}


def test_other_values_render_namespaced_rbac_monitoring_and_no_dhcp(kube: Kube, namespace: str, tmp_path: Path) -> None:
    values = {
        "operator": {"watchNamespaces": [namespace], "logFormat": "text"},
        "bootServer": {"hostNetwork": False, "dhcp": {"enabled": False}, "advertise": "10.0.0.5:8088"},
        "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}},
                    "prometheusRule": {"enabled": True}},
        "image": {"repository": "registry.example/oci-operator", "tag": "1.2.3"},
    }  # fmt: skip
    docs = render(tmp_path, values, namespace=namespace)
    dry_run(kube, docs, tmp_path)
    assert {(d["kind"], d["metadata"]["namespace"]) for d in by_kind(docs, "RoleBinding")} == {
        ("RoleBinding", namespace), ("RoleBinding", "oci-system")  # host Secrets: the system namespace only
    }  # fmt: skip
    assert [d["metadata"]["name"] for d in by_kind(docs, "ClusterRoleBinding")] == ["oci-operator-operator-discovery"]
    pod = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
    assert "hostNetwork" not in pod
    operator, bootserver = pod["containers"]
    assert operator["image"] == "registry.example/oci-operator:1.2.3"
    assert f"--namespace={namespace}" in operator["args"]
    assert "--no-dhcp" in bootserver["args"]
    assert bootserver["securityContext"]["runAsNonRoot"] is True  # no DHCP: no capabilities at all
    # The kinds without CRDs here, checked client-side: the rules are exactly config/prometheus's.
    rule = by_kind(docs, "PrometheusRule")[0]
    shipped = yaml.safe_load((REPO / "config/prometheus/oci-operator.rules.yaml").read_text())
    assert rule["spec"] == shipped
    monitor = by_kind(docs, "ServiceMonitor")[0]
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "interval": "30s", "honorLabels": True},
        {"port": "bootserver-metrics", "path": "/metrics", "interval": "30s", "honorLabels": True},
    ]
    service = by_kind(docs, "Service")[0]
    assert [p["name"] for p in service["spec"]["ports"]] == ["metrics", "bootserver-metrics"]


def test_chart_conventions_names_labels_image_and_extras(kube: Kube, namespace: str, tmp_path: Path) -> None:
    digest = "sha256:" + "ab" * 32
    values = {
        "fullnameOverride": "metal",
        "global": {"imageRegistry": "ignored-by-this-chart"},  # a parent chart's globals pass the schema
        "image": {"registry": "registry.example:5000", "repository": "infra/oci-operator", "digest": digest},
        "podLabels": {"team": "metal"},
        "priorityClassName": "system-cluster-critical",
        "extraVolumes": [{"name": "ca", "configMap": {"name": "site-ca"}}],
        "operator": {
            "extraEnv": [{"name": "HTTPS_PROXY", "value": "http://proxy.example:3128"}],
            "extraVolumeMounts": [{"name": "ca", "mountPath": "/etc/site-ca", "readOnly": True}],
        },
        "bootServer": {"extraEnv": [{"name": "TZ", "value": "UTC"}]},
    }
    docs = render(tmp_path, values, namespace=namespace)
    dry_run(kube, docs, tmp_path)
    deployment = by_kind(docs, "Deployment")[0]
    assert deployment["metadata"]["name"] == "metal"
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["labels"]["team"] == "metal"
    assert pod["spec"]["priorityClassName"] == "system-cluster-critical"
    operator, bootserver = pod["spec"]["containers"]
    assert operator["image"] == bootserver["image"] == f"registry.example:5000/infra/oci-operator@{digest}"
    assert {"name": "HTTPS_PROXY", "value": "http://proxy.example:3128"} in operator["env"]
    assert {"name": "TZ", "value": "UTC"} in bootserver["env"]
    assert {"name": "ca", "mountPath": "/etc/site-ca", "readOnly": True} in operator["volumeMounts"]
    assert {"name": "ca", "configMap": {"name": "site-ca"}} in pod["spec"]["volumes"]
    for container in (operator, bootserver):
        assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
        assert all(port["protocol"] in ("TCP", "UDP") for port in container["ports"])
    assert {d["metadata"]["name"] for d in by_kind(docs, "ServiceAccount")} == {"metal-operator", "metal-bootserver"}
    renamed = render(tmp_path, {"nameOverride": "oci"}, namespace=namespace, name="rack")
    assert by_kind(renamed, "Deployment")[0]["metadata"]["name"] == "rack-oci"


def test_the_default_boot_server_arguments_start_a_server(kube: Kube, tmp_path: Path) -> None:
    """The boot server container's arguments from the default values, run as a process: it must serve,
    not exit (the default install crash-looped on `--dhcp-mode proxy needs --subnet`). Only what a pod
    provides differently is replaced: the node's IP, a free port, and a writable state directory."""
    pod = by_kind(render(tmp_path), "Deployment")[0]["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "bootserver")
    assert container["args"][0] == "bootserver"
    args = [
        a.replace("$(HOST_IP)", "127.0.0.1")
        for a in container["args"][1:]
        if not a.startswith(("--port=", "--state-dir="))
    ]
    with boot_server(kube.kubeconfig, tmp_path / "boot", *args) as server:
        assert http_get(f"{server.url}/healthz") == "ok\n"
        assert server.process.poll() is None, server.log()


def test_operator_metrics_and_health_bind_to_the_pod_ip_or_the_configured_address(tmp_path: Path) -> None:
    """Issue 16 (minor): under hostNetwork, 0.0.0.0 would open them on every address of the node."""
    operator = by_kind(render(tmp_path), "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    assert "--metrics-address=$(POD_IP)" in operator["args"]
    assert {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}} in operator["env"]
    configured = render(tmp_path, {"metrics": {"bindAddress": "10.0.0.7"}})
    assert (
        "--metrics-address=10.0.0.7"
        in by_kind(configured, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"]
    )


def test_the_default_image_values_become_the_operators_flags(tmp_path: Path) -> None:
    def args(values: dict[str, Any]) -> list[str]:
        deployment = by_kind(render(tmp_path, values), "Deployment")[0]
        result: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        return result

    assert not [a for a in args({}) if "image" in a]
    checksum = "ab" * 32
    chosen = args({"operator": {"defaultImage": {"url": "http://mirror/debian12.raw", "checksum": checksum}}})
    assert "--default-image-url=http://mirror/debian12.raw" in chosen
    assert f"--default-image-checksum={checksum}" in chosen
    assert "--require-image" in args({"operator": {"requireImage": True}})


@pytest.mark.parametrize(
    "values",
    [
        {"operator": {"defaultImage": {"url": "ftp://mirror/image.raw"}}},
        {"operator": {"defaultImage": {"url": "http://mirror/image.raw", "checksum": "md5:abc"}}},
        {"operator": {"logFormat": "xml"}},
        {"bootServer": {"dhcp": {"mode": "full"}}},
        {"bootServer": {"port": 70000}},
        {"bootServer": {"advertise": "http://10.0.0.5:8088"}},
        {"unknownTopLevel": True},
        {"image": {"repository": ""}},
        {"operator": {"watchNamespaces": ["rack-*"]}},  # a glob would name a RoleBinding's namespace
        {"operator": {"watchNamespaces": ["Rack1"]}},
        {"bootServer": {"dhcp": {"enabled": True}}},  # proxy mode needs the subnet
        {"bootServer": {"dhcp": {"enabled": True, "mode": "reservation"}}},  # reservation needs the range
        {"image": {"digest": "latest"}},
        {"operator": {"extraEnv": [{"value": "no name"}]}},
        {"fullnameOverride": "Not_A_Name"},
    ],
)
def test_the_values_schema_is_strict(values: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        check_values(values)


def test_dhcp_values_that_name_the_network_pass_the_schema() -> None:
    check_values({"bootServer": {"dhcp": {"enabled": True, "subnet": "10.99.0.0"}}})
    check_values({"bootServer": {"dhcp": {"enabled": True, "mode": "reservation", "range": "10.0.0.10,10.0.0.99"}}})
    check_values({"operator": {"watchNamespaces": ["rack-1", "rack-2"]}})


def test_the_chart_ships_the_current_crds() -> None:
    for crd in (REPO / "crds").glob("*.yaml"):
        assert (CHART / "crds" / crd.name).read_text() == crd.read_text(), "run hack/update-crds"


def test_plain_manifests_apply_with_kustomize(kube: Kube) -> None:
    """config/default (generated from the chart) through `kubectl apply -k`, server-side dry run."""
    if "oci-system" not in [n.metadata.name for n in kube.core.list_namespace().items]:
        kube.core.create_namespace({"metadata": {"name": "oci-system"}})
    out = kubectl(kube, "apply", "--dry-run=server", "-k", str(REPO / "config" / "default"))
    assert out.returncode == 0, out.stderr
    kustomize = ("-k", str(REPO / "config" / "default"))
    ssa = kubectl(kube, "apply", "--server-side", "--field-manager=flux", "--dry-run=server", *kustomize)
    assert ssa.returncode == 0, ssa.stderr  # Flux always applies server-side
    assert "deployment.apps/oci-operator created (server dry run)" in out.stdout
    assert "customresourcedefinition.apiextensions.k8s.io/baremetalhosts.oci.openstack.org" in out.stdout
    # Not installed by Helm: nothing may say so (helm would refuse to adopt them, tools would misreport).
    plain = (REPO / "config" / "default" / "oci-operator.yaml").read_text()
    assert "managed-by: Helm" not in plain
    assert "helm.sh/chart" not in plain
