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

from support.chart import CHART, check_values, render
from support.kube import REPO, Kube

MONITORING = "monitoring.coreos.com/v1"  # no prometheus-operator CRDs on the test API server


def kubectl(kube: Kube, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("kubectl")
    assert binary, "kubectl not on PATH: hack/test puts the cached build there"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "KUBECONFIG": kube.kubeconfig})  # fmt: skip


def dry_run(kube: Kube, docs: list[dict[str, Any]], tmp_path: Path) -> str:
    path = tmp_path / "server-side.yaml"
    path.write_text(yaml.safe_dump_all([d for d in docs if d["apiVersion"] != MONITORING]))
    out = kubectl(kube, "apply", "--dry-run=server", "-f", str(path))
    assert out.returncode == 0, out.stderr
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
    assert set(bootserver["securityContext"]["capabilities"]["add"]) == {
        "NET_BIND_SERVICE", "NET_ADMIN", "NET_RAW", "SETUID", "SETGID"
    }  # fmt: skip
    assert pod["hostNetwork"] is True
    assert "--dhcp-mode=proxy" in bootserver["args"]
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
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "interval": "30s"}]


@pytest.mark.parametrize(
    "values",
    [
        {"operator": {"logFormat": "xml"}},
        {"bootServer": {"dhcp": {"mode": "full"}}},
        {"bootServer": {"port": 70000}},
        {"bootServer": {"advertise": "http://10.0.0.5:8088"}},
        {"unknownTopLevel": True},
        {"image": {"repository": ""}},
    ],
)
def test_the_values_schema_is_strict(values: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        check_values(values)


def test_the_chart_ships_the_current_crds() -> None:
    for crd in (REPO / "crds").glob("*.yaml"):
        assert (CHART / "crds" / crd.name).read_text() == crd.read_text(), "run hack/update-crds"


def test_plain_manifests_apply_with_kustomize(kube: Kube) -> None:
    """config/default (generated from the chart) through `kubectl apply -k`, server-side dry run."""
    if "oci-system" not in [n.metadata.name for n in kube.core.list_namespace().items]:
        kube.core.create_namespace({"metadata": {"name": "oci-system"}})
    out = kubectl(kube, "apply", "--dry-run=server", "-k", str(REPO / "config" / "default"))
    assert out.returncode == 0, out.stderr
    assert "deployment.apps/oci-operator created (server dry run)" in out.stdout
    assert "customresourcedefinition.apiextensions.k8s.io/baremetalhosts.oci.openstack.org" in out.stdout
