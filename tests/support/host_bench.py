"""Runs BareMetalHost passes like the runner does, against an in-memory BMC driver."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from oci_operator.api.v1alpha1 import BareMetalHost
from oci_operator.api.v1alpha1.hardware import BootReport, BootStep, HardwareDetails
from oci_operator.bmc.access import BMCPool
from oci_operator.bmc.credentials import check_secret
from oci_operator.bmc.governor import Governor, GovernorConfig
from oci_operator.conditions import find
from oci_operator.reconcilers.baremetalhost import reconcile_pass
from oci_operator.reconcilers.host_context import HostSettings, PassResult, SetBootDevice
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


class Bench:
    """Runs passes like the runner does: status persisted, action applied to the fake driver."""

    def __init__(self, driver: FakeDriver, config: GovernorConfig | None = None) -> None:
        self.driver = driver
        self.governor = Governor(config or GovernorConfig(backoff_base=0.0))
        self.pool = BMCPool(self.governor, factory=lambda address, username, password: self.driver)
        self.host = BareMetalHost.model_validate(body())
        self.host.status.hardware = HARDWARE  # inspected already: registration leads to available

    def set(self, **kwargs: Any) -> None:
        status = self.host.status
        self.host = BareMetalHost.model_validate(body(**kwargs))
        self.host.status = status

    def run(self, credentials: Any = GOOD, at: datetime = T0, send: bool = True) -> PassResult:
        """One pass; `send=False` is an operator killed after persisting the status, before the commands left."""
        access = self.pool.access("ipmi://10.0.0.5", credentials.credentials) if credentials.credentials else None
        result = asyncio.run(reconcile_pass(self.host, credentials, access, SETTINGS, at))
        self.host.status = result.status
        for command in result.actions if send else ():
            if isinstance(command, SetBootDevice):
                self.driver.set_boot_device(command.device, command.persistent, command.uefi)
            else:
                self.driver.set_power(command)
        annotations = self.host.metadata_annotations()
        for key in result.remove_annotations:
            annotations.pop(key, None)
        self.host.metadata["annotations"] = annotations
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
