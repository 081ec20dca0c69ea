"""One host's BMC as the reconcilers see it: async calls, governed, with a cached driver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .credentials import BMCCredentials
from .driver import BMCDriver, BootDevice, PowerAction
from .drivers import driver_for
from .governor import Governor


@dataclass
class BMCAccess:
    key: str  # the BMC address: governance is per BMC, whatever host object points at it
    driver: BMCDriver
    governor: Governor

    async def check_credentials(self) -> None:
        await self.governor.call(self.key, "check_credentials", self.driver.check_credentials)

    async def get_power(self) -> bool:
        return await self.governor.call(self.key, "get_power", self.driver.get_power)

    async def set_power(self, action: PowerAction) -> None:
        await self.governor.call(self.key, f"set_power_{action.value}", lambda: self.driver.set_power(action))

    async def get_boot_device(self) -> BootDevice | None:
        return await self.governor.call(self.key, "get_boot_device", self.driver.get_boot_device)

    async def set_boot_device(self, device: BootDevice, persistent: bool, uefi: bool) -> None:
        await self.governor.call(
            self.key, "set_boot_device", lambda: self.driver.set_boot_device(device, persistent, uefi)
        )


class BMCPool:
    """Drivers cached per (address, credentials version) so sessions are reused across passes."""

    def __init__(self, governor: Governor, factory: Callable[[str, str, str], BMCDriver] = driver_for) -> None:
        self.governor = governor
        self._factory = factory  # address, username, password -> driver
        self._drivers: dict[str, tuple[str, BMCDriver]] = {}

    def access(self, address: str, credentials: BMCCredentials) -> BMCAccess:
        version = f"{credentials.username}\0{credentials.resource_version}"
        cached = self._drivers.get(address)
        if cached is None or cached[0] != version:
            if cached is not None:
                cached[1].close()
                self.governor.reset(address)  # new credentials: don't make them wait for the old backoff
            cached = (version, self._factory(address, credentials.username, credentials.password))
            self._drivers[address] = cached
        return BMCAccess(address, cached[1], self.governor)

    def drop(self, address: str) -> None:
        cached = self._drivers.pop(address, None)
        if cached is not None:
            cached[1].close()
        self.governor.forget(address)
