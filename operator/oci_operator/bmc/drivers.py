"""Pick a driver by the address scheme, as metal3 does (ipmi://host:623)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from .driver import BMCDriver, BMCUnsupported
from .ipmi import IPMIDriver

DEFAULT_PORTS = {"ipmi": 623}
_FACTORIES: dict[str, Callable[[str, int, str, str], BMCDriver]] = {"ipmi": IPMIDriver}


def driver_for(address: str, username: str, password: str) -> BMCDriver:
    parts = urlsplit(address)
    factory = _FACTORIES.get(parts.scheme)
    if factory is None:
        raise BMCUnsupported(f"no driver for BMC address scheme {parts.scheme!r}")
    return factory(parts.hostname or "", parts.port or DEFAULT_PORTS[parts.scheme], username, password)
