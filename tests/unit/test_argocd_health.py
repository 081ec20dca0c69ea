"""The Argo CD health check (config/argocd/health.lua), run by Debian's Lua 5.1 (Argo CD's Lua) against
objects in each state, and the kstatus conditions those objects carry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from oci_operator.api.v1alpha1.meta import Condition
from oci_operator.api.v1alpha1.openstackcluster import OpenStackClusterStatus, RoleStatus, RolloutStatus
from oci_operator.bmc.governor import GovernorConfig
from oci_operator.conditions import set_condition
from oci_operator.reconcilers.outcome import with_kstatus
from support.fake_bmc import FakeDriver
from support.health import health, kstatus
from support.host_bench import T0, Bench


def cond(type_: str, status: str, reason: str, message: str = "") -> dict[str, str]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }


def host(generation: int = 2, observed: int | None = 2, *conditions: dict[str, str]) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": list(conditions)}
    if observed is not None:
        status["observedGeneration"] = observed
    return {"kind": "BareMetalHost", "metadata": {"name": "h", "generation": generation}, "status": status}


STALLED_HOST = host(2, 2, cond("Ready", "False", "CredentialsRejected"), cond("Stalled", "True", "CredentialsRejected"))
READY = cond("Ready", "True", "Available", "power is on as requested")


def role(*conditions: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": "NodeRole",
        "metadata": {"generation": 4},
        "status": {"observedGeneration": 4, "conditions": list(conditions)},
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"kind": "BareMetalHost", "metadata": {"generation": 1}}, "Progressing"),
        (host(3, 2, READY), "Progressing"),  # an edit not yet observed
        (host(2, 2, READY), "Healthy"),
        (host(2, 2, cond("Ready", "False", "Inspecting"), cond("Reconciling", "True", "Inspecting")), "Progressing"),
        (STALLED_HOST, "Degraded"),
        (host(2, 2, cond("Ready", "False", "BMCUnreachable")), "Degraded"),
        (host(2, 2, READY, cond("Converged", "False", "Converging")), "Progressing"),
        (host(2, 2, READY, cond("Converged", "False", "ResourcesFailed")), "Degraded"),
        (host(2, 2, READY, cond("Converged", "True", "Converged")), "Healthy"),
        (host(3, 3, {**READY, "observedGeneration": 2}), "Progressing"),  # Ready judged an older spec
        (host(3, 3, {**READY, "observedGeneration": 3}), "Healthy"),
        (role(cond("Ready", "True", "NoHosts")), "Healthy"),
        (role(cond("Ready", "False", "InvalidSpec", "x"), cond("Stalled", "True", "InvalidSpec", "x")), "Degraded"),
    ],
)
def test_argocd_health(obj: dict[str, Any], expected: str) -> None:
    status, message = health(obj)
    assert status == expected, message


def test_degraded_says_why() -> None:
    stalled = cond("Stalled", "True", "CredentialsRejected", "the BMC refused them")
    status, message = health(host(2, 2, cond("Ready", "False", "X"), stalled))
    assert (status, message) == ("Degraded", "CredentialsRejected: the BMC refused them")


def conditions_after(reason: str, status: str = "False") -> dict[str, str]:
    conds: list[Condition] = set_condition([], "Ready", status, reason, "m", 1)  # type: ignore[arg-type]
    return {c.type: c.status for c in with_kstatus(conds, 1)}


def test_kstatus_conditions_follow_ready() -> None:
    assert conditions_after("Inspecting") == {"Ready": "False", "Reconciling": "True"}
    assert conditions_after("CredentialsRejected") == {"Ready": "False", "Stalled": "True"}
    assert conditions_after("Available", "True") == {"Ready": "True"}  # abnormal-true ones are absent


def judged(bench: Bench, generation: int) -> tuple[str, str, str]:
    """What Argo CD and kstatus make of the host as the pass would write it, and its state."""
    obj = {"kind": "BareMetalHost", "metadata": {"name": "h", "generation": generation}, "status": {}}
    obj["status"] = bench.host.status.wire()
    return health(obj)[0], kstatus(obj), bench.state()


def test_the_write_that_starts_provisioning_or_deprovisioning_is_not_healthy() -> None:
    """The status that records a new state carries that state's Ready (issue 17, bug 1): never the
    previous state's Ready=True, which made kubectl wait, Argo CD and Flux call the host done at once."""
    bench = Bench(FakeDriver(powered_on=True), GovernorConfig(backoff_base=0.0, calls_per_minute=1e6, burst=10_000))
    bench.settle(online=True)
    assert judged(bench, 2) == ("Healthy", "Current", "available")

    for generation, spec, moving, done in [
        (3, {"role": "compute"}, "provisioning", "provisioned"),
        (4, {}, "deprovisioning", "available"),
    ]:
        bench.set(online=True, **spec)
        bench.host.metadata["generation"] = generation
        verdicts = []
        for second in range(20):
            bench.run(at=T0 + timedelta(seconds=generation * 100 + second))
            verdicts.append(judged(bench, generation))
            prov = bench.host.status.provisioning
            if prov is not None and prov.boot_id and bench.state() == moving:
                bench.report({"provisioning": "installed", "deprovisioning": "wiped"}[moving])
            if verdicts[-1][0] == "Healthy":
                break
        assert moving in [state for _, _, state in verdicts], verdicts
        first_healthy = next((i for i, (argo, _, _) in enumerate(verdicts) if argo == "Healthy"), None)
        assert first_healthy is not None, verdicts
        assert all(argo == "Progressing" and ks == "InProgress" for argo, ks, _ in verdicts[:first_healthy]), verdicts
        assert verdicts[first_healthy] == ("Healthy", "Current", done), verdicts


# OpenStackCluster: the status as the model writes it (real field names), judged by the same script.
def cluster(
    *conditions: dict[str, str],
    generation: int = 5,
    observed: int = 5,
    step: str | None = "controller 2/3",
    phase: str | None = "Progressing",
    failed: dict[str, int] | None = None,
) -> dict[str, Any]:
    roles = {
        role: RoleStatus(desired=3, assigned=3, provisioned=3, converged=3 - n, failed=n)
        for role, n in {"controller": 0, "compute": 0, **(failed or {})}.items()
    }
    status = OpenStackClusterStatus(
        observed_generation=observed,
        conditions=[Condition.model_validate(c) for c in conditions],
        roles=roles,
        rollout=RolloutStatus(step=step, phase=phase) if step or phase else None,  # type: ignore[arg-type]
    )
    return {"kind": "OpenStackCluster", "metadata": {"name": "cloud1", "generation": generation},
            "status": status.wire()}  # fmt: skip


def rolling_out(reason: str = "RollingOut", message: str = "controller 2/3 converging") -> list[dict[str, str]]:
    return [cond("Ready", "False", reason, message), cond("Reconciling", "True", reason, message)]


CLUSTER_READY = cond("Ready", "True", "Converged", "12 hosts converged")


@pytest.mark.parametrize(
    ("obj", "expected", "says"),
    [
        (cluster(*rolling_out()), "Progressing", "RollingOut: controller 2/3 converging (step controller 2/3)"),
        (cluster(CLUSTER_READY, generation=6), "Progressing", "observe generation 6"),  # an edit not yet seen
        (cluster(CLUSTER_READY, step="tempest 1/1", phase="Complete"), "Healthy", "Converged: 12 hosts converged"),
        (cluster(CLUSTER_READY, step=None, phase=None), "Healthy", "Converged"),
        # A Ready cloud scaling up: kstatus says InProgress, so does Argo CD.
        (cluster(CLUSTER_READY, cond("Reconciling", "True", "ScalingUp", "compute 2/3")), "Progressing", "ScalingUp"),
        (
            cluster(cond("Ready", "False", "RoleShort", "compute: 1 of 2 hosts; RAM 64 GiB < 128 GiB required"),
                    cond("Stalled", "True", "RoleShort", "compute: 1 of 2 hosts; RAM 64 GiB < 128 GiB required"),
                    phase="Short", step="compute 1/2"),
            "Degraded",
            "RoleShort: compute: 1 of 2 hosts; RAM 64 GiB < 128 GiB required (step compute 1/2)",
        ),
        (  # Ready=False for a failure reason, with no kstatus conditions: still Degraded
            cluster(cond("Ready", "False", "InvalidTopology", "3 cephmon but 0 cephosd")),
            "Degraded",
            "InvalidTopology: 3 cephmon but 0 cephosd",
        ),
        (
            cluster(*rolling_out(), phase="Failed", step="compute 2/2", failed={"compute": 1}),
            "Degraded",
            "failed hosts: compute 1/3",
        ),
        (  # a host failed after the cloud was Ready: the cloud is not healthy
            cluster(CLUSTER_READY, phase="Complete", failed={"compute": 1, "controller": 2}),
            "Degraded",
            "Converged: 12 hosts converged; failed hosts: compute 1/3, controller 2/3",
        ),
        (
            cluster(cond("Ready", "False", "Paused", "held"), cond("Stalled", "True", "Paused", "held"),
                    phase="Paused"),
            "Suspended",
            "Roll-out paused: Paused: held (step controller 2/3)",
        ),
        (cluster(*rolling_out("Paused", "held"), phase="Paused"), "Suspended", "Roll-out paused"),
        (  # paused, but something else is wrong: that wins
            cluster(cond("Ready", "False", "SecretsLost", "x"), cond("Stalled", "True", "SecretsLost", "x"),
                    phase="Paused"),
            "Degraded",
            "SecretsLost: x",
        ),
    ],
)  # fmt: skip
def test_argocd_health_of_a_cluster(obj: dict[str, Any], expected: str, says: str) -> None:
    status, message = health(obj)
    assert status == expected, message
    assert says in message


def test_a_cluster_without_roles_or_rollout_is_judged_by_its_conditions() -> None:
    obj = {"kind": "OpenStackCluster", "metadata": {"generation": 1},
           "status": {"observedGeneration": 1, "conditions": [CLUSTER_READY]}}  # fmt: skip
    assert health(obj) == ("Healthy", "Converged: 12 hosts converged")


def test_only_a_cluster_reads_roles_and_rollout() -> None:
    """Fields of the same name on another kind mean nothing to the check."""
    obj = host(2, 2, READY)
    obj["status"] |= {"roles": {"compute": {"failed": 1}}, "rollout": {"phase": "Paused", "step": "x"}}
    assert health(obj) == ("Healthy", "Available: power is on as requested")
