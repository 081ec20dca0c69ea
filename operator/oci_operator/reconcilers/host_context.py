"""What one reconcile pass of a BareMetalHost works with, and what it hands back to its runner."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from ..api.v1alpha1 import BareMetalHost, BareMetalHostStatus
from ..bmc.access import BMCAccess
from ..bmc.credentials import CredentialsCheck
from ..bmc.driver import PowerAction
from .outcome import EventSpec


@dataclass(frozen=True)
class PowerSettings:
    poll_interval: float = 60.0  # how often the real power state is read
    poll_jitter: float = 0.1  # ±10 %, so a fleet's polls spread out
    settle_timeout: float = 60.0  # a power command not reflected after this is sent again
    soft_reboot_timeout: float = 180.0  # an OS that ignores ACPI soft-off gets a hard off after this

    def next_poll(self) -> float:
        return self.poll_interval * (1 + self.poll_jitter * (2 * random.random() - 1))  # noqa: S311


@dataclass
class HostContext:
    host: BareMetalHost
    status: BareMetalHostStatus  # the working copy the steps edit
    credentials: CredentialsCheck
    bmc: BMCAccess | None
    settings: PowerSettings
    now: datetime
    events: list[EventSpec] = field(default_factory=list)
    remove_annotations: list[str] = field(default_factory=list)

    def event(self, type_: str, reason: str, message: str) -> None:
        self.events.append(EventSpec("Warning" if type_ == "Warning" else "Normal", reason, message))


@dataclass
class PassResult:
    """Status to persist first; then at most one action; then look again after `requeue_after`."""

    status: BareMetalHostStatus
    events: list[EventSpec]
    action: PowerAction | None = None
    remove_annotations: list[str] = field(default_factory=list)
    requeue_after: float | None = None  # None: only when something changes
    deferred: bool = False  # the governor said "not now": nothing was observed or decided
