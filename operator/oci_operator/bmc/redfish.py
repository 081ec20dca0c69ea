"""Redfish driver on sushy, for addresses redfish://, redfish+http:// and redfish+https:// (metal3's forms).

One sushy root (one HTTP connection pool, one Redfish session) per BMC, made on first use and kept:
sushy renews the session when the BMC answers 401 to a request made with it, and falls back to
basic authentication on BMCs without a SessionService. The session is dropped (and deleted on the
BMC) after a failure that may have broken it, and by close().
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sushy
from requests.adapters import HTTPAdapter
from sushy import exceptions as sushy_exceptions
from sushy.auth import SessionOrBasicAuth
from sushy.connector import Connector

from .driver import (
    BMCAuthError,
    BMCCommandError,
    BMCError,
    BMCUnreachable,
    BMCUnsupported,
    BootDevice,
    PowerAction,
)

LOG = logging.getLogger(__name__)
# sushy logs every request at debug level (sanitised): thousands of hosts polling would drown the log.
logging.getLogger("sushy").setLevel(logging.INFO)

SCHEMES = {"redfish": "https", "redfish+https": "https", "redfish+http": "http"}
SYSTEMS_PREFIX = "/redfish/v1/Systems/"

# Which ResetType to send for each action, best first; the first one the system allows is used.
_RESET_TYPES: dict[PowerAction, tuple[str, ...]] = {
    PowerAction.ON: ("On", "ForceOn"),
    PowerAction.OFF: ("ForceOff",),
    PowerAction.SOFT_OFF: ("GracefulShutdown",),
    PowerAction.CYCLE: ("PowerCycle", "ForceRestart"),  # many BMCs offer only ForceRestart
    PowerAction.RESET: ("ForceRestart", "PowerCycle"),
}
# Transitional states count as where they are going, as ironic does.
_ON_STATES = {"On", "PoweringOn"}
# After a restart we ordered, "Off" means "on its way back" for this long: some BMCs (and the emulator)
# report Off between the two halves of a ForceRestart, and the operator would otherwise power it on again.
RESTART_GRACE = 30.0


@dataclass(frozen=True)
class RedfishAddress:
    """Where a Redfish BMC is: base URL (scheme, host, port) and the system's path, if given."""

    base_url: str
    system_path: str  # "" when the address has none: discover the single system

    @classmethod
    def parse(cls, address: str) -> RedfishAddress:
        parts = urlsplit(address)
        http = SCHEMES.get(parts.scheme)
        if http is None or not parts.hostname:
            raise BMCUnsupported(f"not a Redfish address: {address!r}")
        path = parts.path.rstrip("/")
        if path and not path.startswith(SYSTEMS_PREFIX):
            raise BMCUnsupported(f"Redfish address path must be {SYSTEMS_PREFIX}<id>, not {parts.path!r}")
        return cls(f"{http}://{parts.netloc}", path)


@dataclass(frozen=True)
class TLSOptions:
    """How to check the BMC's certificate (https only)."""

    verify: bool = True
    ca_bundle: str = ""  # PEM; empty: the system's trust store


DEFAULT_TLS = TLSOptions()


class _TLSAdapter(HTTPAdapter):
    """HTTPS with one SSL context per BMC, made once: left to itself, urllib3 loads a CA store into a
    context on every new connection (BMCs close them often), which costs more than the request."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        conn.ca_certs = conn.ca_cert_dir = None  # the context already holds what to trust


def _tls_context(tls: TLSOptions) -> ssl.SSLContext | None:
    """None: requests' own verifying context (the system's trust store) serves."""
    if not tls.verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if tls.ca_bundle:  # exactly these CAs, held in memory (the operator's root filesystem is read-only)
        return ssl.create_default_context(cadata=tls.ca_bundle)
    return None


class _Connector(Connector):  # type: ignore[misc]  # sushy is untyped
    """sushy's connector, with an SSL context of our own when one is needed."""

    def __init__(self, url: str, context: ssl.SSLContext | None, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        if context is not None:
            self._session.mount("https://", _TLSAdapter(context))


def _translate(exc: Exception, where: str) -> BMCError:
    if isinstance(exc, sushy_exceptions.AccessError):
        return BMCAuthError(f"BMC {where} rejected the credentials (HTTP {exc.status_code})")
    if isinstance(exc, sushy_exceptions.ConnectionError):
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSLError" in text:
            return BMCUnreachable(f"BMC {where}: TLS certificate not verified (give its CA, see docs/redfish.md)")
        return BMCUnreachable(f"BMC {where} did not answer")
    if isinstance(exc, sushy_exceptions.ResourceNotFoundError):
        return BMCUnsupported(f"BMC {where}: {exc}")
    if isinstance(exc, sushy_exceptions.HTTPError):
        return BMCCommandError(f"BMC {where}: HTTP {exc.status_code} {exc.detail or ''}".rstrip())
    return BMCCommandError(f"BMC {where}: {exc}")


class RedfishDriver:
    """One ComputerSystem behind a Redfish BMC."""

    def __init__(
        self,
        address: RedfishAddress,
        username: str,
        password: str,
        tls: TLSOptions = DEFAULT_TLS,
        timeout: float = 15.0,
    ) -> None:
        self.address = address
        self._username = username
        self._password = password
        self._tls = tls
        self._context = _tls_context(tls) if address.base_url.startswith("https") else None
        self._timeout = timeout
        self._auth: SessionOrBasicAuth | None = None
        self._system: Any = None
        self._lock = threading.Lock()
        self._restarting_until = 0.0  # monotonic time

    def __repr__(self) -> str:
        return f"RedfishDriver({self.address.base_url}{self.address.system_path})"

    def _connect(self) -> Any:
        """The system resource, logging in (and finding the system) on first use."""
        with self._lock:
            if self._system is not None:
                return self._system
            auth = SessionOrBasicAuth(username=self._username, password=self._password)
            try:
                connector = _Connector(
                    self.address.base_url,
                    self._context,
                    verify=self._tls.verify,
                    default_request_timeout=self._timeout,
                    connect_timeout=min(5.0, self._timeout),
                    # The governor retries with backoff; sushy's own 10 x 3 s would outlast its timeout.
                    server_side_retries=1,
                    server_side_retries_delay=1,
                )
                root = sushy.Sushy(self.address.base_url, auth=auth, connector=connector)
                system = root.get_system(self._system_path(root))
            except sushy_exceptions.SushyError as exc:
                _close_quietly(auth)
                raise _translate(exc, self.address.base_url) from None
            except BMCError:
                _close_quietly(auth)
                raise
            self._auth, self._system = auth, system
            return system

    def _system_path(self, root: Any) -> str:
        if self.address.system_path:
            return self.address.system_path
        members: list[str] = list(root.get_system_collection().members_identities)
        if len(members) != 1:
            raise BMCUnsupported(
                f"BMC {self.address.base_url} has {len(members)} systems: "
                f"give one in the address ({SYSTEMS_PREFIX}<id>)"
            )
        return members[0]

    def _run(self, operation: Any) -> Any:
        system = self._connect()
        try:
            return operation(system)
        except sushy_exceptions.SushyError as exc:
            if isinstance(exc, sushy_exceptions.ConnectionError | sushy_exceptions.AccessError):
                self.close()  # the next call logs in again
            raise _translate(exc, self.address.base_url) from None

    def check_credentials(self) -> None:
        self._run(lambda system: system.refresh(force=True))

    def get_power(self) -> bool:
        def read(system: Any) -> bool:
            system.refresh(force=True)
            if _value(system.power_state) in _ON_STATES:
                self._restarting_until = 0.0
                return True
            return time.monotonic() < self._restarting_until

        return bool(self._run(read))

    def set_power(self, action: PowerAction) -> None:
        def send(system: Any) -> None:
            allowed = {str(_value(v)) for v in system.get_allowed_reset_system_values()}
            reset = next((r for r in _RESET_TYPES[action] if r in allowed), None)
            if reset is None:
                raise BMCUnsupported(
                    f"BMC {self.address.base_url}: no ResetType for {action.value!r} among {sorted(allowed)}"
                )
            system.reset_system(sushy.ResetType(reset))
            restarts = action in (PowerAction.CYCLE, PowerAction.RESET)
            self._restarting_until = time.monotonic() + RESTART_GRACE if restarts else 0.0

        self._run(send)

    def set_boot_device(self, device: BootDevice, persistent: bool, uefi: bool) -> None:
        target = sushy.BootSource.PXE if device is BootDevice.PXE else sushy.BootSource.HDD
        enabled = sushy.BootSourceOverrideEnabled.CONTINUOUS if persistent else sushy.BootSourceOverrideEnabled.ONCE
        mode = sushy.BootSourceOverrideMode.UEFI if uefi else sushy.BootSourceOverrideMode.LEGACY

        def send(system: Any) -> None:
            system.refresh(force=True)
            # The mode only when it changes: several BMCs refuse a PATCH that names the current one.
            current_mode = system.boot.mode
            system.set_system_boot_options(
                target=target, enabled=enabled, mode=None if _value(current_mode) == mode.value else mode
            )
            system.refresh(force=True)
            if _value(system.boot.target) != target.value:
                raise BMCCommandError(
                    f"BMC {self.address.base_url} accepted boot device {target.value} but reports "
                    f"{_value(system.boot.target)}"
                )
            # A one-time override may read back as Continuous (sushy-tools' emulator, some older BMCs) or
            # as Disabled once consumed: neither is an error, and the operator does not rely on it lapsing.
            if _value(system.boot.enabled) != enabled.value:
                LOG.debug("%r: boot override asked %s, reads %s", self, enabled.value, _value(system.boot.enabled))

        self._run(send)

    def get_boot_device(self) -> BootDevice | None:
        """The override the system reports; None when there is none (Disabled) or it names another device."""

        def read(system: Any) -> BootDevice | None:
            system.refresh(force=True)
            if _value(system.boot.enabled) in (None, sushy.BootSourceOverrideEnabled.DISABLED.value):
                return None
            return {sushy.BootSource.PXE.value: BootDevice.PXE, sushy.BootSource.HDD.value: BootDevice.DISK}.get(
                _value(system.boot.target) or ""
            )

        result: BootDevice | None = self._run(read)
        return result

    def close(self) -> None:
        with self._lock:
            auth, self._auth, self._system = self._auth, None, None
        if auth is not None:
            _close_quietly(auth)


def _value(item: Any) -> str | None:
    """sushy gives enum members (or None for absent fields): compare by their Redfish strings."""
    return None if item is None else str(getattr(item, "value", item))


def _close_quietly(auth: SessionOrBasicAuth) -> None:
    """Delete the session on the BMC (its session slots are few); a BMC away is no reason to fail."""
    try:
        auth.close()
    except Exception as exc:  # a closing failure changes nothing for the caller
        LOG.debug("closing a Redfish session failed: %s", exc)
