"""IPMI 2.0 (lanplus) driver on pyghmi, for addresses ipmi://host[:port]."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pyghmi.exceptions as pyghmi_exceptions
from pyghmi.ipmi import command as pyghmi_command
from pyghmi.ipmi.private import constants as pyghmi_constants

from . import pyghmi_fixes
from .driver import (
    BMCAuthError,
    BMCCommandError,
    BMCCommandUnsupported,
    BMCError,
    BMCNotSent,
    BMCUnreachable,
    BootDevice,
    PowerAction,
)

# Chassis Control (netfn 0x00, cmd 0x02) directives: one packet per action, no read-before-write
# (pyghmi's set_power reads the state first and has no 'cycle').
_CHASSIS_CONTROL = {
    PowerAction.OFF: 0,
    PowerAction.ON: 1,
    PowerAction.CYCLE: 2,
    PowerAction.RESET: 3,
    PowerAction.SOFT_OFF: 5,
}
# Boot device selectors of "Set System Boot Options" parameter 5 (IPMI 2.0, table 28-14).
_BOOT_SELECTOR = {BootDevice.PXE: 0x04, BootDevice.DISK: 0x08}
# Completion codes that mean the BMC cannot do the command at all (not "not now"): invalid command,
# parameter out of range, invalid data field, and 0x80 "parameter not supported" of the boot options.
_UNSUPPORTED_CODES = {0xC1, 0xC9, 0xCC, 0x80}
_TIMEOUT_CODE = 0xFFFF  # pyghmi's own "no answer"
_AUTH_MARKERS = ("password", "unauthorized name", "insufficient privilege", "invalid role")
# pyghmi's "Session no longer connected", its timeouts, and a login our fixes end for want of answers
# (pyghmi_fixes.NO_ANSWER): not a refusal, which would count and back off as one and say PowerCommandFailed.
_NO_ANSWER_MARKERS = ("timeout", "no longer connected", pyghmi_fixes.NO_ANSWER)
# A session idle for longer is ended and a new one opened. pyghmi sends its keepalives only from inside a
# login's wait, so between the operator's polls (minutes apart once a host is settled) nothing keeps a
# session alive, and BMCs end idle sessions (IPMI's default: 60 s; pyghmi's keepalive period assumes 30).
# The next command then went out on a session the BMC had forgotten: no answer for ~10 s of retries, a
# failure on the host, and for a power command an intent kept until the settle time - a re-login instead
# costs a few round trips.
IDLE_SESSION_LIMIT = 20.0


pyghmi_fixes.apply()


def _translate(exc: Exception, host: str, port: int) -> BMCError:
    text = str(exc).strip()
    text = "" if text == "None" else text  # pyghmi's timeout is IpmiException(None)
    where = f"{host}:{port}"
    if any(marker in text.lower() for marker in _AUTH_MARKERS):
        return BMCAuthError(f"BMC {where} rejected the credentials: {text}")
    if not text or any(marker in text.lower() for marker in _NO_ANSWER_MARKERS):
        return BMCUnreachable(f"BMC {where} did not answer")
    return BMCCommandError(f"BMC {where}: {text}")


def _refused(command: str, code: int, where: str) -> BMCCommandError:
    name = pyghmi_constants.ipmi_completion_codes.get(code, "unknown completion code")
    text = f"BMC {where} refused {command}: completion code 0x{code:02X} ({name})"
    cls = BMCCommandUnsupported if code in _UNSUPPORTED_CODES else BMCCommandError
    return cls(text, command=command, code=code)


class IPMIDriver:
    """One pyghmi Command (one RMCP+ session) per BMC, re-established after a failure."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        idle_limit: float = IDLE_SESSION_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host, self.port = host, port
        # bytes, always: pyghmi compares cached sessions' credentials as given (str vs bytes hangs).
        self._username = username.encode()
        self._password = password.encode()
        self._command: Any = None
        self._lock = threading.Lock()
        self._idle_limit = idle_limit
        self._clock = clock
        self._used = 0.0  # when the session last exchanged a request

    def __repr__(self) -> str:
        return f"IPMIDriver({self.host}:{self.port})"

    def _session(self) -> Any:
        with self._lock:
            if self._command is not None and self._clock() - self._used > self._idle_limit:
                self._end_session()
            if self._command is None:
                try:
                    self._command = pyghmi_command.Command(
                        bmc=self.host, userid=self._username, password=self._password, port=self.port
                    )
                except (pyghmi_exceptions.IpmiException, OSError) as exc:
                    raise _translate(exc, self.host, self.port) from None
                except Exception as exc:  # pyghmi's own bugs (such as the missing errormsg) are no crash
                    raise BMCUnreachable(
                        f"BMC {self.host}:{self.port}: IPMI login failed ({type(exc).__name__})"
                    ) from exc
                self._used = self._clock()
            return self._command

    def _end_session(self) -> None:
        """Log the idle session out (one Close Session packet, no wait for its answer: the BMC may have
        ended it already) and leave it out of pyghmi's tables, as pyghmi does with a failed session."""
        with contextlib.suppress(Exception):
            self._command.ipmi_session._mark_broken("idle")
        self._command = None

    def _call(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        session = self._session()
        try:
            return getattr(session, fn)(*args, **kwargs)
        except (pyghmi_exceptions.IpmiException, OSError) as exc:
            self._command = None  # the next call logs in again
            raise _translate(exc, self.host, self.port) from None
        except Exception as exc:  # a bug inside pyghmi's session code: this call failed, the next starts afresh
            self._command = None
            raise BMCUnreachable(f"BMC {self.host}:{self.port}: IPMI session failed ({type(exc).__name__})") from exc
        finally:
            self._used = self._clock()

    def _raw(self, command: str, netfn: int, cmd: int, data: list[int]) -> list[int]:
        """One raw request; a completion code other than 0 is a refusal naming `command` and the code.
        No answer raises BMCNotSent when the request never went on the wire (the login failed, the
        session broke first, it waited behind a keepalive that failed), else BMCUnreachable: the
        request left and may have been done."""
        try:
            ipmi_session = self._session().ipmi_session
        except BMCUnreachable as exc:
            raise BMCNotSent(f"{exc}; {command} was not sent") from None
        with pyghmi_fixes.requests_sent(ipmi_session) as sent:
            try:
                result = self._call("raw_command", netfn=netfn, command=cmd, data=data)
            except BMCUnreachable:
                raise self._unanswered(ipmi_session, sent, (netfn, cmd), command) from None
            code = result.get("code", 0) if isinstance(result, dict) else 0
            if code == _TIMEOUT_CODE or (result.get("error") and not code):
                self._command = None
                raise self._unanswered(ipmi_session, sent, (netfn, cmd), command)
        if code:
            raise _refused(command, int(code), f"{self.host}:{self.port}")
        return list(result.get("data", []))

    def _unanswered(
        self, session: Any, sent: list[tuple[int, int]], request: tuple[int, int], command: str
    ) -> BMCUnreachable:
        pyghmi_fixes.withdraw_pending(session)  # first: then `sent` is final for this request
        if request in sent:
            return BMCUnreachable(f"BMC {self.host}:{self.port} did not answer {command}")
        return BMCNotSent(f"BMC {self.host}:{self.port} did not answer; {command} was not sent")

    def check_credentials(self) -> None:
        self._session()

    def get_power(self) -> bool:
        data = self._raw("get chassis status", 0x00, 0x01, [])
        return bool(data and data[0] & 0x01)

    def set_power(self, action: PowerAction) -> None:
        self._raw(f"power {action.value}", 0x00, 0x02, [_CHASSIS_CONTROL[action]])

    def set_boot_device(self, device: BootDevice, persistent: bool, uefi: bool) -> None:
        command = f"set boot device {device.value}"
        self._raw(command, 0x00, 0x08, [3, 8])  # boot info acknowledge: clear, as pyghmi's set_bootdev does
        flags = 0x80 | (0x40 if persistent else 0) | (0x20 if uefi else 0)
        self._raw(command, 0x00, 0x08, [5, flags, _BOOT_SELECTOR[device], 0, 0, 0])

    def get_boot_device(self) -> BootDevice | None:
        data = self._raw("get boot device", 0x00, 0x09, [5, 0, 0])
        if len(data) < 4 or not data[2] & 0x80:  # boot flags invalid: no override, the firmware's order
            return None
        selector = data[3] & 0x3C
        return next((dev for dev, sel in _BOOT_SELECTOR.items() if sel == selector), None)

    def local_port(self) -> int | None:
        """The local UDP port of the live session, if any: pyghmi's client shares one among up to 64 BMCs."""
        command = self._command
        if command is None:
            return None
        return int(command.ipmi_session.socket.getsockname()[1])

    def end_if_idle(self) -> bool:
        """End the session if it has been idle for the limit or more; never waits for a call in progress.

        A settled host's next call is minutes away: a session left open meanwhile stays in pyghmi's
        tables, which every thread waiting on any BMC walks on every wake-up (at 10,000 hosts that walk
        was most of the operator's CPU), and keepalives go to BMCs nobody is talking to."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if self._command is None or self._clock() - self._used < self._idle_limit:
                return False
            self._end_session()
            return True
        finally:
            self._lock.release()

    def close(self) -> None:
        """Log out: a BMC has only a few session slots, and one left behind stays taken until the
        BMC's own timeout (a host deleted, or its credentials changed, dropped its session without)."""
        with self._lock:
            if self._command is not None:
                self._end_session()
