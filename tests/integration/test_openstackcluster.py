"""OpenStackCluster through the real API server and the operator process: its passwords, CA and
certificates land in Secrets it owns, generated once; it claims the hosts labelled for it, generates
their NodeRoles and Secrets and releases the first step of the roll-out;
a lost passwords Secret after hosts got them is SecretsLost, not new passwords; and no secret value
reaches the operator's log, the Events or the status."""

from __future__ import annotations

import base64
import json
from typing import Any

from kubernetes.client.exceptions import ApiException

from oci_operator.config import DEFAULT_SYSTEM_NAMESPACE
from oci_operator.k8s.cluster_secrets import CLUSTER_ANNOTATION, CLUSTER_UID_LABEL, stored_name
from support.cloud import MINIMAL, spec_dict
from support.kube import Kube, condition
from support.operator_process import OperatorProcess
from support.waiting import wait_for

TIMEOUT = 90
NAME = "cloud-it"


def cluster_manifest() -> dict[str, Any]:
    return {
        "apiVersion": "oci.openstack.org/v1alpha1",
        "kind": "OpenStackCluster",
        "metadata": {"name": NAME},
        "spec": spec_dict(MINIMAL),
    }


def host_manifest(name: str, role: str, mac: int) -> dict[str, Any]:
    return {
        "apiVersion": "oci.openstack.org/v1alpha1",
        "kind": "BareMetalHost",
        "metadata": {
            "name": name,
            "labels": {"oci.openstack.org/cluster": NAME, "oci.openstack.org/cloud-role": role},
        },
        "spec": {
            "bmc": {"address": "ipmi://127.0.0.1:9", "credentialsName": f"{name}-bmc"},
            "bootMACAddress": f"52:54:00:aa:00:{mac:02x}",
            "online": False,
        },
    }


def ready(kube: Kube, namespace: str) -> tuple[str, str, dict[str, Any]] | None:
    obj = kube.get(namespace, "OpenStackCluster", NAME)
    cond = condition(obj, "Ready")
    if cond is None or obj["status"].get("observedGeneration") != obj["metadata"]["generation"]:
        return None
    return cond["status"], cond["reason"], obj


def secret(kube: Kube, namespace: str, name: str) -> Any:
    """A cluster Secret, where the operator keeps it: its system namespace, never the tenant's."""
    try:
        return kube.core.read_namespaced_secret(stored_name(namespace, name), DEFAULT_SYSTEM_NAMESPACE)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def values(obj: Any) -> list[str]:
    return [base64.b64decode(v).decode() for v in (obj.data or {}).values()]


def test_secrets_generated_once_lost_is_reported_and_never_logged(
    kube: Kube, operator: OperatorProcess, namespace: str
) -> None:
    created = kube.create(namespace, cluster_manifest())
    # No host yet: the first step of the roll-out is short of hosts, and says so.
    first = wait_for(lambda: (r := ready(kube, namespace)) and r[1] == "RoleShort" and r, TIMEOUT, "cluster short")
    assert first[0] == "False"
    assert condition(first[2], "Ready")["message"].startswith("controller 0/3: 3 host(s) short of 3")
    passwords = wait_for(lambda: secret(kube, namespace, f"{NAME}-secrets"), TIMEOUT, "passwords Secret")
    ca = wait_for(lambda: secret(kube, namespace, f"{NAME}-ca"), TIMEOUT, "CA Secret")
    for owned in (passwords, ca):
        assert owned.metadata.labels[CLUSTER_UID_LABEL] == created["metadata"]["uid"]
        assert owned.metadata.annotations[CLUSTER_ANNOTATION] == f"{namespace}/{NAME}"
    tenants = kube.core.list_namespaced_secret(namespace).items
    assert not [s.metadata.name for s in tenants if s.metadata.name.startswith(NAME)]  # none in the tenant's
    assert {"rabbitmq_cookie", "ceph_fsid", "nova_ssh_priv"} <= set(passwords.data)
    version = passwords.metadata.resource_version

    # A second reconcile (an edit bumps the generation; observedGeneration follows) leaves it alone.
    kube.patch_spec(namespace, "OpenStackCluster", NAME, {"description": "second pass"})
    wait_for(lambda: (r := ready(kube, namespace)) and r[1] == "RoleShort", TIMEOUT, "second reconcile")
    assert secret(kube, namespace, f"{NAME}-secrets").metadata.resource_version == version

    # Hosts join by label: the cluster claims and plans them, releases the controllers (the first step)
    # and hands each its secrets through its own Secret; certificates get issued.
    for i, role in enumerate(["controller"] * 3 + ["compute"] * 2):
        kube.create(namespace, host_manifest(f"node-{i}", role, i))
    planned = wait_for(
        lambda: (r := ready(kube, namespace)) and r[2]["status"].get("plannedHosts") == 5 and r, TIMEOUT, "5 planned"
    )
    assert planned[2]["status"]["secretsInUse"] is True
    assert condition(planned[2], "Ready")["reason"] == "Provisioning"
    assert planned[2]["status"]["rollout"]["released"] == ["node-0", "node-1", "node-2"]
    # The release is on record in the status before the hosts are touched: wait for the hosts.
    node0 = wait_for(
        lambda: (h := kube.get(namespace, "BareMetalHost", "node-0"))["spec"].get("role") and h, TIMEOUT, "released"
    )
    assert node0["spec"]["consumerRef"] == {"apiVersion": "oci.openstack.org/v1alpha1", "kind": "OpenStackCluster",
                                            "name": NAME}  # fmt: skip
    assert node0["spec"]["role"] == f"{NAME}-node-0"
    wait_for(lambda: kube.get(namespace, "BareMetalHost", "node-4")["status"].get("selection"), TIMEOUT, "explained")
    node0 = kube.get(namespace, "BareMetalHost", "node-0")
    assert node0["status"]["selection"][NAME] in ("takes controller", "keeps controller")
    assert "role" not in kube.get(namespace, "BareMetalHost", "node-3")["spec"]  # computes wait their step
    roles = kube.custom.list_namespaced_custom_object("oci.openstack.org", "v1alpha1", namespace, "noderoles")["items"]
    assert sorted(r["metadata"]["name"] for r in roles) == [f"{NAME}-node-{i}" for i in range(5)]
    host_secret = wait_for(lambda: secret(kube, namespace, f"{NAME}-host-node-0"), TIMEOUT, "the host's Secret")
    certs = wait_for(lambda: secret(kube, namespace, f"{NAME}-certificates"), TIMEOUT, "certificates Secret")
    assert f"{NAME}-controller-1.cloud1.example.net.crt" in certs.data
    assert "api-vip.key" in certs.data
    assert secret(kube, namespace, f"{NAME}-secrets").metadata.resource_version == version

    # The passwords Secret disappears after the hosts got them: SecretsLost, and nothing regenerated.
    kube.core.delete_namespaced_secret(stored_name(namespace, f"{NAME}-secrets"), DEFAULT_SYSTEM_NAMESPACE)
    lost = wait_for(
        lambda: (r := ready(kube, namespace)) and r[1] == "SecretsLost" and r, TIMEOUT, "SecretsLost condition"
    )
    assert lost[0] == "False"
    assert f"Secret {NAME}-secrets" in condition(lost[2], "Ready")["message"]
    assert kube.warnings(namespace, NAME, "SecretsLost") >= 1
    kube.patch_spec(namespace, "OpenStackCluster", NAME, {"description": "third pass"})
    wait_for(lambda: (r := ready(kube, namespace)) and r[1] == "SecretsLost", TIMEOUT, "still SecretsLost")
    assert secret(kube, namespace, f"{NAME}-secrets") is None

    # No secret value anywhere a person or a log shipper reads.
    leaked = [*values(passwords), *values(ca), *values(certs), *values(host_secret)]
    # Certificates are public; the hiera document is checked line by line below (its values are secrets).
    leaked = [v for v in leaked if not v.startswith("-----BEGIN CERTIFICATE")]
    readable = [
        operator.log(),
        json.dumps(kube.get(namespace, "OpenStackCluster", NAME)),
        json.dumps(roles),
        json.dumps([kube.get(namespace, "BareMetalHost", f"node-{i}") for i in range(5)]),
        "\n".join(f"{e.reason} {e.message}" for e in kube.events(namespace, NAME)),
    ]
    for text in readable:
        for value in leaked:
            assert value not in text
            for line in value.splitlines():  # PEM keys line by line, too
                if len(line) > 20:
                    assert line not in text
