"""BareMetalHost references and registration, by the operator process on a real API server."""

from __future__ import annotations

from typing import Any

from oci_operator.bmc.credentials import CREDENTIALS_LABEL
from support.bmcsim import SimControl
from support.hosts import create_host, host_manifest, ready, secret_manifest, status
from support.kube import Kube, condition, samples
from support.operator_process import OperatorProcess
from support.waiting import wait_for

TIMEOUT = 45


def test_sample_host_gets_observed_generation_and_ready_reason(
    kube: Kube, operator: OperatorProcess, nodes: SimControl, namespace: str
) -> None:
    bmc = nodes.take()  # a simulated server: the sample host is inspected before it is available
    secret, host = samples("baremetalhost.yaml")
    secret["stringData"].update(username=bmc.username, password=bmc.password)  # the sample, aimed at this test's BMC
    host["spec"]["bmc"]["address"] = bmc.address
    host["spec"]["bootMACAddress"] = bmc.mac
    kube.create(namespace, secret)
    kube.create(namespace, host)

    def observed() -> dict[str, Any] | None:
        obj = kube.get(namespace, "BareMetalHost", "node-01")
        current = obj.get("status", {}).get("observedGeneration") == obj["metadata"]["generation"]
        return obj if current and condition(obj, "Ready") else None

    first = condition(wait_for(observed, TIMEOUT, "observedGeneration == generation with a Ready condition"), "Ready")
    assert first is not None
    assert first["reason"]  # whatever the moment, the condition says why

    wait_for(lambda: ready(kube, namespace, "node-01") == ("True", "Available"), TIMEOUT, "Ready=True Available")
    obj = kube.get(namespace, "BareMetalHost", "node-01")
    assert obj["status"]["provisioning"]["state"] == "available"
    assert obj["status"]["poweredOn"] is True  # the sample asks for online: true
    assert obj["status"]["goodCredentials"]["name"] == "node-01-bmc"
    ready_cond = condition(obj, "Ready")
    assert ready_cond is not None
    assert ready_cond["observedGeneration"] == obj["metadata"]["generation"]

    # A spec edit bumps generation and the status follows it.
    edited = kube.patch_spec(namespace, "BareMetalHost", "node-01", {"rootDeviceHints": {"rotational": True}})
    wait_for(
        lambda: status(kube, namespace, "node-01").get("observedGeneration") == edited["metadata"]["generation"],
        TIMEOUT,
        "observedGeneration to follow the edit",
    )
    after = condition(kube.get(namespace, "BareMetalHost", "node-01"), "Ready")
    assert after is not None
    assert after["lastTransitionTime"] == ready_cond["lastTransitionTime"]  # status did not change


def test_missing_secret_warns_once_and_heals_without_touching_the_host(
    kube: Kube, operator: OperatorProcess, sim: SimControl, namespace: str
) -> None:
    bmc = sim.take()
    kube.create(namespace, host_manifest("node-02", bmc.address, "node-02-bmc"))
    wait_for(
        lambda: ready(kube, namespace, "node-02") == ("False", "CredentialsMissing"), TIMEOUT, "CredentialsMissing"
    )
    current = status(kube, namespace, "node-02")
    assert current["errorType"] == "registration error"
    assert current["operationalStatus"] == "error"
    assert "node-02-bmc" in current["errorMessage"]

    # Several attempts later (errorCount counts them) there is still exactly one Warning Event.
    wait_for(lambda: status(kube, namespace, "node-02")["errorCount"] >= 3, TIMEOUT, "three failed attempts")
    wait_for(lambda: kube.warnings(namespace, "node-02", "CredentialsMissing") >= 1, TIMEOUT, "the Warning Event")
    assert kube.warnings(namespace, "node-02", "CredentialsMissing") == 1
    assert sim.log(bmc) == []  # no credentials, no BMC traffic

    generation = kube.get(namespace, "BareMetalHost", "node-02")["metadata"]["generation"]
    kube.create(namespace, secret_manifest("node-02-bmc", bmc.username, bmc.password))
    wait_for(lambda: ready(kube, namespace, "node-02") == ("True", "Available"), TIMEOUT, "healing by itself")
    healed = kube.get(namespace, "BareMetalHost", "node-02")
    assert healed["metadata"]["generation"] == generation  # nobody edited the host
    assert healed["status"]["operationalStatus"] == "OK"
    assert healed["status"]["errorCount"] == 0
    assert "errorType" not in healed["status"]
    assert "errorMessage" not in healed["status"]


def test_secret_without_password_is_invalid_and_never_logged(
    kube: Kube, operator: OperatorProcess, sim: SimControl, namespace: str
) -> None:
    bmc = sim.take()
    kube.create(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "half", "labels": {CREDENTIALS_LABEL: "true"}},
            "stringData": {"username": bmc.username},
        },
    )
    kube.create(namespace, host_manifest("node-03", bmc.address, "half"))
    wait_for(
        lambda: ready(kube, namespace, "node-03") == ("False", "CredentialsInvalid"), TIMEOUT, "CredentialsInvalid"
    )
    cond = condition(kube.get(namespace, "BareMetalHost", "node-03"), "Ready")
    assert cond is not None
    assert "password" in cond["message"]

    kube.core.patch_namespaced_secret("half", namespace, {"stringData": {"password": bmc.password}})
    wait_for(lambda: ready(kube, namespace, "node-03") == ("True", "Available"), TIMEOUT, "healing after the fix")
    assert bmc.password not in operator.log()


def test_noderole_and_cluster_report_on_the_current_generation(
    kube: Kube, operator: OperatorProcess, namespace: str
) -> None:
    # A role without provisioned hosts is ready as written; a cluster with no hosts to take is not
    # ready, and says which role is short (kubectl wait and Argo CD read both from observedGeneration).
    for sample, kind, name, expected in (
        ("noderole.yaml", "NodeRole", "compute", ("True", "NoHosts")),
        ("openstackcluster.yaml", "OpenStackCluster", "cloud-1", ("False", "RoleShort")),
    ):
        for doc in samples(sample):
            kube.create(namespace, doc)

        def reported(kind: str = kind, name: str = name) -> dict[str, Any] | None:
            obj = kube.get(namespace, kind, name)
            cond = condition(obj, "Ready")
            current = obj.get("status", {}).get("observedGeneration") == obj["metadata"]["generation"]
            return cond if cond and current else None

        cond = wait_for(reported, TIMEOUT, f"{kind} Ready on its current generation")
        assert (cond["status"], cond["reason"]) == expected, cond
        if kind == "OpenStackCluster":
            assert "cephmon" in cond["message"], cond


def test_metrics_count_reconciles_per_kind(
    kube: Kube, operator: OperatorProcess, sim: SimControl, namespace: str
) -> None:
    bmc = sim.take()
    create_host(kube, namespace, "node-04", bmc)
    wait_for(lambda: ready(kube, namespace, "node-04") == ("True", "Available"), TIMEOUT, "Available")
    text = wait_for(
        lambda: (m := operator.metrics()) and 'operation="get_power",result="ok"' in m and m,
        TIMEOUT,
        "BMC call metrics",
    )
    assert 'oci_reconcile_total{kind="BareMetalHost",result="ok"}' in text
    assert 'oci_reconcile_duration_seconds_count{kind="BareMetalHost"}' in text
    assert "oci_bmc_call_duration_seconds_bucket" in text
    assert "oci_bmc_breakers_open" in text
