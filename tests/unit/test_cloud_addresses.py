"""Stable management addresses: recorded ones never move, new hosts take free ones, leavers release."""

from __future__ import annotations

import re

import pytest

from oci_operator.api.v1alpha1.openstackcluster import CloudRole, HostStatus
from oci_operator.cloud.addresses import allocate, recorded
from oci_operator.cloud.topology import ClusterHost, Member, TopologyError, place
from support.cloud import CLUSTER, MINIMAL, hosts_for, spec_for

NET = spec_for(MINIMAL).management_network


def test_new_hosts_take_the_lowest_free_addresses_in_order() -> None:
    a = allocate(NET, ["h1", "h2", "h3"], {})
    assert a.addresses == {"h1": "10.20.0.10", "h2": "10.20.0.11", "h3": "10.20.0.12"}
    assert a.released == ()
    assert a.problems == ()


def test_recorded_addresses_never_move_and_leavers_release_theirs() -> None:
    before = {"h1": "10.20.0.10", "h2": "10.20.0.11", "h3": "10.20.0.12"}
    a = allocate(NET, ["new", "h1", "h3"], before)
    # h2 left: its address is free again and goes to the new host; h1 and h3 stay.
    assert a.addresses == {"h1": "10.20.0.10", "h3": "10.20.0.12", "new": "10.20.0.11"}
    assert a.released == ("h2",)


def test_preferred_fixed_and_reserved_addresses() -> None:
    a = allocate(
        NET,
        ["a", "b", "c", "d"],
        {"b": "10.20.0.10"},
        fixed={"a": "10.20.0.50"},
        preferred={"c": "10.20.0.10", "d": "10.20.0.99"},
        reserved=["10.20.0.11"],
    )
    # c's preferred address is b's: c takes the lowest free one, skipping the reserved .11.
    assert a.addresses == {"a": "10.20.0.50", "b": "10.20.0.10", "c": "10.20.0.12", "d": "10.20.0.99"}


def test_conflicts_and_exhaustion_are_problems_not_moves() -> None:
    small = NET.model_copy(update={"address_range": NET.address_range.model_copy(update={"end": "10.20.0.11"})})
    a = allocate(small, ["x", "y", "z", "w"], {"y": "10.20.0.10", "w": "10.30.0.1"}, fixed={"x": "10.20.0.10"})
    assert a.addresses == {"x": "10.20.0.10", "z": "10.20.0.11"}
    assert a.problems == (
        "host y: recorded address 10.20.0.10 is now taken by x",
        "host w: recorded address 10.30.0.1 is outside 10.20.0.0/24",
    )
    full = allocate(small, ["p", "q", "r"], {})
    assert full.problems == ("host r: no free address left in 10.20.0.10-10.20.0.11",)


def test_recorded_reads_status_hosts() -> None:
    hosts = {
        "a": HostStatus(role=CloudRole.COMPUTE, address="10.20.0.10"),
        "b": HostStatus(role=CloudRole.COMPUTE),
    }
    assert recorded(hosts) == {"a": "10.20.0.10"}
    assert recorded(None) == {}


def addresses(members: list[Member]) -> dict[str, str]:
    return {m.name: m.address for m in members}


def test_raising_a_count_moves_no_host_when_addresses_are_recorded() -> None:
    hosts = hosts_for(MINIMAL)
    first = addresses(place(CLUSTER, spec_for(MINIMAL), hosts, {}))
    # Without a record, issue 10's blocks agree with the first allocation (same plan output).
    assert first == addresses(place(CLUSTER, spec_for(MINIMAL), hosts))
    bigger = MINIMAL | {CloudRole.CONTROLLER: 4}
    more = [*hosts, ClusterHost("bmh-controller-new", CloudRole.CONTROLLER)]
    # The block layout shifts every compute; the recorded assignment keeps them.
    shifted = addresses(place(CLUSTER, spec_for(bigger), more))
    assert any(shifted[name] != first[name] for name in first)
    stable = addresses(place(CLUSTER, spec_for(bigger), more, first))
    assert {name: stable[name] for name in first} == first
    assert stable["bmh-controller-new"] not in first.values()


def test_a_lowered_count_releases_and_the_rest_stay() -> None:
    hosts = hosts_for(MINIMAL)
    first = addresses(place(CLUSTER, spec_for(MINIMAL), hosts, {}))
    fewer = MINIMAL | {CloudRole.COMPUTE: 1}
    kept = [h for h in hosts if h.name != "bmh-compute-z"]
    after = addresses(place(CLUSTER, spec_for(fewer), kept, first))
    assert after == {name: a for name, a in first.items() if name != "bmh-compute-z"}


def test_place_reports_allocation_problems() -> None:
    hosts = hosts_for(MINIMAL)
    with pytest.raises(TopologyError, match=re.escape("recorded address 10.20.0.5 is now taken by reserved")):
        place(CLUSTER, spec_for(MINIMAL), hosts, {"bmh-compute-z": "10.20.0.5"})
