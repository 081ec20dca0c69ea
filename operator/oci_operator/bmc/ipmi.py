"""IPMI 2.0 (lanplus) driver on pyghmi, for addresses ipmi://host[:port]."""

from __future__ import annotations

import threading
from typing import Any

import pyghmi.exceptions as pyghmi_exceptions
from pyghmi.ipmi import command as pyghmi_command

from . import pyghmi_fixes
from .driver import BMCAuthError, BMCCommandError, BMCError, BMCUnreachable, BootDevice, PowerAction

# Chassis Control (netfn 0x00, cmd 0x02) directives: one packet per action, no read-before-write
# (pyghmi's set_power reads the state first and has no 'cycle').
_CHASSIS_CONTROL = {
    PowerAction.OFF: 0,
    PowerAction.ON: 1,
    PowerAction.CYCLE: 2,
    PowerAction.RESET: 3,
    PowerAction.SOFT_OFF: 5,
}
_AUTH_MARKERS = ("password", "unauthorized name", "insufficient privilege", "invalid role")


pyghmi_fixes.apply()


def _translate(exc: Exception, host: str, port: int) -> BMCError:
    text = str(exc).strip()
    text = "" if text == "None" else text  # pyghmi's timeout is IpmiException(None)
    where = f"{host}:{port}"
    if any(marker in text.lower() for marker in _AUTH_MARKERS):
        return BMCAuthError(f"BMC {where} rejected the credentials: {text}")
    if not text or "timeout" in text.lower() or "no longer connected" in text.lower():
        return BMCUnreachable(f"BMC {where} did not answer")
    return BMCCommandError(f"BMC {where}: {text}")


class IPMIDriver:
    """One pyghmi Command (one RMCP+ session) per BMC, re-established after a failure."""

    def __init__(self, host: str, port: int, username: str, password: str) -> None:
        self.host, self.port = host, port
        # bytes, always: pyghmi compares cached sessions' credentials as given (str vs bytes hangs).
        self._username = username.encode()
        self._password = password.encode()
        self._command: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"IPMIDriver({self.host}:{self.port})"

    def _session(self) -> Any:
        with self._lock:
            if self._command is None:
                try:
                    self._command = pyghmi_command.Command(
                        bmc=self.host, userid=self._username, password=self._password, port=self.port
                    )
                except (pyghmi_exceptions.IpmiException, OSError) as exc:
                    raise _translate(exc, self.host, self.port) from None
            return self._command

    def _call(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        session = self._session()
        try:
            result = getattr(session, fn)(*args, **kwargs)
        except (pyghmi_exceptions.IpmiException, OSError) as exc:
            self._command = None  # the next call logs in again
            raise _translate(exc, self.host, self.port) from None
        if isinstance(result, dict) and result.get("error"):
            if result.get("code") is None:
                self._command = None
            raise _translate(Exception(result["error"]), self.host, self.port)
        return result

    def check_credentials(self) -> None:
        self._session()

    def get_power(self) -> bool:
        return bool(self._call("get_power")["powerstate"] == "on")

    def set_power(self, action: PowerAction) -> None:
        self._call("raw_command", netfn=0x00, command=0x02, data=[_CHASSIS_CONTROL[action]])

    def set_boot_device(self, device: BootDevice, persistent: bool, uefi: bool) -> None:
        self._call("set_bootdev", "network" if device is BootDevice.PXE else "hd", persist=persistent, uefiboot=uefi)

    def close(self) -> None:
        with self._lock:
            self._command = None
