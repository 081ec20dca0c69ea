from __future__ import annotations

from datetime import UTC, datetime

from oci_operator.conditions import find, set_condition

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 2, tzinfo=UTC)


def test_transition_time_moves_only_when_status_changes() -> None:
    conds = set_condition([], "Ready", "False", "CredentialsMissing", "m1", 1, at=T0)
    same_status = set_condition(conds, "Ready", "False", "CredentialsInvalid", "m2", 2, at=T1)
    ready = find(same_status, "Ready")
    assert ready is not None
    assert ready.last_transition_time == T0
    assert (ready.reason, ready.message, ready.observed_generation) == ("CredentialsInvalid", "m2", 2)

    flipped = find(set_condition(same_status, "Ready", "True", "Validated", "", 2, at=T1), "Ready")
    assert flipped is not None
    assert flipped.last_transition_time == T1


def test_other_conditions_are_kept_in_place() -> None:
    conds = set_condition([], "Ready", "True", "Validated", "", 1, at=T0)
    conds = set_condition(conds, "Converged", "False", "Pending", "", 1, at=T0)
    conds = set_condition(conds, "Ready", "False", "InvalidSpec", "x", 2, at=T1)
    assert [c.type for c in conds] == ["Ready", "Converged"]
    converged = find(conds, "Converged")
    assert converged is not None
    assert converged.observed_generation == 1
