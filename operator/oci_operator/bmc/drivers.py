"""Pick a driver by the address scheme, as metal3 does (ipmi://host:623, redfish://host/redfish/v1/Systems/1)."""

from __future__ import annotations

from urllib.parse import urlsplit

from .driver import BMCDriver, BMCUnsupported
from .ipmi import IPMIDriver
from .redfish import DEFAULT_TLS, RedfishAddress, RedfishDriver, TLSOptions
from .redfish import SCHEMES as REDFISH_SCHEMES

DEFAULT_PORTS = {"ipmi": 623}

__all__ = ["TLSOptions", "driver_for"]


def driver_for(address: str, username: str, password: str, tls: TLSOptions = DEFAULT_TLS) -> BMCDriver:
    """`tls` matters only to HTTPS-based protocols."""
    parts = urlsplit(address)
    if parts.scheme == "ipmi":
        return IPMIDriver(parts.hostname or "", parts.port or DEFAULT_PORTS["ipmi"], username, password)
    if parts.scheme in REDFISH_SCHEMES:
        return RedfishDriver(RedfishAddress.parse(address), username, password, tls)
    raise BMCUnsupported(f"no driver for BMC address scheme {parts.scheme!r}")
