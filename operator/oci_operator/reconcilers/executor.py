"""Applies one BareMetalHost pass's result in the crash-safe order, against a small Kubernetes port.

The order is the operator's promise that a restart never repeats a BMC command: the desired-state
document, then the annotations (a finished reboot must not look new), then the boot token Secret,
then the status that records the intent, and only then the commands. No kopf and no kubernetes
client here: the handler gives the API server as the port, the unit bench gives memory.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from ..api.v1alpha1 import BareMetalHost, ProvisioningState
from ..bmc.access import BMCAccess
from ..bmc.driver import BMCError, PowerAction
from ..bmc.governor import NotNow
from ..k8s.merge_patch import status_patch
from .baremetalhost import record_action_deferred, record_action_failure, within_poll
from .host_context import Command, HostSettings, PassResult, SetBootDevice
from .outcome import EventSpec


class HostPort(Protocol):
    """The writes one host's pass makes; each call is idempotent (a retried pass may repeat it)."""

    async def ensure_desired_state(self, uid: str, document: str, digest: str) -> None: ...

    async def remove_annotations(self, keys: list[str]) -> None: ...

    async def ensure_boot_token(self, uid: str, mac: str, boot_id: str, install: bool) -> None:
        """`install`: the job installs the host, which also gets a new agent credential."""

    async def patch_status(self, changes: dict[str, Any]) -> None: ...

    def event(self, event: EventSpec) -> None: ...


@dataclass(frozen=True)
class Applied:
    """What came of applying a pass: when to look again, and the failure recorded if a command failed."""

    requeue_after: float | None
    failure: PassResult | None = None


def describe(command: Command) -> str:
    if isinstance(command, SetBootDevice):
        return f"bootdev-{command.device.value}{'-persistent' if command.persistent else ''}"
    return f"power-{command.value}"


class PassExecutor:
    """Persists a PassResult, then sends its commands once; a failed or deferred command withdraws its intent."""

    def __init__(
        self, port: HostPort, settings: HostSettings, logger: logging.Logger | logging.LoggerAdapter[Any]
    ) -> None:
        self.port, self.settings, self.logger = port, settings, logger

    async def persist(self, old: dict[str, Any], result: PassResult) -> dict[str, Any]:
        """Write the status changes and post the Events; returns the status as now stored."""
        new = result.status.wire()
        changes = status_patch(old, new)
        if changes:
            await self.port.patch_status(changes)
        for event in result.events:
            self.port.event(event)
        return new

    async def apply(
        self, host: BareMetalHost, uid: str, old_status: dict[str, Any], result: PassResult, bmc: BMCAccess | None
    ) -> Applied:
        if result.desired is not None:
            # The document first: the status that names its hash must never point at an older one.
            document = json.dumps(result.desired.document, sort_keys=True, indent=1)
            await self.port.ensure_desired_state(uid, document, result.desired.hash)
        # Order matters for crash safety: annotations first (a finished reboot must not look new),
        # then the status that records the intent, then the single command.
        if result.remove_annotations:
            await self.port.remove_annotations(result.remove_annotations)
        if result.boot_token is not None:
            # Before the status that records the boot: if this fails, nothing says the server was booted.
            prov = result.status.provisioning
            install = prov is not None and prov.state is ProvisioningState.PROVISIONING
            await self.port.ensure_boot_token(uid, host.spec.boot_mac_address, result.boot_token, install)
        persisted = await self.persist(old_status, result)
        if result.actions and bmc is not None:
            return await self._act(host, bmc, result, persisted)
        return Applied(result.requeue_after)

    async def _act(self, host: BareMetalHost, bmc: BMCAccess, result: PassResult, persisted: dict[str, Any]) -> Applied:
        command: Command = result.actions[0]  # the one that failed, when one does
        try:
            for command in result.actions:
                self.logger.info("sending %s to %s", describe(command), bmc.key)
                if isinstance(command, SetBootDevice):
                    await bmc.set_boot_device(command.device, command.persistent, command.uefi)
                else:
                    await bmc.set_power(command)
        except NotNow as wait:
            await self.persist(persisted, record_action_deferred(result.status))
            return Applied(within_poll(wait.retry_after, self.settings))
        except BMCError as exc:
            attempted = isinstance(command, PowerAction)  # else the boot device failed: the power never left
            failures = bmc.governor.failures(bmc.key)
            failed = record_action_failure(host, result.status, exc, failures, power_attempted=attempted)
            kept = failed.status.last_power_command is not None
            self.logger.info(
                "%s to %s failed (%s): %s",
                describe(command),
                bmc.key,
                "may have landed, intent kept" if kept else "intent withdrawn",
                exc,
            )
            await self.persist(persisted, failed)
            return Applied(within_poll(bmc.governor.retry_after(bmc.key), self.settings), failure=failed)
        return Applied(result.requeue_after or 0.0)
