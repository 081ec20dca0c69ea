"""Issue 12, against the real API server and a simulated BMC: a host's bring-up is three status writes,
and the one that records the power command also records the power seen, before the command left."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import watch

from support.bmcsim import SimControl
from support.hosts import host_manifest, secret_manifest, settled
from support.kube import Kube
from support.operator_process import OperatorProcess
from support.waiting import wait_for

TIMEOUT = 60
PAUSED = "paused.oci.openstack.org"


class StatusRecorder:
    """Every distinct status the host is written with, in order, from a watch (polling would miss some)."""

    def __init__(self, kube: Kube, namespace: str, name: str) -> None:
        self.statuses: list[dict[str, Any]] = []
        self.seen = threading.Event()  # the watch has delivered the host at least once
        self._watch = watch.Watch()
        args = (kube.custom.list_namespaced_custom_object, "oci.openstack.org", "v1alpha1", namespace, "baremetalhosts")
        self._thread = threading.Thread(target=self._run, args=(args, name), daemon=True)
        self._thread.start()

    def _run(self, args: tuple[Any, ...], name: str) -> None:
        try:
            for event in self._watch.stream(*args, field_selector=f"metadata.name={name}", timeout_seconds=600):
                status = event["object"].get("status") or {}
                if status and (not self.statuses or json.dumps(self.statuses[-1]) != json.dumps(status)):
                    self.statuses.append(status)
                self.seen.set()
        except Exception:  # the watch ends with the test (stop) or the API server
            return

    def stop(self) -> None:
        self._watch.stop()


@pytest.fixture
def recorder(kube: Kube, namespace: str) -> Iterator[StatusRecorder]:
    rec = StatusRecorder(kube, namespace, "bw1")
    yield rec
    rec.stop()


def test_bring_up_is_three_status_writes_and_the_intent_carries_what_was_seen(
    kube: Kube, operator: OperatorProcess, sim: SimControl, namespace: str, recorder: StatusRecorder
) -> None:
    bmc = sim.take()
    # Created paused, and let go once the watch has seen it: no write happens before the recorder listens.
    kube.create(namespace, secret_manifest("bw1-bmc", bmc.username, bmc.password))
    kube.create(namespace, host_manifest("bw1", bmc.address, "bw1-bmc", True, {PAUSED: "until the recorder watches"}))
    wait_for(recorder.seen.is_set, TIMEOUT, "the recorder's watch to deliver the host")
    statuses_before = len(recorder.statuses)
    kube.annotate(namespace, "BareMetalHost", "bw1", {PAUSED: None})
    wait_for(lambda: settled(kube, namespace, "bw1", True), TIMEOUT, "bw1 Available and powered on")
    assert sim.count(bmc, "power_on") == 1

    written = recorder.statuses[statuses_before:]
    states = [(s.get("provisioning") or {}).get("state") for s in written]
    assert states == ["registering", "available", "available"], written
    registering, intent, result = written
    assert registering["goodCredentials"]["name"] == "bw1-bmc"
    assert "lastPowerCommand" not in registering
    assert intent["poweredOn"] is False  # seen off, in the write that records the command
    assert intent["lastPowerCommand"]["action"] == "on"
    assert result["poweredOn"] is True
