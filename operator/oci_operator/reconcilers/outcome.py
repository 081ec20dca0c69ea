"""What a reconcile decided: the status to write and the Events to post."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..api.v1alpha1.meta import StatusBase
from ..conditions import find


@dataclass(frozen=True)
class EventSpec:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass
class Outcome:
    status: StatusBase
    events: list[EventSpec] = field(default_factory=list)
    # Seconds until the reconciler wants to look again; None: only on change or resync.
    requeue_after: float | None = None


def ready_transition_event(old: StatusBase, new: StatusBase) -> EventSpec | None:
    """One Event per change of the Ready condition's status or reason, never one per retry."""
    before, after = find(old.conditions, "Ready"), find(new.conditions, "Ready")
    if after is None or (before is not None and (before.status, before.reason) == (after.status, after.reason)):
        return None
    # Progress reasons (the host moving on by itself) are not worth a Warning.
    kind: Literal["Normal", "Warning"] = "Normal" if after.status == "True" or after.reason in PROGRESS else "Warning"
    return EventSpec(kind, after.reason, after.message)


PROGRESS = {"Registering"}
