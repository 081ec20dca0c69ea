"""What a reconcile decided: the status to write and the Events to post."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..api.v1alpha1.meta import StatusBase
from ..conditions import find

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
