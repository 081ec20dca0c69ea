"""What one reconcile pass of a BareMetalHost works with, and what it hands back to its runner."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from ..api.v1alpha1 import BareMetalHost, BareMetalHostStatus
from ..api.v1alpha1.baremetalhost import Image
from ..bmc.access import BMCAccess
from ..bmc.credentials import CredentialsCheck
from ..bmc.driver import BootDevice, PowerAction
from .desired_state import Rendered, RoleLookup
from .outcome import EventSpec


@dataclass(frozen=True)
class HostSettings:
    poll_interval: float = 60.0  # how often the real power state is read
    poll_jitter: float = 0.1  # ±10 %, so a fleet's polls spread out
    settle_timeout: float = 60.0  # a power command not reflected after this is sent again
    soft_reboot_timeout: float = 180.0  # an OS that ignores ACPI soft-off gets a hard off after this
    boot_poll_interval: float = 30.0  # the longest a boot job waits unwoken (a node's report wakes it at once)
    boot_script_timeout: float = 600.0  # a boot job whose node fetched no boot script after this has failed
    inspect_timeout: float = 1800.0  # a boot job without its final report after this has failed
    provision_timeout: float = 5400.0
    deprovision_timeout: float = 1800.0
    boot_device_control: bool = True  # default for hosts without spec.bootDeviceControl
    idle_poll_interval: float = 0.0  # a settled host's power reads (0: 5 times poll_interval; never shorter)
    default_image: Image | None = None  # the site's image for installs whose host and NodeRole name none
    require_image: bool = False  # an install without any image is an error, not the Debian installer

    def next_poll(self) -> float:
        return self.poll_interval * (1 + self.poll_jitter * (2 * random.random() - 1))  # noqa: S311

    def idle_poll_base(self) -> float:
        return max(self.idle_poll_interval or 5 * self.poll_interval, self.poll_interval)

    def next_idle_poll(self) -> float:
        """Nothing pending: the power is read rarely (spec and annotation changes wake the host at once)."""
        return self.idle_poll_base() * (1 + self.poll_jitter * (2 * random.random() - 1))  # noqa: S311


@dataclass(frozen=True)
class SetBootDevice:
    device: BootDevice
    persistent: bool
    uefi: bool


# What a pass may ask the runner to send to the BMC, in order, after the status is persisted.
Command = PowerAction | SetBootDevice


@dataclass
class HostContext:
    host: BareMetalHost
    status: BareMetalHostStatus  # the working copy the steps edit
    credentials: CredentialsCheck
    bmc: BMCAccess | None
    settings: HostSettings
    now: datetime
    events: list[EventSpec] = field(default_factory=list)
    remove_annotations: list[str] = field(default_factory=list)
    role: RoleLookup = None  # the host's NodeRole (when it has one), as the runner found it

    @property
    def boot_device_control(self) -> bool:
        """Whether boot jobs set the boot device through the BMC (else: network first, the boot server decides)."""
        spec = self.host.spec.boot_device_control
        return self.settings.boot_device_control if spec is None else spec

    def event(self, type_: str, reason: str, message: str) -> None:
        self.events.append(EventSpec("Warning" if type_ == "Warning" else "Normal", reason, message))


@dataclass
class PassResult:
    """Status to persist first; then the token; then the actions, once; then look again after `requeue_after`."""

    status: BareMetalHostStatus
    events: list[EventSpec]
    actions: tuple[Command, ...] = ()
    boot_token: str | None = None  # a boot id whose token Secret must exist before the actions go out
    remove_annotations: list[str] = field(default_factory=list)
    requeue_after: float | None = None  # None: only when something changes
    deferred: bool = False  # the governor said "not now": nothing was observed or decided
    desired: Rendered | None = None  # the host's desired state, to store before the status points at it

    @property
    def power_action(self) -> PowerAction | None:
        return next((a for a in self.actions if isinstance(a, PowerAction)), None)
