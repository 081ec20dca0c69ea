"""What Argo CD (config/argocd/health.lua) and Flux (kstatus) make of every object a real provisioning
writes, from a watch: none may look done before the work is (issue 17, bug 1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.bmcsim import SimControl
from support.bootserver import BootServerProcess
from support.health import health, kstatus
from support.hosts import create_booting_host, ready, state
from support.kube import Kube
from support.operator_process import OperatorProcess
from support.waiting import wait_for
from support.watching import StateRecorder

TIMEOUT = 90
ROLE = {
    "apiVersion": "oci.openstack.org/v1alpha1",
    "kind": "NodeRole",
    "metadata": {"name": "compute"},
    "spec": {"resources": [{"type": "file", "name": "motd", "path": "/etc/motd", "template": "hello\n"}]},
}


class ObjectRecorder(StateRecorder):
    """Every version of the host the watch delivers, not only its state changes."""

    def __init__(self, kube: Kube, namespace: str, name: str) -> None:
        self.objects: list[dict[str, Any]] = []
        super().__init__(kube, namespace, name)

    def _record(self, obj: dict[str, Any]) -> None:
        self.objects.append(obj)
        super()._record(obj)


@pytest.fixture
def watched(kube: Kube, namespace: str) -> Iterator[ObjectRecorder]:
    rec = ObjectRecorder(kube, namespace, "srv")
    yield rec
    rec.stop()


def summary(obj: dict[str, Any]) -> str:
    status = obj.get("status") or {}
    conds = ",".join(f"{c['type']}={c['status']}/{c.get('reason')}" for c in status.get("conditions") or [])
    prov = (status.get("provisioning") or {}).get("state")
    return f"gen={obj['metadata'].get('generation')} observed={status.get('observedGeneration')} {prov} {conds}"


def done(obj: dict[str, Any], wanted_state: str) -> bool:
    """The work for this generation is finished: the wanted state reached and Ready for this very spec."""
    status = obj.get("status") or {}
    ready_now = [c for c in status.get("conditions") or [] if c["type"] == "Ready" and c["status"] == "True"]
    return (
        (status.get("provisioning") or {}).get("state") == wanted_state
        and status.get("observedGeneration") == obj["metadata"]["generation"]
        and bool(ready_now)
    )


def judge_until_done(objects: list[dict[str, Any]], generation: int, wanted_state: str) -> list[str]:
    """Judge every object of `generation` up to the first that is done; return what each was called.
    Objects without any status yet are what the API server created: kstatus calls those Current
    whatever the operator does (documented in docs/gitops.md), so only Argo CD's verdict counts for them."""
    seen: list[str] = []
    for obj in objects:
        if obj["metadata"].get("generation") != generation:
            continue
        argo, message = health(obj)
        flux = kstatus(obj)
        seen.append(f"{argo}/{flux}: {summary(obj)} ({message})")
        if done(obj, wanted_state):
            return seen
        assert argo != "Healthy", "\n".join(seen)
        if obj.get("status"):
            assert flux != "Current", "\n".join(seen)
    raise AssertionError("never done:\n" + "\n".join(seen))


def test_no_object_looks_done_before_inspection_provisioning_or_deprovisioning_is(
    kube: Kube,
    namespace: str,
    nodes: SimControl,
    bootserver: BootServerProcess,
    operator: OperatorProcess,
    watched: ObjectRecorder,
) -> None:
    kube.create(namespace, ROLE)
    bmc = nodes.take()
    create_booting_host(kube, namespace, "srv", bmc, bmc.mac, online=True)
    wait_for(lambda: ready(kube, namespace, "srv") == ("True", "Available"), TIMEOUT, "inspection to finish")
    role_events = [e for e in kube.events(namespace, "compute") if e.involved_object.kind == "NodeRole"]
    assert sum(e.count or 1 for e in role_events if e.reason == "NoHosts") == 1, role_events  # once, not twice
    created = judge_until_done(watched.objects, 1, "available")
    assert len(created) >= 4, created  # registering, inspecting... each judged
    assert created[-1].startswith("Healthy/Current"), created

    generation = kube.patch_spec(namespace, "BareMetalHost", "srv", {"role": "compute"})["metadata"]["generation"]
    wait_for(lambda: state(kube, namespace, "srv") == "provisioned", TIMEOUT, "provisioned")
    wait_for(lambda: ready(kube, namespace, "srv") == ("True", "Available"), TIMEOUT, "Ready after provisioning")
    wait_for(lambda: any(done(o, "provisioned") for o in list(watched.objects)), TIMEOUT, "the watch to deliver it")
    provisioning = judge_until_done(list(watched.objects), generation, "provisioned")
    assert any(" provisioning " in line for line in provisioning), provisioning
    # Installed, but no agent ever reports: both tools still say "in progress", neither says done.
    assert provisioning[-1].startswith("Progressing/InProgress"), provisioning
    assert "Converged=False/Converging" in provisioning[-1], provisioning
    assert "waiting for the node agent" in provisioning[-1], provisioning

    generation = kube.patch_spec(namespace, "BareMetalHost", "srv", {"role": None})["metadata"]["generation"]
    wait_for(lambda: state(kube, namespace, "srv") == "available", TIMEOUT, "available after deprovisioning")
    wait_for(lambda: ready(kube, namespace, "srv") == ("True", "Available"), TIMEOUT, "Ready after deprovisioning")
    wait_for(lambda: any(done(o, "available") for o in list(watched.objects)), TIMEOUT, "the watch to deliver it")
    deprovisioning = judge_until_done(list(watched.objects), generation, "available")
    assert any(" deprovisioning " in line for line in deprovisioning), deprovisioning
    assert deprovisioning[-1].startswith("Healthy/Current"), deprovisioning

    # One Event per step, from the operator by name; each process writes under its own field manager.
    events = [e for e in kube.events(namespace, "srv") if e.involved_object.kind == "BareMetalHost"]
    counts = {reason: sum(e.count or 1 for e in events if e.reason == reason) for reason in {e.reason for e in events}}
    assert counts["ProvisioningStarted"] == counts["DeprovisioningStarted"] == 1, counts
    assert {e.source.component for e in events if e.source} == {"oci-operator"}, events
    fields = kube.get(namespace, "BareMetalHost", "srv")["metadata"]["managedFields"]
    status_writers = {m["manager"] for m in fields if "f:status" in m.get("fieldsV1", {})}
    assert status_writers == {"oci-operator", "oci-bootserver"}, fields  # the test's own client is OpenAPI-Generator
