"""Status for an object that cannot be acted on: its body failed validation or a precondition."""

from __future__ import annotations

from ..api.v1alpha1.meta import StatusBase
from ..conditions import set_condition
from .outcome import Outcome, ready_transition_event, with_kstatus


def reconcile_invalid(generation: int, old: StatusBase, problem: str) -> Outcome:
    """The body failed validation beyond what the schema checks: say so on the object."""
    return reconcile_refused(generation, old, "InvalidSpec", problem)


def reconcile_refused(generation: int, old: StatusBase, reason: str, problem: str) -> Outcome:
    """The object cannot be acted on as it stands (`reason`): say so, change nothing else."""
    status = old.model_copy(deep=True)
    status.observed_generation = generation
    status.conditions = set_condition(status.conditions, "Ready", "False", reason, problem, generation)
    status.conditions = with_kstatus(status.conditions, generation)
    return Outcome(status=status, events=[e for e in [ready_transition_event(old, status)] if e])
