"""OCI's install order: the gate between steps, the provisioning limit, the pause, initial_cluster_setup."""

from __future__ import annotations

import pytest

from oci_operator.api.v1alpha1.openstackcluster import CloudRole
from oci_operator.cloud.rollout import (
    INSTALL_ORDER,
    PAUSE_ANNOTATION,
    HostFacts,
    Phase,
    decide,
    is_paused,
    role_status,
    rollout_status,
    steps,
)
from support.cloud import spec_for

CLOUD = {"controller": 3, "compute": 2, "messaging": 1, "cephmon": 3, "cephosd": 3}


def fleet(**state: str) -> list[HostFacts]:
    """Hosts of CLOUD named <role>-<n>; `state` maps a host to released|provisioned|converged|failed."""
    hosts = []
    for role, count in CLOUD.items():
        for n in range(1, count + 1):
            name = f"{role}-{n}"
            s = state.get(name.replace("-", "_"), "")
            hosts.append(
                HostFacts(
                    name,
                    role,
                    released=bool(s),
                    provisioned=s in ("provisioned", "converged"),
                    converged=s == "converged",
                    failed=s == "failed",
                )
            )
    return hosts


def converge(hosts: list[HostFacts], *roles: str) -> list[HostFacts]:
    return [HostFacts(h.name, h.role, True, True, True) if h.role in roles else h for h in hosts]


def test_every_role_has_exactly_one_step() -> None:
    placed = [r for _, roles, _ in INSTALL_ORDER for r in roles]
    assert sorted(set(placed)) == sorted(placed)
    assert {r.value for r in CloudRole} <= set(placed)


def test_roles_the_cloud_lacks_are_skipped() -> None:
    assert [name for name, _, _ in steps(CLOUD)] == ["cephmon", "cephosd", "messaging", "controller", "compute"]
    assert steps({"controller": 3, "volume": 1})[-1][1] == ("volume",)


def test_the_whole_order_is_walked_step_by_step() -> None:
    hosts = fleet()
    seen, setup_done = [], False
    for _ in range(20):
        d = decide(CLOUD, hosts, initial_setup_done=setup_done)
        if d.phase is Phase.COMPLETE:
            break
        assert d.step is not None
        seen.append((d.step.name, d.initial_cluster_setup, len(d.release)))
        assert all(h.role in d.step.roles for h in hosts if h.name in d.release)
        # The released hosts install and converge (the stand-in for the agent).
        hosts = [HostFacts(h.name, h.role, True, True, True) if h.name in d.release else h for h in hosts]
        if d.initial_setup_done and not setup_done:
            # Recorded: the controllers are re-rendered and no longer converged for the new generation.
            setup_done = True
            hosts = [HostFacts(h.name, h.role, True, True, False) if h.role == "controller" else h for h in hosts]
        elif d.step.name == "controller" and not d.release:
            hosts = converge(hosts, "controller")  # their second puppet run, initial_cluster_setup false
    assert d.phase is Phase.COMPLETE
    assert d.release == ()
    assert d.progress == "complete"
    assert seen == [
        ("cephmon", True, 3),
        ("cephosd", True, 3),
        ("messaging", True, 1),
        ("controller", True, 3),
        ("controller", False, 0),  # all three converged once: initial_cluster_setup flips
        ("controller", False, 0),  # the step holds until they converged again
        ("compute", False, 2),
    ]


def test_a_step_waits_for_every_host_of_the_one_before() -> None:
    hosts = fleet(cephmon_1="converged", cephmon_2="converged", cephmon_3="provisioned")
    d = decide(CLOUD, hosts, initial_setup_done=False)
    assert d.step is not None
    assert d.step.name == "cephmon"
    assert d.progress == "cephmon 2/3"
    assert d.release == ()
    assert d.phase is Phase.PROGRESSING


def test_initial_cluster_setup_turns_false_when_all_controllers_converged_once() -> None:
    hosts = converge(fleet(), "cephmon", "cephosd", "messaging")
    two = [
        HostFacts(h.name, h.role, True, True, h.name != "controller-3") if h.role == "controller" else h for h in hosts
    ]
    d = decide(CLOUD, two, initial_setup_done=False)
    assert d.initial_cluster_setup
    assert d.progress == "controller 2/3"
    d = decide(CLOUD, converge(hosts, "controller"), initial_setup_done=False)
    # Recorded now, but the step holds until the controllers converged again with it.
    assert not d.initial_cluster_setup
    assert d.step is not None
    assert d.step.name == "controller"
    assert d.release == ()
    d = decide(CLOUD, converge(hosts, "controller"), initial_setup_done=True)
    assert d.step is not None
    assert d.step.name == "compute"
    assert d.release == ("compute-1", "compute-2")
    # Once true it stays true, even when a controller later fails.
    failing = [HostFacts(h.name, h.role, True, True, False, h.name == "controller-1") for h in hosts]
    assert decide(CLOUD, failing, initial_setup_done=True).initial_setup_done


def test_the_limit_caps_hosts_in_flight() -> None:
    big = {"controller": 3, "compute": 50}
    hosts = [HostFacts(f"c{n}", "controller", True, True, True) for n in range(3)]
    hosts += [HostFacts(f"n{n:02}", "compute") for n in range(50)]
    d = decide(big, hosts, initial_setup_done=True)
    assert d.release == tuple(f"n{n:02}" for n in range(20))
    hosts = [HostFacts(h.name, h.role, released=h.name in d.release) if h.role == "compute" else h for h in hosts]
    d2 = decide(big, hosts, initial_setup_done=True)
    assert d2.in_flight == 20
    assert d2.release == ()
    assert decide(big, hosts, initial_setup_done=True, limit=25).release == tuple(f"n{n}" for n in range(20, 25))
    with pytest.raises(ValueError, match="at least 1"):
        decide(big, hosts, initial_setup_done=True, limit=0)


def test_controllers_are_released_together_never_one_by_one() -> None:
    hosts = converge(fleet(), "cephmon", "cephosd", "messaging")
    assert decide(CLOUD, hosts, initial_setup_done=False).release == ("controller-1", "controller-2", "controller-3")
    # Short of one controller: none starts.
    d = decide(CLOUD, [h for h in hosts if h.name != "controller-3"], initial_setup_done=False)
    assert d.phase is Phase.SHORT
    assert d.release == ()
    assert "1 host(s) short of 3" in d.message
    # A limit below the group's size still lets it go when nothing else is in flight (no deadlock).
    assert len(decide(CLOUD, hosts, initial_setup_done=False, limit=2).release) == 3


def test_a_short_step_releases_what_it_has_and_stalls() -> None:
    hosts = [h for h in converge(fleet(), "cephmon", "cephosd", "messaging", "controller") if h.name != "compute-2"]
    d = decide(CLOUD, hosts, initial_setup_done=True)
    assert d.phase is Phase.SHORT
    assert d.release == ("compute-1",)
    assert d.progress == "compute 0/2"


def test_a_failed_host_stops_releases_and_names_itself() -> None:
    hosts = fleet(cephmon_1="failed", cephmon_2="converged")
    d = decide(CLOUD, hosts, initial_setup_done=False)
    assert d.phase is Phase.FAILED
    assert d.release == ()
    assert "cephmon-1 failed" in d.message


def test_pause_holds_the_rollout_where_it_is() -> None:
    d = decide(CLOUD, fleet(), initial_setup_done=False, paused=True)
    assert d.phase is Phase.PAUSED
    assert d.release == ()
    assert d.step is not None
    assert d.step.name == "cephmon"
    assert is_paused({PAUSE_ANNOTATION: ""})
    assert is_paused({PAUSE_ANNOTATION: "true"})
    assert not is_paused({PAUSE_ANNOTATION: "False"})
    assert not is_paused({})


def test_hosts_beyond_the_declared_count_are_not_released() -> None:
    hosts = [*fleet(), HostFacts("cephmon-9", "cephmon")]
    assert decide(CLOUD, hosts, initial_setup_done=False).release == ("cephmon-1", "cephmon-2", "cephmon-3")


def test_the_spec_role_counts_feed_the_rollout() -> None:
    counts = spec_for({CloudRole.CONTROLLER: 3, CloudRole.VOLUME: 1}).roles.counts()
    hosts = [HostFacts(f"c{n}", CloudRole.CONTROLLER) for n in range(3)] + [HostFacts("v", CloudRole.VOLUME)]
    d = decide(counts, hosts, initial_setup_done=False)
    assert d.progress == "controller 0/3"
    assert d.release == ("c0", "c1", "c2")


def test_a_host_installed_before_its_release_was_recorded_is_never_released_again() -> None:
    hosts = [HostFacts(h.name, h.role, provisioned=True) if h.name == "cephmon-1" else h for h in fleet()]
    d = decide(CLOUD, hosts, initial_setup_done=False)
    assert d.release == ("cephmon-2", "cephmon-3")


def test_role_and_rollout_status_from_the_facts() -> None:
    hosts = fleet(cephmon_1="converged", cephmon_2="failed", cephmon_3="provisioned", compute_1="released")
    roles = role_status(CLOUD, [h for h in hosts if h.name != "compute-2"], {"compute": "compute: 1 of 2, short: x"})
    assert roles["cephmon"].model_dump() == {
        "desired": 3, "assigned": 3, "provisioned": 2, "converged": 1, "failed": 1, "short_reason": None,
    }  # fmt: skip
    assert roles["compute"].assigned == 1
    assert roles["compute"].short_reason == "compute: 1 of 2, short: x"
    assert set(roles) == set(CLOUD)
    d = decide(CLOUD, hosts, initial_setup_done=False)
    status = rollout_status(d, ["compute-1", "cephmon-1"])
    assert status.step == "cephmon 1/3"
    assert status.phase == "Failed"
    assert status.released == ["cephmon-1", "compute-1"]
