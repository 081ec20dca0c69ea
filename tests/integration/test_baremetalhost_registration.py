"""BareMetalHost references checked by the operator process on a real API server."""

from __future__ import annotations

from typing import Any

from support.kube import Kube, condition, samples
from support.operator_process import OperatorProcess
from support.waiting import wait_for

TIMEOUT = 30


def host_body(name: str, secret: str) -> dict[str, Any]:
    return {
        "apiVersion": "oci.openstack.org/v1alpha1",
        "kind": "BareMetalHost",
        "metadata": {"name": name},
        "spec": {
            "bmc": {"address": "ipmi://127.0.0.1:6230", "credentialsName": secret},
            "bootMACAddress": "52:54:00:aa:bb:01",
        },
    }


def ready_reason(kube: Kube, namespace: str, name: str) -> str | None:
    cond = condition(kube.get(namespace, "BareMetalHost", name), "Ready")
    return cond["reason"] if cond else None


def warnings(kube: Kube, namespace: str, name: str, reason: str) -> int:
    return sum(e.count or 1 for e in kube.events(namespace, name) if e.type == "Warning" and e.reason == reason)


def test_sample_host_gets_observed_generation_and_ready_reason(
    kube: Kube, operator: OperatorProcess, namespace: str
) -> None:
    for doc in samples("baremetalhost.yaml"):
        kube.create(namespace, doc)

    def observed() -> dict[str, Any] | None:
        host = kube.get(namespace, "BareMetalHost", "node-01")
        status = host.get("status", {})
        current = status.get("observedGeneration") == host["metadata"]["generation"]
        return host if current and condition(host, "Ready") else None

    host = wait_for(observed, TIMEOUT, "status.observedGeneration == metadata.generation with a Ready condition")
    ready = condition(host, "Ready")
    assert ready is not None
    assert ready["status"] == "False"
    assert ready["reason"] == "Registering"
    assert ready["observedGeneration"] == host["metadata"]["generation"]
    assert host["status"]["provisioning"]["state"] == "registering"
    assert host["status"]["operationalStatus"] == "OK"

    # A spec edit bumps generation; the status follows it, and the Ready transition time stays put.
    edited = kube.patch_spec(namespace, "BareMetalHost", "node-01", {"online": True})
    wait_for(
        lambda: (
            kube.get(namespace, "BareMetalHost", "node-01")["status"].get("observedGeneration")
            == edited["metadata"]["generation"]
        ),
        TIMEOUT,
        "observedGeneration to follow the edit",
    )
    after = condition(kube.get(namespace, "BareMetalHost", "node-01"), "Ready")
    assert after is not None
    assert after["lastTransitionTime"] == ready["lastTransitionTime"]


def test_missing_secret_warns_once_and_heals_without_touching_the_host(
    kube: Kube, operator: OperatorProcess, namespace: str
) -> None:
    kube.create(namespace, host_body("node-02", "node-02-bmc"))
    wait_for(lambda: ready_reason(kube, namespace, "node-02") == "CredentialsMissing", TIMEOUT, "CredentialsMissing")
    host = kube.get(namespace, "BareMetalHost", "node-02")
    assert host["status"]["errorType"] == "registration error"
    assert host["status"]["operationalStatus"] == "error"
    assert "node-02-bmc" in host["status"]["errorMessage"]

    # Several resyncs later (errorCount counts them) there is still exactly one Warning Event.
    wait_for(
        lambda: kube.get(namespace, "BareMetalHost", "node-02")["status"]["errorCount"] >= 3,
        TIMEOUT,
        "three failed attempts",
    )
    wait_for(lambda: warnings(kube, namespace, "node-02", "CredentialsMissing") >= 1, TIMEOUT, "the Warning Event")
    assert warnings(kube, namespace, "node-02", "CredentialsMissing") == 1

    generation = host["metadata"]["generation"]
    kube.create(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "node-02-bmc"},
            "stringData": {"username": "admin", "password": "s3cret"},
        },
    )
    wait_for(lambda: ready_reason(kube, namespace, "node-02") == "Registering", TIMEOUT, "healing by resync")
    healed = kube.get(namespace, "BareMetalHost", "node-02")
    assert healed["metadata"]["generation"] == generation  # nobody edited the host
    assert healed["status"]["operationalStatus"] == "OK"
    assert healed["status"]["errorCount"] == 0
    assert "errorType" not in healed["status"]
    assert "errorMessage" not in healed["status"]


def test_secret_without_password_is_invalid_and_never_logged(
    kube: Kube, operator: OperatorProcess, namespace: str
) -> None:
    kube.create(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "half"},
            "stringData": {"username": "admin-user-7"},
        },
    )
    kube.create(namespace, host_body("node-03", "half"))
    wait_for(lambda: ready_reason(kube, namespace, "node-03") == "CredentialsInvalid", TIMEOUT, "CredentialsInvalid")
    cond = condition(kube.get(namespace, "BareMetalHost", "node-03"), "Ready")
    assert cond is not None
    assert "password" in cond["message"]

    # Fixing the Secret in place heals the host too.
    kube.core.patch_namespaced_secret("half", namespace, {"stringData": {"password": "pw-never-in-logs-91"}})
    wait_for(lambda: ready_reason(kube, namespace, "node-03") == "Registering", TIMEOUT, "healing after the fix")
    assert "pw-never-in-logs-91" not in operator.log()


def test_noderole_and_cluster_are_ready_with_observed_generation(
    kube: Kube, operator: OperatorProcess, namespace: str
) -> None:
    for sample, kind, name in (
        ("noderole.yaml", "NodeRole", "compute"),
        ("openstackcluster.yaml", "OpenStackCluster", "cloud-1"),
    ):
        for doc in samples(sample):
            kube.create(namespace, doc)

        def ready(kind: str = kind, name: str = name) -> dict[str, Any] | None:
            obj = kube.get(namespace, kind, name)
            cond = condition(obj, "Ready")
            current = obj.get("status", {}).get("observedGeneration") == obj["metadata"]["generation"]
            return cond if cond and cond["status"] == "True" and current else None

        cond = wait_for(ready, TIMEOUT, f"{kind} Ready")
        assert cond["reason"] == "Validated"


def test_metrics_count_reconciles_per_kind(kube: Kube, operator: OperatorProcess, namespace: str) -> None:
    kube.create(namespace, host_body("node-04", "absent"))
    wait_for(lambda: ready_reason(kube, namespace, "node-04") == "CredentialsMissing", TIMEOUT, "CredentialsMissing")
    text = wait_for(
        lambda: (m := operator.metrics()) and 'reason="CredentialsMissing"' in m and m, TIMEOUT, "error metric"
    )
    assert 'oci_reconcile_total{kind="BareMetalHost",result="error"}' in text
    assert 'oci_reconcile_duration_seconds_count{kind="BareMetalHost"}' in text
