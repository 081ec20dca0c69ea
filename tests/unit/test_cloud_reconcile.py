"""One reconcile pass over an in-memory store: Secrets created once and owned by the cluster, a second
pass writes nothing, InvalidTopology and SecretsLost as conditions, never a secret value in a message."""

from __future__ import annotations

import json
from typing import Any

from oci_operator.api.v1alpha1 import OpenStackCluster
from oci_operator.api.v1alpha1.openstackcluster import CLOUD_ROLE_LABEL, CLUSTER_LABEL
from oci_operator.cloud.reconcile import reconcile_cluster
from support.cloud import MINIMAL, spec_dict
from support.cloud_store import MemoryStore, bmh


def cluster(status: dict[str, Any] | None = None, **spec: Any) -> OpenStackCluster:
    return OpenStackCluster.model_validate(
        {
            "metadata": {"name": "cloud1", "namespace": "ns", "uid": "u-1", "generation": 2},
            "spec": spec_dict(MINIMAL) | spec,
            "status": status or {},
        }
    )


def host(name: str, role: str) -> dict[str, Any]:
    return bmh(name, {CLUSTER_LABEL: "cloud1", CLOUD_ROLE_LABEL: role})


def hosts() -> list[dict[str, Any]]:
    return [host(f"c{i}", "controller") for i in range(3)] + [host(f"n{i}", "compute") for i in range(2)]


def ready(outcome_status: Any) -> tuple[str, str, str]:
    cond = next(c for c in outcome_status.conditions if c.type == "Ready")
    return cond.status, cond.reason, cond.message


def test_first_pass_creates_owned_secrets_and_plans_the_hosts() -> None:
    store = MemoryStore(hosts())
    outcome, the_plan = reconcile_cluster(cluster(), store)
    assert ready(outcome.status) == ("False", "Provisioning", "controller 0/3 converged")
    cluster_secrets = {"cloud1-secrets", "cloud1-ca", "cloud1-certificates"}
    assert set(store.secrets) == cluster_secrets | {f"cloud1-host-{h}" for h in ("c0", "c1", "c2", "n0", "n1")}
    assert {o.uid for o in store.owners.values()} == {"u-1"}
    assert the_plan is not None
    c1 = the_plan.host("c0").enc()["classes"]["oci::controller"]
    assert c1["pass_rabbitmq_cookie"] == store.secrets["cloud1-secrets"].data["rabbitmq_cookie"]
    assert c1["initial_cluster_setup"] is True
    assert outcome.status.secrets_in_use is True  # type: ignore[attr-defined]


def test_a_second_pass_writes_nothing_and_keeps_every_value() -> None:
    store = MemoryStore(hosts())
    taken, _ = reconcile_cluster(cluster(), store)
    # The second pass only turns each host's "takes controller" into "keeps controller".
    first, _ = reconcile_cluster(cluster(status=taken.status.wire()), store)
    before, writes = {k: v.data for k, v in store.secrets.items()}, store.writes
    again = cluster(status=first.status.wire())
    second, the_plan = reconcile_cluster(again, store)
    assert store.writes == writes
    assert {k: v.data for k, v in store.secrets.items()} == before
    assert second.events == []
    assert the_plan is not None
    # Still being set up until the roll-out records the controllers' first successful runs.
    assert the_plan.host("c0").enc()["classes"]["oci::controller"]["initial_cluster_setup"] is True
    done = cluster(status=first.status.wire() | {"initialSetupDone": True})
    _, running = reconcile_cluster(done, store)
    assert running is not None
    assert running.host("c0").enc()["classes"]["oci::controller"]["initial_cluster_setup"] is False


def test_a_missing_password_is_added_without_touching_the_others() -> None:
    store = MemoryStore()
    reconcile_cluster(cluster(), store)
    stored = store.secrets["cloud1-secrets"]
    del stored.data["nova_db"]
    reconcile_cluster(cluster(), store)
    after = store.secrets["cloud1-secrets"].data
    assert "nova_db" in after
    assert {k: v for k, v in after.items() if k != "nova_db"} == stored.data


def test_secrets_lost_after_hosts_got_them_is_reported_not_regenerated() -> None:
    store = MemoryStore(hosts())
    first, _ = reconcile_cluster(cluster(), store)
    del store.secrets["cloud1-secrets"]
    outcome, the_plan = reconcile_cluster(cluster(status=first.status.wire()), store)
    status, reason, message = ready(outcome.status)
    assert (status, reason, the_plan) == ("False", "SecretsLost", None)
    assert "Secret cloud1-secrets" in message
    assert "cloud1-secrets" not in store.secrets
    assert [e.reason for e in outcome.events] == ["SecretsLost"]


def test_invalid_topology_is_a_condition_naming_every_problem() -> None:
    store = MemoryStore(hosts())
    outcome, the_plan = reconcile_cluster(cluster(roles={"controller": 2, "compute": 2, "cephmon": 1}), store)
    status, reason, message = ready(outcome.status)
    assert (status, reason, the_plan) == ("False", "InvalidTopology", None)
    assert "role controller needs at least 3 hosts, the cluster declares 2" in message
    assert "role cephmon forms a quorum: declare none or at least 3, not 1" in message
    assert [e.type for e in outcome.events] == ["Warning"]


def test_no_secret_value_in_status_or_events() -> None:
    store = MemoryStore(hosts())
    outcome, _ = reconcile_cluster(cluster(), store)
    del store.secrets["cloud1-ca"]
    lost, _ = reconcile_cluster(cluster(status=outcome.status.wire()), store)
    text = json.dumps([outcome.status.wire(), lost.status.wire()]) + str(outcome.events + lost.events)
    for secret in store.secrets.values():
        for value in secret.data.values():
            assert value not in text
