"""Runs BareMetalHost passes through the real executor, against memory for the API server and a fake BMC."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from oci_operator.api.v1alpha1 import BareMetalHost, BareMetalHostStatus
from oci_operator.api.v1alpha1.hardware import BootReport, BootStep, HardwareDetails
from oci_operator.bmc.access import BMCPool
from oci_operator.bmc.credentials import check_secret
from oci_operator.bmc.governor import Governor, GovernorConfig
from oci_operator.conditions import find
from oci_operator.k8s.merge_patch import apply_merge_patch
from oci_operator.reconcilers.baremetalhost import reconcile_pass
from oci_operator.reconcilers.executor import Applied, PassExecutor
from oci_operator.reconcilers.host_context import HostSettings, PassResult
from oci_operator.reconcilers.outcome import EventSpec
from support.fake_bmc import FakeDriver

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SETTINGS = HostSettings(poll_interval=60, settle_timeout=30, soft_reboot_timeout=100)
HARDWARE = HardwareDetails.model_validate(
    {"disks": [{"name": "/dev/sda", "sizeBytes": 480 * 10**9}, {"name": "/dev/sdb", "sizeBytes": 4 * 10**12}]}
)
GOOD = check_secret("bmc", {"username": "u", "password": "p"}, "7")


def body(online: bool = False, annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "h", "namespace": "n", "generation": 2, "annotations": annotations or {}},
        "spec": {
            "bmc": {"address": "ipmi://10.0.0.5", "credentialsName": "bmc"},
            "bootMACAddress": "52:54:00:00:00:01",
            "online": online,
            **spec,
        },
    }


@dataclass
class MemoryPort:
    """The API server as the executor sees it, in memory. `journal` holds every write in order, each with
    the number of BMC commands the driver had received at that moment, so tests can check the order."""

    driver: FakeDriver
    status: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    events: list[EventSpec] = field(default_factory=list)
    journal: list[tuple[str, Any, int]] = field(default_factory=list)

    def _note(self, what: str, detail: Any) -> None:
        self.journal.append((what, detail, len(self.driver.commands)))

    async def ensure_desired_state(self, uid: str, document: str, digest: str) -> None:
        self.secrets["desired-state"] = {"uid": uid, "document": document, "digest": digest}
        self._note("desired-state", digest)

    async def remove_annotations(self, keys: list[str]) -> None:
        for key in keys:
            self.annotations.pop(key, None)
        self._note("remove-annotations", list(keys))

    async def ensure_boot_token(self, uid: str, mac: str, boot_id: str, install: bool) -> None:
        self.secrets["boot-token"] = {"uid": uid, "mac": mac, "bootId": boot_id, "install": str(install)}
        self._note("boot-token", boot_id)

    async def patch_status(self, changes: dict[str, Any]) -> None:
        self.status = apply_merge_patch(self.status, changes)
        self._note("status", changes)

    def event(self, event: EventSpec) -> None:
        self.events.append(event)
        self._note("event", event.reason)


class Bench:
    """Runs passes like the runner does: reconcile_pass decides, the real PassExecutor writes to a MemoryPort
    (status as a merge patch, annotations, Secrets) and sends the commands to the fake driver."""

    def __init__(
        self,
        driver: FakeDriver,
        config: GovernorConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        settings: HostSettings = SETTINGS,
    ) -> None:
        self.driver, self.settings = driver, settings
        self.governor = Governor(config or GovernorConfig(backoff_base=0.0), clock=clock)
        self.pool = BMCPool(self.governor, factory=lambda *_: self.driver)
        self.host = BareMetalHost.model_validate(body())
        self.host.status.hardware = HARDWARE  # inspected already: registration leads to available
        self.port = MemoryPort(driver)
        self.executor = PassExecutor(self.port, settings, logging.getLogger("host-bench"))
        self.applied: Applied | None = None  # what the executor made of the last pass
        self.requeue_after: float | None = None  # what the last pass asked the daemon loop for

    def set(self, **kwargs: Any) -> None:
        status = self.host.status
        self.host = BareMetalHost.model_validate(body(**kwargs))
        self.host.status = status

    def run(self, credentials: Any = GOOD, at: datetime = T0, send: bool = True) -> PassResult:
        """One pass: the stored object is what `self.host` holds (tests may edit it between passes).
        `send=False` is an operator killed after persisting the status, before the commands left."""
        access = self.pool.access("ipmi://10.0.0.5", credentials.credentials) if credentials.credentials else None
        old_status = self.host.status.wire()
        self.port.status = dict(old_status)
        self.port.annotations = self.host.metadata_annotations()
        result = asyncio.run(reconcile_pass(self.host, credentials, access, self.settings, at))
        # The real executor; a killed operator is one that never reached the commands (no BMC to send to).
        self.applied = asyncio.run(
            self.executor.apply(self.host, "uid-h", old_status, result, access if send else None)
        )
        self.requeue_after = self.applied.requeue_after
        self.host.status = BareMetalHostStatus.model_validate(self.port.status)
        self.host.metadata["annotations"] = dict(self.port.annotations)
        return result

    def settle(self, online: bool) -> None:
        """Registered, power observed and matching `online`: where most scenarios start."""
        self.set(online=online)
        for _ in range(6):
            self.run()
            if self.ready() == ("True", "Available"):
                return
        raise AssertionError(f"not settled: {self.ready()}")

    def report(self, step: str, at: datetime = T0, message: str = "") -> None:
        """What the boot server would write when the node calls back for the current job."""
        prov = self.host.status.provisioning
        assert prov is not None
        assert prov.boot_id is not None
        self.host.status.boot_report = BootReport(boot_id=prov.boot_id, step=BootStep(step), time=at, message=message)

    def state(self) -> str:
        prov = self.host.status.provisioning
        return prov.state.value if prov else "-"

    def ready(self) -> tuple[str, str]:
        cond = find(self.host.status.conditions, "Ready")
        assert cond is not None
        return cond.status, cond.reason

    def power_commands(self) -> list[str]:
        return [c for c in self.driver.commands if c.startswith("set_power")]
