"""What a reconcile decided: the status to write and the Events to post."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from ..api.v1alpha1.meta import Condition, StatusBase
from ..conditions import find, set_condition

# Ready=False reasons that mean "moving along", not "something is wrong": no Warning for them.
PROGRESS = {
    "Registering",
    "PowerChanging",
    "Rebooting",
    "AwaitingBMC",
    "Inspecting",
    "Provisioning",
    "Deprovisioning",
    "Converging",
}


@dataclass(frozen=True)
class EventSpec:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass
class Outcome:
    status: StatusBase
    events: list[EventSpec] = field(default_factory=list)


def ready_transition_event(old: StatusBase, new: StatusBase) -> EventSpec | None:
    """One Event per change of the Ready condition's status or reason, never one per retry."""
    before, after = find(old.conditions, "Ready"), find(new.conditions, "Ready")
    if after is None or (before is not None and (before.status, before.reason) == (after.status, after.reason)):
        return None
    if after.status == "True" or after.reason in PROGRESS:
        return None if after.reason in PROGRESS else EventSpec("Normal", after.reason, after.message)
    return EventSpec("Warning", after.reason, after.message)


def with_kstatus(conditions: Sequence[Condition], generation: int) -> list[Condition]:
    """Add kstatus' abnormal-true conditions from Ready, so Flux (and kstatus users) judge us right:
    Reconciling=True while Ready is False for a progress reason, Stalled=True while it is False for a
    problem, neither when Ready is True (kstatus wants them absent, not False)."""
    ready = find(conditions, "Ready")
    if ready is None or ready.status == "True":
        return [c for c in conditions if c.type not in ("Reconciling", "Stalled")]
    kind, other = ("Reconciling", "Stalled") if ready.reason in PROGRESS else ("Stalled", "Reconciling")
    kept = [c for c in conditions if c.type != other]
    return set_condition(kept, kind, "True", ready.reason, ready.message, generation)
