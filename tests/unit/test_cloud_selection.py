"""Host selection: label selectors and hardware profiles, stable roles, claims, explanations."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from oci_operator.api.v1alpha1 import BareMetalHost
from oci_operator.api.v1alpha1.hardware import CPU, NIC, Disk, HardwareDetails, SystemVendor
from oci_operator.api.v1alpha1.openstackcluster import CLOUD_ROLE_LABEL, CLUSTER_LABEL, CloudRole, OpenStackClusterSpec
from oci_operator.cloud.selection import Candidate, candidate, select, summary
from support.cloud import spec_dict

GIB = 1024**3


def hardware(ram_gib: int = 256, cpus: int = 64, disks: int = 2, disk_gib: int = 960, rotational: bool = False,
             nics: int = 2, speed: int = 25000, product: str = "PowerEdge R650") -> HardwareDetails:  # fmt: skip
    return HardwareDetails(
        system_vendor=SystemVendor(manufacturer="Dell Inc.", product=product),
        cpu=CPU(arch="x86_64", count=cpus),
        ram_mebibytes=ram_gib * 1024,
        disks=[Disk(name=f"/dev/sd{chr(97 + i)}", size_bytes=disk_gib * GIB, rotational=rotational)
               for i in range(disks)],
        nics=[NIC(name=f"eno{i}", mac=f"52:54:00:00:00:{i:02x}", speed_mbps=speed) for i in range(nics)],
    )  # fmt: skip


def spec(**extra: Any) -> OpenStackClusterSpec:
    body: dict[str, Any] = spec_dict({CloudRole.CONTROLLER: 3, CloudRole.COMPUTE: 2}) | {
        "hardwareProfiles": [
            {"name": "compute-large", "ramMinGib": 128, "cpuCountMin": 32, "nicCountMin": 2,
             "nicSpeedMinMbps": 10000},
            {"name": "compute-small", "ramMinGib": 64},
            {"name": "controller", "productNames": ["PowerEdge R650"], "diskCountMin": 2, "diskMinGib": 400,
             "diskRotational": False},
        ],
        "selection": {
            "compute": {"profiles": ["compute-large", "compute-small"]},
            "controller": {"matchLabels": {"rack": "r1"}, "profiles": ["controller"]},
        },
    }  # fmt: skip
    body.update(extra)
    return OpenStackClusterSpec.model_validate(body)


def fleet() -> list[Candidate]:
    r1 = {"rack": "r1"}
    return [
        Candidate("ctl-a", r1, hardware()),
        Candidate("ctl-b", r1, hardware()),
        Candidate("ctl-c", r1, hardware()),
        Candidate("ctl-hdd", r1, hardware(rotational=True, product="ProLiant DL360")),
        Candidate("big-1", {}, hardware(ram_gib=512)),
        Candidate("small-1", {}, hardware(ram_gib=96, cpus=16)),
        Candidate("tiny-1", {}, hardware(ram_gib=32, cpus=8, nics=1, speed=1000)),
    ]


def test_the_right_hosts_are_taken_by_profile_and_preference() -> None:
    sel = select("c1", spec(), fleet())
    # The rack r1 hosts also fit compute: controllers are chosen first (enum order), computes from the rest.
    assert sel.assigned == {
        "ctl-a": CloudRole.CONTROLLER,
        "ctl-b": CloudRole.CONTROLLER,
        "ctl-c": CloudRole.CONTROLLER,
        "ctl-hdd": CloudRole.COMPUTE,
        "big-1": CloudRole.COMPUTE,
    }
    why = {c.host: c.explanation for c in sel.choices}
    assert why["ctl-a"] == "takes controller (profile controller)"
    assert why["big-1"] == "takes compute (profile compute-large)"
    assert why["small-1"] == "matches compute but the role is full"
    assert "RAM 32 GiB < 128 GiB required by profile compute-large" in why["tiny-1"]
    assert "RAM 32 GiB < 64 GiB required by profile compute-small" in why["tiny-1"]
    assert "0 NICs (>= 10000 Mb/s) < 2 required by profile compute-large" in why["tiny-1"]
    assert "label rack=r1 missing" in why["tiny-1"]
    assert summary(sel) == ""


def test_every_profile_limit_explains_itself() -> None:
    only = [Candidate("hdd", {"rack": "r1"}, hardware(rotational=True, product="ProLiant DL360", disks=1))]
    sel = select("c1", spec(roles={"controller": 3}), only)
    (choice,) = sel.choices
    assert choice.role is None
    assert "product 'ProLiant DL360' not in PowerEdge R650 required by profile controller" in choice.explanation
    assert "0 disks (>= 400 GiB solid-state) < 2 required by profile controller" in choice.explanation
    (role,) = sel.roles
    assert str(role).startswith("controller: 0 of 3, short: hdd: product 'ProLiant DL360'")


def test_a_short_role_is_summarised_and_a_new_matching_host_fills_it() -> None:
    hosts = [h for h in fleet() if h.name not in ("big-1", "ctl-hdd", "small-1")]
    sel = select("c1", spec(), hosts)
    assert summary(sel).startswith("compute: 0 of 2, short: tiny-1: RAM 32 GiB < 128 GiB")
    hosts.append(Candidate("new-1", {}, hardware(ram_gib=192)))
    hosts.append(Candidate("new-2", {}, hardware(ram_gib=80)))
    sel = select("c1", spec(), hosts)
    assert summary(sel) == ""
    assert sel.assigned["new-1"] == sel.assigned["new-2"] == CloudRole.COMPUTE


def test_a_host_keeps_its_role_when_better_hosts_arrive() -> None:
    first = select("c1", spec(), fleet()).assigned
    claimed = [
        Candidate(h.name, h.labels, h.hardware, available=h.name not in first, claimed_by="c1" if h.name in first
                  else None, claimed_role=first[h.name].value if h.name in first else None)
        for h in fleet()
    ]  # fmt: skip
    claimed.insert(0, Candidate("aaa-huge", {"rack": "r1"}, hardware(ram_gib=1024)))
    again = select("c1", spec(), claimed)
    assert {k: v for k, v in again.assigned.items()} == first
    assert again.choices[0].explanation == "matches controller, compute but the role is full"
    assert "keeps controller" in {c.host: c.explanation for c in again.choices}["ctl-a"]


def test_lowering_a_count_releases_the_last_hosts_by_name() -> None:
    hosts = [
        Candidate(f"n{i}", {}, hardware(), available=False, claimed_by="c1", claimed_role="compute") for i in range(3)
    ]
    sel = select("c1", spec(roles={"compute": 2}), hosts)
    assert sel.assigned == {"n0": CloudRole.COMPUTE, "n1": CloudRole.COMPUTE}
    assert sel.released == ["n2"]
    assert {c.host: c.explanation for c in sel.choices}["n2"] == "released from compute: the role wants 2 hosts"


def test_removing_a_label_releases_the_host() -> None:
    hosts = [
        Candidate(f"k{i}", {CLUSTER_LABEL: "c1", CLOUD_ROLE_LABEL: "compute"}, None, False, "c1", "compute")
        for i in range(2)
    ]
    hosts[1] = Candidate("k1", {CLUSTER_LABEL: "c1"}, None, False, "c1", "compute")
    sel = select("c1", spec(roles={"compute": 2}, selection={}), hosts)
    assert sel.assigned == {"k0": CloudRole.COMPUTE}
    assert sel.released == ["k1"]
    assert f"label {CLOUD_ROLE_LABEL}=compute missing" in sel.choices[1].explanation


def test_a_host_claimed_by_another_cluster_is_never_taken() -> None:
    hosts = [Candidate("x", {}, hardware(), claimed_by="other", claimed_role="compute")]
    sel = select("c1", spec(roles={"compute": 1}), hosts)
    assert sel.assigned == {}
    assert sel.choices[0].explanation == "claimed by cluster other"


def test_unavailable_and_uninspected_hosts_are_explained() -> None:
    hosts = [Candidate("busy", {}, hardware(), available=False), Candidate("new", {}, None)]
    sel = select("c1", spec(roles={"compute": 1}), hosts)
    why = {c.host: c.explanation for c in sel.choices}
    assert why == {"busy": "not available", "new": "excluded: compute: no hardware inspected yet"}


def test_without_selection_the_cluster_and_role_labels_choose() -> None:
    labelled = {CLUSTER_LABEL: "c1", CLOUD_ROLE_LABEL: "compute"}
    hosts = [Candidate("b", labelled, None), Candidate("a", {CLUSTER_LABEL: "c1"}, None)]
    sel = select("c1", spec(roles={"compute": 1}, selection={}), hosts)
    assert sel.assigned == {"b": CloudRole.COMPUTE}


def test_selection_is_deterministic_whatever_the_input_order() -> None:
    hosts = fleet()
    assert select("c1", spec(), hosts) == select("c1", spec(), list(reversed(hosts)))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"selection": {"compute": {"profiles": ["nope"]}}}, "nope is not in hardwareProfiles"),
        ({"selection": {"dns": {}}}, "dns is not a role"),
        ({"hardwareProfiles": [{"name": "a"}, {"name": "a"}]}, "a defined twice"),
        ({"selection": {"compute": {"matchLabels": {"bad key!": "x"}}}}, "bad key! is not a label key"),
        ({"hardwareProfiles": [{"name": "a", "ramMinGib": 8, "ramMaxGib": 4}]}, "ram_min_gib is above"),
    ],
)
def test_bad_selection_specs_are_refused_clearly(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        spec(**extra)


def test_a_role_the_cluster_no_longer_has_releases_its_hosts() -> None:
    hosts = [Candidate("v", {}, hardware(), available=False, claimed_by="c1", claimed_role="volume")]
    sel = select("c1", spec(roles={"controller": 3}), hosts)
    assert sel.released == ["v"]
    assert sel.choices[0].explanation == "released from volume: the cluster has no such role"


@pytest.mark.parametrize(("state", "available"), [("available", True), ("provisioned", False), (None, False)])
def test_a_baremetalhost_becomes_a_candidate(state: str | None, available: bool) -> None:
    body: dict[str, Any] = {
        "metadata": {"name": "node-1", "namespace": "n", "labels": {"rack": "r1"}},
        "spec": {"bmc": {"address": "ipmi://10.0.0.9", "credentialsName": "c"}, "bootMACAddress": "52:54:00:00:00:07"},
        "status": {"hardware": hardware(ram_gib=64).model_dump(by_alias=True)},
    }
    if state:
        body["status"]["provisioning"] = {"state": state}
    c = candidate(BareMetalHost.model_validate(body), "c1", "compute")
    assert (c.name, dict(c.labels), c.available, c.claimed_by, c.claimed_role) == (
        "node-1", {"rack": "r1"}, available, "c1", "compute",
    )  # fmt: skip
    assert c.hardware is not None
    assert c.hardware.ram_mebibytes == 64 * 1024


def test_a_role_with_profiles_waits_for_inspections_in_progress_so_the_choice_does_not_race() -> None:
    hosts = [*fleet(), Candidate("aaa-new", {}, None, inspecting=True)]
    sel = select("c1", spec(), hosts)
    assert "compute" not in {str(r) for r in sel.assigned.values()}
    assert "waiting for the inspection of aaa-new" in summary(sel)
    assert sorted(n for n, r in sel.assigned.items() if r == CloudRole.CONTROLLER) == ["ctl-a", "ctl-b", "ctl-c"]
    inspected = [*fleet(), Candidate("aaa-new", {}, hardware(ram_gib=512))]
    assert select("c1", spec(), inspected).assigned["aaa-new"] == CloudRole.COMPUTE
