"""Events against the real API server (issue 13: "at most one Warning per host per distinct error"): a
repeated Warning is a count on the Event already posted, with the latest message; Normal Events repeat
only with the same words; an Event that expired (or was deleted) is posted anew."""

from __future__ import annotations

from typing import Any

from oci_operator.k8s import client as k8s
from oci_operator.k8s.events import Recorder
from support.hosts import host_manifest
from support.kube import Kube


def _summary(kube: Kube, namespace: str, name: str) -> list[tuple[str, str, int, str]]:
    return sorted((e.type, e.reason, e.count or 1, e.message) for e in kube.events(namespace, name))


def test_repeated_warnings_become_one_event_with_a_count(kube: Kube, private_namespace: str) -> None:
    k8s.load(kube.kubeconfig)
    host: dict[str, Any] = kube.create(private_namespace, host_manifest("flappy", "ipmi://127.0.0.1:9", "flappy-bmc"))
    recorder = Recorder("oci-operator")
    for command in ("power status", "chassis bootdev", "power on"):
        recorder.record(host, "Warning", "BMCUnreachable", f"BMC 127.0.0.1:9 did not answer {command}")
    recorder.record(host, "Normal", "PowerOn", "powered on")
    recorder.record(host, "Normal", "PowerOn", "powered on")
    recorder.record(host, "Normal", "Registered", "credentials proven")
    recorder.record(host, "Normal", "Registered", "credentials proven again")
    assert recorder.flush(30)

    assert _summary(kube, private_namespace, "flappy") == [
        ("Normal", "PowerOn", 2, "powered on"),
        ("Normal", "Registered", 1, "credentials proven"),
        ("Normal", "Registered", 1, "credentials proven again"),
        ("Warning", "BMCUnreachable", 3, "BMC 127.0.0.1:9 did not answer power on"),
    ]
    warning = next(e for e in kube.events(private_namespace, "flappy") if e.type == "Warning")
    assert warning.involved_object.uid == host["metadata"]["uid"]
    assert warning.source.component == "oci-operator"
    assert warning.first_timestamp <= warning.last_timestamp

    kube.core.delete_namespaced_event(warning.metadata.name, private_namespace)  # as if it had expired
    recorder.record(host, "Warning", "BMCUnreachable", "BMC 127.0.0.1:9 did not answer power status")
    assert recorder.flush(30)
    warnings = [e for e in kube.events(private_namespace, "flappy") if e.type == "Warning"]
    assert [(e.count, e.message) for e in warnings] == [(1, "BMC 127.0.0.1:9 did not answer power status")]


def test_a_message_too_long_for_the_api_server_is_cut_not_lost(kube: Kube, private_namespace: str) -> None:
    k8s.load(kube.kubeconfig)
    host: dict[str, Any] = kube.create(private_namespace, host_manifest("wordy", "ipmi://127.0.0.1:9", "wordy-bmc"))
    recorder = Recorder("oci-operator")
    recorder.record(host, "Warning", "ProvisioningFailed", "x" * 5000)
    assert recorder.flush(30)
    [event] = kube.events(private_namespace, "wordy")
    assert event.reason == "ProvisioningFailed"
    assert len(event.message) == 1024
