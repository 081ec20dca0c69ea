"""An in-memory BMCDriver for unit tests of pure logic (integration tests use the IPMI simulator)."""

from __future__ import annotations

from dataclasses import dataclass, field

from oci_operator.bmc.driver import BMCError, BootDevice, PowerAction


@dataclass
class FakeDriver:
    powered_on: bool = False
    fail_with: BMCError | None = None
    commands: list[str] = field(default_factory=list)
    boot_device: BootDevice | None = None

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    def check_credentials(self) -> None:
        self.commands.append("check_credentials")
        self._maybe_fail()

    def get_power(self) -> bool:
        self.commands.append("get_power")
        self._maybe_fail()
        return self.powered_on

    def set_power(self, action: PowerAction) -> None:
        self.commands.append(f"set_power_{action.value}")
        self._maybe_fail()
        if action in (PowerAction.ON, PowerAction.CYCLE, PowerAction.RESET):
            self.powered_on = True
        elif action is PowerAction.OFF:
            self.powered_on = False

    def set_boot_device(self, device: BootDevice, persistent: bool, uefi: bool) -> None:
        self.commands.append(f"set_boot_{device.value}")
        self._maybe_fail()
        self.boot_device = device

    def get_boot_device(self) -> BootDevice | None:
        self.commands.append("get_boot_device")
        self._maybe_fail()
        return self.boot_device

    def close(self) -> None:
        self.commands.append("close")
