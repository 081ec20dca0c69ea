"""The OpenStackCluster status fields of issue 11: per role, per host, the roll-out step column."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oci_operator.api.v1alpha1.openstackcluster import (
    CloudRole,
    HostStatus,
    OpenStackCluster,
    OpenStackClusterStatus,
    RoleStatus,
    RolloutStatus,
)
from oci_operator.cloud.rollout import Phase


def test_status_round_trips_in_camel_case() -> None:
    status = OpenStackClusterStatus(
        roles={"controller": RoleStatus(desired=3, assigned=3, provisioned=3, converged=2)},
        hosts={"bmh-1": HostStatus(role=CloudRole.CONTROLLER, hostname="c1-controller-1.example.com",
                                   address="10.20.0.10", profile="controller")},
        rollout=RolloutStatus(step="controller 2/3", phase="Progressing", released=["bmh-1"]),
    )  # fmt: skip
    wire = status.model_dump(by_alias=True, exclude_none=True)
    assert wire["roles"]["controller"] == {"desired": 3, "assigned": 3, "provisioned": 3, "converged": 2, "failed": 0}
    assert wire["hosts"]["bmh-1"]["address"] == "10.20.0.10"
    assert wire["rollout"] == {"step": "controller 2/3", "phase": "Progressing", "released": ["bmh-1"]}
    assert OpenStackClusterStatus.model_validate(wire) == status


def test_rollout_phases_match_the_rollout_module() -> None:
    for phase in Phase:
        assert RolloutStatus(phase=phase.value).phase == phase.value


@pytest.mark.parametrize(
    "bad",
    [
        {"role": "dns"},
        {"role": "compute", "address": "10.20.0"},
        {"role": "compute", "hostname": "UPPER.example.com"},
    ],
)
def test_bad_host_status_is_refused(bad: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        HostStatus.model_validate(bad)


def test_a_role_count_is_never_negative() -> None:
    with pytest.raises(ValidationError):
        RoleStatus(desired=-1)


def test_step_printer_column() -> None:
    columns = {c.name: c.json_path for c in OpenStackCluster.info.columns}
    assert columns["Step"] == ".status.rollout.step"
