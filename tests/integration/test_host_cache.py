"""The cached host view's safety net, against the real API server (issue 12): passes decide on kopf's
watch-fed body instead of a GET, so the status write that records an intent is conditional on the
version decided on; a host changed meanwhile refuses it (StaleObject) and nothing is sent."""

from __future__ import annotations

import pytest

from oci_operator.k8s import client as k8s
from support.hosts import host_manifest
from support.kube import GROUP, VERSION, Kube


def test_an_intent_decided_on_an_old_version_is_refused_and_a_current_one_written(
    kube: Kube, private_namespace: str
) -> None:
    k8s.load(kube.kubeconfig)
    kube.create(private_namespace, host_manifest("cached", "ipmi://127.0.0.1:9", "cached-bmc"))
    where = (GROUP, VERSION, "baremetalhosts", private_namespace, "cached")
    seen = k8s.patch_status(*where, {"errorCount": 0})
    decided_on = seen["metadata"]["resourceVersion"]
    kube.annotate(private_namespace, "BareMetalHost", "cached", {"someone": "else"})  # the view is now old

    with pytest.raises(k8s.StaleObject):
        k8s.patch_status(*where, {"lastPowerCommand": {"action": "on", "issued": "2026-01-01T00:00:00Z"}}, decided_on)
    assert "lastPowerCommand" not in kube.get(private_namespace, "BareMetalHost", "cached").get("status", {})

    current = kube.get(private_namespace, "BareMetalHost", "cached")["metadata"]["resourceVersion"]
    stored = k8s.patch_status(*where, {"lastPowerCommand": {"action": "on", "issued": "2026-01-01T00:00:00Z"}}, current)
    assert stored["status"]["lastPowerCommand"]["action"] == "on"
    assert int(stored["metadata"]["resourceVersion"]) > int(current)  # what the view compares
