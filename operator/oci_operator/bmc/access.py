"""One host's BMC as the reconcilers see it: async calls, governed, with a cached driver."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from .credentials import BMCCredentials
from .driver import BMCDriver, BootDevice, PowerAction
from .drivers import TLSOptions, driver_for
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
    """Drivers cached per (address, credentials, TLS check) so sessions are reused across passes.

    Keyed by the credentials too: two hosts that name one BMC address with different Secrets used
    to replace each other's driver on every pass, closing the other's session and resetting the
    governor (defeating its backoff and sending a stream of failed logins). Governance itself stays
    per address: it is one physical BMC."""

    def __init__(
        self, governor: Governor, factory: Callable[[str, str, str, TLSOptions], BMCDriver] = driver_for
    ) -> None:
        self.governor = governor
        self._factory = factory  # address, username, password, TLS options -> driver
        self._drivers: dict[tuple[str, str], BMCDriver] = {}  # (address, credentials digest) -> driver
        self._owners: dict[str, tuple[str, str]] = {}  # host -> the key it used last
        self._claims: dict[str, str] = {}  # host -> the BMC address its spec names
        self._claimants: dict[str, set[str]] = {}  # BMC address -> the hosts naming it (claims, inverted)

    def access(self, address: str, credentials: BMCCredentials, verify_tls: bool = True, owner: str = "") -> BMCAccess:
        """`owner` (the host) changing its credentials drops its old session and backoff; another
        host's different credentials for the same address get a session of their own."""
        secret = f"{credentials.username}\0{credentials.password}\0{credentials.ca_bundle or ''}\0{verify_tls}"
        key = (address, hashlib.sha256(secret.encode()).hexdigest())
        owner = owner or address
        previous = self._owners.get(owner)
        if previous is not None and previous != key:
            self._owners[owner] = key
            if previous not in self._owners.values() and previous in self._drivers:
                self._drivers.pop(previous).close()
            self.governor.reset(address)  # new credentials: don't make them wait for the old backoff
        self._owners[owner] = key
        driver = self._drivers.get(key)
        if driver is None:
            tls = TLSOptions(verify_tls, credentials.ca_bundle)
            driver = self._factory(address, credentials.username, credentials.password, tls)
            self._drivers[key] = driver
        return BMCAccess(address, driver, self.governor)

    def claim(self, owner: str, address: str) -> list[str]:
        """Record that `owner` (namespace/name) manages the BMC at `address`; the other owners that
        name the same address, sorted. Two host objects on one BMC power-cycle one server."""
        self.release(owner)
        self._claims[owner] = address
        claimants = self._claimants.setdefault(address, set())
        claimants.add(owner)
        return sorted(claimants - {owner})  # by address, not by a walk over every host: once per pass

    def release(self, owner: str) -> None:
        address = self._claims.pop(owner, None)
        if address is None:
            return
        claimants = self._claimants.get(address, set())
        claimants.discard(owner)
        if not claimants:
            self._claimants.pop(address, None)

    def end_idle_sessions(self) -> int:
        """End every session idle past its driver's limit (drivers that keep none have nothing to end);
        how many were ended. Blocking: run it off the event loop."""
        ended = 0
        for driver in list(self._drivers.values()):
            end_if_idle = getattr(driver, "end_if_idle", None)
            if end_if_idle is not None and end_if_idle():
                ended += 1
        return ended

    def drop(self, address: str, owner: str = "") -> None:
        """`owner` (a deleted host) lets go of the BMC at `address`. Sessions no other host uses are closed,
        and the BMC's governance (backoff, budget) is forgotten only when no other host names the address:
        a host sharing the BMC keeps its live session and its backoff."""
        self.release(owner)
        for user in (owner, address):  # a delete's power-off used the address as its owner
            self._owners.pop(user, None)
        in_use = {key for key in self._owners.values() if key[0] == address}
        for key in [k for k in self._drivers if k[0] == address and k not in in_use]:
            self._drivers.pop(key).close()
        if not in_use and address not in self._claimants:
            self.governor.forget(address)
