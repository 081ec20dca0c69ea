"""The cluster controller wired end to end over an in-memory store: hosts selected and claimed, stable
addresses, one generated NodeRole per host with no secret in it, OCI's install order gated on
convergence, the initial_cluster_setup flip, failures, pause and limit, scale-down and deletion."""

from __future__ import annotations

import itertools
import json
from typing import Any

import yaml

from oci_operator.api.v1alpha1 import BareMetalHost, NodeRole, OpenStackCluster
from oci_operator.api.v1alpha1.openstackcluster import KEEP_HOSTS_ANNOTATION, CloudRole
from oci_operator.cloud.reconcile import reconcile_cluster, release_all
from oci_operator.cloud.rollout import PAUSE_ANNOTATION
from oci_operator.reconcilers.desired_state import render_desired_state
from support.cloud import spec_dict
from support.cloud_store import MemoryStore, bmh
from support.health import health, kstatus

GIB = 1024**3
CLOUD = {CloudRole.CONTROLLER: 3, CloudRole.COMPUTE: 2, CloudRole.MESSAGING: 1, CloudRole.CEPHMON: 3,
         CloudRole.CEPHOSD: 3}  # fmt: skip


def hardware(ram_gib: int, disks: int = 2) -> dict[str, Any]:
    return {
        "systemVendor": {"manufacturer": "Dell Inc.", "product": "PowerEdge R650"},
        "cpu": {"arch": "x86_64", "count": 32},
        "ramMebibytes": ram_gib * 1024,
        "disks": [{"name": f"/dev/sd{chr(97 + i)}", "sizeBytes": 960 * GIB, "rotational": False}
                  for i in range(disks)],
        "nics": [{"name": "eno1", "mac": "52:54:00:00:00:01", "speedMbps": 25000}],
    }  # fmt: skip


def cluster(status: dict[str, Any] | None = None, annotations: dict[str, str] | None = None,
            roles: dict[CloudRole, int] = CLOUD, **extra: Any) -> OpenStackCluster:  # fmt: skip
    return OpenStackCluster.model_validate(
        {
            "metadata": {"name": "c1", "namespace": "ns", "uid": "u-1", "generation": 1,
                         "annotations": annotations or {}},
            "spec": spec_dict(roles, **extra),
            "status": status or {},
        }
    )  # fmt: skip


def fleet() -> list[dict[str, Any]]:
    """Labelled hosts for every role (the default selection: cluster and role labels)."""
    return [
        bmh(f"{role}-{i}", {"oci.openstack.org/cluster": "c1", "oci.openstack.org/cloud-role": str(role)},
            hardware(256))
        for role, count in CLOUD.items()
        for i in range(count)
    ]  # fmt: skip


class Drive:
    """Cluster passes with the hosts moving in between, as the operator's timer would run them."""

    def __init__(self, store: MemoryStore, **kwargs: Any) -> None:
        self.store, self.kwargs = store, kwargs
        self.obj = cluster(**kwargs)
        self.outcomes: list[Any] = []

    def step(self, failing: frozenset[str] = frozenset()) -> Any:
        outcome, _ = reconcile_cluster(self.obj, self.store)
        self.outcomes.append(outcome)
        self.obj = cluster(status=outcome.status.wire(), **self.kwargs)
        self.store.settle(failing)
        return outcome

    def until_ready(self, limit: int = 40, failing: frozenset[str] = frozenset()) -> Any:
        for _ in range(limit):
            outcome = self.step(failing)
            if ready(outcome)[0] == "True":
                return outcome
        raise AssertionError(f"not Ready after {limit} passes: {ready(outcome)}")


def ready(outcome: Any) -> tuple[str, str, str]:
    cond = next(c for c in outcome.status.conditions if c.type == "Ready")
    return cond.status, cond.reason, cond.message


def as_applied(outcome: Any) -> dict[str, Any]:
    """The cluster object as Argo CD and Flux would read it after this pass."""
    return {"kind": "OpenStackCluster", "metadata": {"name": "c1", "generation": 1}, "status": outcome.status.wire()}


def role_of(name: str) -> str:
    return name.rsplit("-", 1)[0]


def test_a_cloud_rolls_out_in_ocis_order_and_flips_initial_cluster_setup() -> None:
    store = MemoryStore(fleet())
    drive = Drive(store)
    first = drive.step()
    assert ready(first)[:2] == ("False", "Provisioning")
    assert health(as_applied(first)) == ("Progressing", "Provisioning: cephmon 0/3 converged (step cephmon 0/3)")
    assert kstatus(as_applied(first)) == "InProgress"
    done = drive.until_ready()
    assert ready(done)[1] == "Converged"
    assert done.status.rollout.phase == "Complete"
    assert {r: (s.desired, s.converged) for r, s in done.status.roles.items()} == {
        str(r): (n, n) for r, n in CLOUD.items()
    }

    # Releases (spec.role set) and convergences in the order the log recorded them.
    released = [n for what, n, patch in store.log if what == "host" and "role" in (patch or {}).get("spec", {})]
    first_converged: dict[str, int] = {}
    for i, (what, name, _) in enumerate(store.log):
        if what == "converged":
            first_converged.setdefault(name, i)
    order = ["cephmon", "cephosd", "messaging", "controller", "compute"]
    assert [role_of(n) for n in released] == sorted((role_of(n) for n in released), key=order.index)
    release_at = {n: i for i, (w, n, p) in enumerate(store.log) if w == "host" and "role" in (p or {}).get("spec", {})}
    for earlier, later in itertools.pairwise(order):
        last_converged = max(i for n, i in first_converged.items() if role_of(n) == earlier)
        first_release = min(i for n, i in release_at.items() if role_of(n) == later)
        assert last_converged < first_release, f"{later} released before {earlier} converged"

    # The controllers ran with initial_cluster_setup true, then again with false; nobody else was
    # released before that second run.
    runs = [(n, yaml.safe_load(doc["resources"][-1]["hiera"])) for w, n, doc in store.log if w == "converged"]
    flags = [h["oci::controller::initial_cluster_setup"] for n, h in runs if n == "controller-0"]
    assert flags[0] is True
    assert flags[-1] is False
    flipped = next(
        i
        for i, (w, n, doc) in enumerate(store.log)
        if (w, n) == ("converged", "controller-0")
        and yaml.safe_load(doc["resources"][-1]["hiera"])["oci::controller::initial_cluster_setup"] is False
    )
    assert min(i for n, i in release_at.items() if role_of(n) == "compute") > flipped
    assert done.status.initial_setup_done is True


def test_hosts_get_stable_names_addresses_and_one_generated_role_each_without_secrets() -> None:
    store = MemoryStore(fleet())
    drive = Drive(store)
    outcome = drive.step()
    hosts = outcome.status.hosts
    assert len(hosts) == 12
    assert hosts["controller-0"].hostname == "c1-controller-1.cloud1.example.net"
    assert len({h.address for h in hosts.values()}) == 12
    claimed = {n for n, h in store.hosts.items() if h["spec"].get("consumerRef", {}).get("name") == "c1"}
    assert claimed == set(store.hosts)
    assert store.hosts["compute-1"]["status"]["selection"]["c1"] == "takes compute"
    place = {"cluster": "c1", "role": "controller", "hostname": "c1-controller-1.cloud1.example.net"}
    assert store.hosts["controller-0"]["status"]["cloud"] == place | {"address": hosts["controller-0"].address}

    role = NodeRole.model_validate(store.noderoles["c1-controller-0"])
    assert role.metadata["ownerReferences"][0]["uid"] == "u-1"  # type: ignore[index]
    packages = [r.name for r in role.spec.resources if r.type == "package"]
    assert packages[:2] == ["puppet", "puppet-module-oci"]
    assert len(packages) == 7
    files = {r.name: r for r in role.spec.resources if r.type == "file"}
    assert files["host-key"].mode == "0600"
    assert files["host-certificate"].mode == "0600"
    puppet = role.spec.resources[-1]
    assert puppet.classes == ["oci::generic", "oci::filebeat", "oci::controller"]

    # No secret value in any NodeRole, status or message; the rendered document has them.
    secret_values = [v for s in store.secrets.values() for v in s.data.values() if len(v) > 8]
    visible = json.dumps([store.noderoles, outcome.status.wire()]) + str(outcome.events)
    leaked = [v[:12] for v in secret_values if v in visible and not v.startswith("-----BEGIN CERTIFICATE")]
    assert leaked == []
    host = BareMetalHost.model_validate(store.hosts["controller-0"])
    rendered = render_desired_state(host, role, store.secrets["c1-host-controller-0"].data)
    assert not isinstance(rendered, str)
    hiera = yaml.safe_load(rendered.document["resources"][-1]["hiera"])
    assert hiera["oci::controller::pass_rabbitmq_cookie"] == store.secrets["c1-secrets"].data["rabbitmq_cookie"]
    assert rendered.document["resources"][-3]["content"].startswith("-----BEGIN ")  # the key, filled in
    assert "<secret:" in json.dumps(store.noderoles["c1-controller-0"])
    missing = render_desired_state(host, role, {})
    assert isinstance(missing, str)
    assert "ca.crt, hiera.yaml, tls.crt, tls.key" in missing

    # Another pass with a new host: nobody moves.
    store.hosts["compute-9"] = bmh("compute-9", {"oci.openstack.org/cluster": "c1",
                                                 "oci.openstack.org/cloud-role": "compute"}, hardware(256))  # fmt: skip
    again = drive.step()
    assert {n: (h.hostname, h.address) for n, h in again.status.hosts.items()} == {
        n: (h.hostname, h.address) for n, h in hosts.items()
    }
    assert store.hosts["compute-9"]["status"]["selection"]["c1"] == "matches compute but the role is full"
    assert "cloud" not in store.hosts["compute-9"]["status"]
    shown = [w for w in store.log if w[0] == "host-status" and "cloud" in (w[2] or {})]
    assert len(shown) == 12  # each host's place written once, not again on the second pass
    assert "consumerRef" not in store.hosts["compute-9"]["spec"]


def test_hardware_profiles_pick_hosts_explain_the_others_and_a_short_role_stalls_until_a_host_comes() -> None:
    hosts = [bmh(f"ctl-{i}", {}, hardware(256)) for i in range(3)]
    hosts += [bmh("big-1", {}, hardware(512, disks=4)), bmh("small-1", {}, hardware(64))]
    profiles = [{"name": "controller", "ramMinGib": 128, "diskCountMax": 2},
                {"name": "compute-large", "ramMinGib": 384}]  # fmt: skip
    selection = {"controller": {"profiles": ["controller"]}, "compute": {"profiles": ["compute-large"]}}
    roles = {CloudRole.CONTROLLER: 3, CloudRole.COMPUTE: 2}
    store = MemoryStore(hosts)
    drive = Drive(store, roles=roles, hardwareProfiles=profiles, selection=selection)
    outcome = None
    for _ in range(8):
        outcome = drive.step()
    assert outcome is not None
    assert {n: h.role for n, h in outcome.status.hosts.items()} == {
        "ctl-0": "controller", "ctl-1": "controller", "ctl-2": "controller", "big-1": "compute"
    }  # fmt: skip
    assert outcome.status.hosts["big-1"].profile == "compute-large"
    why = store.hosts["small-1"]["status"]["selection"]["c1"]
    assert "RAM 64 GiB < 128 GiB required by profile controller" in why
    assert "RAM 64 GiB < 384 GiB required by profile compute-large" in why
    status, reason, message = ready(outcome)
    assert (status, reason) == ("False", "RoleShort")
    assert message.startswith("compute 1/2: 1 host(s) short of 2")
    assert "small-1: RAM 64 GiB < 384 GiB required by profile compute-large" in message
    assert any(c.type == "Stalled" for c in outcome.status.conditions)
    assert outcome.status.roles["compute"].short_reason

    store.hosts["big-2"] = bmh("big-2", {}, hardware(512))
    assert ready(drive.until_ready(limit=10))[1] == "Converged"


def test_a_failing_compute_stalls_the_cluster_and_heals() -> None:
    store = MemoryStore(fleet())
    drive = Drive(store)
    for _ in range(30):
        outcome = drive.step(failing=frozenset({"compute-1"}))
        if ready(outcome)[1] == "HostFailed":
            break
    status, reason, message = ready(outcome)
    assert (status, reason) == ("False", "HostFailed")
    assert "compute-1 failed" in message
    assert "puppet apply exit 6" in message
    assert outcome.status.roles["compute"].failed == 1
    assert any(c.type == "Stalled" for c in outcome.status.conditions)
    assert health(as_applied(outcome))[0] == "Degraded"
    assert kstatus(as_applied(outcome)) == "Failed"
    healed = drive.until_ready(limit=5)
    assert ready(healed)[1] == "Converged"
    assert health(as_applied(healed))[0] == "Healthy"
    assert kstatus(as_applied(healed)) == "Current"


def test_pause_holds_and_limit_caps_the_release() -> None:
    store = MemoryStore(fleet())
    paused = Drive(store, annotations={PAUSE_ANNOTATION: "true"})
    outcome = paused.step()
    assert ready(outcome)[1] == "Paused"
    assert not [h for h in store.hosts.values() if h["spec"].get("role")]
    limited = Drive(store, provisioningLimit=1)
    limited.obj = cluster(status=outcome.status.wire(), provisioningLimit=1)
    limited.step()
    assert len([h for h in store.hosts.values() if h["spec"].get("role")]) == 1


def test_scale_down_gives_a_host_back_and_frees_its_address() -> None:
    store = MemoryStore(fleet())
    drive = Drive(store)
    before = drive.until_ready()
    gone_address = before.status.hosts["compute-1"].address
    smaller = dict(CLOUD) | {CloudRole.COMPUTE: 1}
    drive.kwargs = {"roles": smaller}
    drive.obj = cluster(status=before.status.wire(), roles=smaller)
    after = drive.step()
    spec = store.hosts["compute-1"]["spec"]
    assert "role" not in spec
    assert "consumerRef" not in spec
    assert spec["online"] is False
    assert "c1-compute-1" not in store.noderoles
    assert "c1-host-compute-1" not in store.secrets
    assert "compute-1" not in after.status.hosts
    assert gone_address not in {h.address for h in after.status.hosts.values()}
    assert ("wiped", "compute-1", None) in store.log
    assert store.hosts["compute-1"]["status"]["selection"]["c1"].startswith("released from compute")
    assert "cloud" not in store.hosts["compute-1"]["status"]
    assert ready(drive.until_ready(limit=5))[1] == "Converged"

    # A host deleted outright: its NodeRole and Secret go too (the role is short again).
    del store.hosts["compute-0"]
    drive.step()
    assert "c1-compute-0" not in store.noderoles
    assert "c1-host-compute-0" not in store.secrets


def test_deletion_gives_every_host_back_and_removes_what_the_cluster_made() -> None:
    store = MemoryStore(fleet())
    drive = Drive(store)
    done = drive.until_ready()
    assert release_all(cluster(status=done.status.wire()), store) == 12
    assert not [h for h in store.hosts.values() if h["spec"].get("role") or h["spec"].get("consumerRef")]
    assert not [h for h in store.hosts.values() if "cloud" in h["status"] or h["status"].get("selection")]
    assert store.noderoles == {}
    assert store.secrets == {}


def test_deletion_with_keep_hosts_only_drops_the_claims() -> None:
    store = MemoryStore(fleet())
    drive = Drive(store)
    done = drive.until_ready()
    kept = cluster(status=done.status.wire(), annotations={KEEP_HOSTS_ANNOTATION: "true"})
    assert release_all(kept, store) == 12
    assert all(h["spec"]["role"] == f"c1-{n}" and "consumerRef" not in h["spec"] for n, h in store.hosts.items())
    assert len(store.noderoles) == 12
    assert all(r["metadata"]["ownerReferences"] == [] for r in store.noderoles.values())
    assert "c1-secrets" in store.secrets
