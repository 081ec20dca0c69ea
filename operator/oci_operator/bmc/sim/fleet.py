"""Virtual BMCs: power state, boot device, a command log, and fault knobs per BMC."""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import pyghmi.ipmi.bmc as pyghmi_bmc
import pyghmi.ipmi.private.session as ipmisession

from .. import pyghmi_fixes
from . import protocol
from .node import SimulatedNode
from .vm import VMNode

_log = logging.getLogger(__name__)

# IPMI completion code "command not supported in present state" (e.g. power cycle while off).
CC_NOT_IN_PRESENT_STATE = 0xD5
# The serving loop's longest wait: the late answer a lost wake-up can cost (see serve_forever).
SERVE_WAIT = 0.05


@dataclass
class Faults:
    """What makes this BMC misbehave, all adjustable at run time."""

    drop: float = 0.0  # fraction of replies lost on the wire
    silent: bool = False  # never answers (unplugged, firewalled)
    delay: float = 0.0  # seconds before every reply
    reject_credentials: bool = False  # every password is wrong
    soft_off_delay: float = 0.5  # seconds an OS takes to shut down after ACPI soft-off
    power_delay: float = 0.0  # seconds between a power command's acceptance and the power changing
    # seconds a session may stay idle before the BMC ends it (IPMI's default is 60); 0: sessions live on.
    # An ended session's requests get no answer, as on real BMCs.
    session_timeout: float = 0.0
    # command -> IPMI completion code it is answered with instead of being done (an outside BMC that
    # refuses, say, set_boot_device with 0xCC). Commands: get_power, power_on, power_off, power_cycle,
    # power_reset, power_soft, set_boot_device, get_boot_device.
    refuse: dict[str, int] = field(default_factory=dict)
    # command -> how many more times it is acknowledged but not done (a command lost inside the BMC, or
    # never sent by an operator killed after recording it: either way the power does not change)
    lose: dict[str, int] = field(default_factory=dict)


@dataclass
class LogEntry:
    time: float
    command: str
    detail: str = ""


@dataclass
class Credentials:
    username: str
    password: str = field(repr=False)


class _AuthData:
    """pyghmi looks passwords up with .get(username)."""

    def __init__(self, owner: VirtualBMC) -> None:
        self.owner = owner

    def get(self, username: str) -> str | None:
        creds = self.owner.credentials
        if username != creds.username:
            return None
        # A wrong answer to the HMAC challenge is how a real BMC says "bad password".
        return creds.password + "-rejected" if self.owner.faults.reject_credentials else creds.password


class VirtualBMC(pyghmi_bmc.Bmc):  # type: ignore[misc]
    def __init__(self, name: str, credentials: Credentials, port: int, address: str = "127.0.0.1") -> None:
        self.name = name
        self.credentials = credentials
        self.faults = Faults()
        self.powered_on = False
        self.boot_device = "default"
        self.boot_persistent = False
        self.mac = ""
        self.node: SimulatedNode | VMNode | None = None  # the server behind this BMC, when simulated
        self.entries: list[LogEntry] = []
        self.lock = threading.Lock()
        super().__init__(_AuthData(self), port=port, address=address)
        self.port = self.serversocket.getsockname()[1]
        _SOCKETS[self.serversocket] = self

    # Command log --------------------------------------------------------------------------------
    def record(self, command: str, detail: str = "") -> None:
        with self.lock:
            self.entries.append(LogEntry(time.time(), command, detail))

    def log(self) -> list[dict[str, Any]]:
        with self.lock:
            return [asdict(e) for e in self.entries]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": f"ipmi://127.0.0.1:{self.port}",
            "port": self.port,
            "username": self.credentials.username,
            "password": self.credentials.password,
            "poweredOn": self.powered_on,
            "bootDevice": self.boot_device,
            "bootPersistent": self.boot_persistent,
            "mac": self.mac,
            "node": self.node.running if self.node else None,
            "osInstalled": self.node.os_installed if self.node else None,
            "faults": asdict(self.faults),
            "agent": self.node.agent_status() if isinstance(self.node, SimulatedNode) else None,
            "hardware": self.node.hardware if isinstance(self.node, SimulatedNode) else None,
        }

    def refused(self, command: str) -> int:
        """The completion code this command is refused with (logged), or 0."""
        code = self.faults.refuse.get(command, 0)
        if code:
            self.record("refused", f"{command}: 0x{code:02X}")
        return code

    def lost(self, command: str) -> bool:
        """True (and logged) when this command is to be acknowledged without being done."""
        with self.lock:
            left = self.faults.lose.get(command, 0)
            if left > 0:
                self.faults.lose[command] = left - 1
        if left > 0:
            self.record("lost", command)
        return left > 0

    # pyghmi's BMC hooks ---------------------------------------------------------------------------
    def get_chassis_status(self, session: Any) -> None:
        code = self.refused("get_power")
        if code:
            session.send_ipmi_response(code=code)
            return
        super().get_chassis_status(session)

    def _power(self, on: bool, transition: bool = True) -> None:
        """Every power change goes through here so the simulated server sees it."""
        changed = self.powered_on != on
        self.powered_on = on
        if self.node is not None and (changed or (on and transition)):
            self.node.power_changed(on)

    def take_boot_device(self) -> str:
        """What the firmware boots from now; a one-time override is used up (as on real BMCs)."""
        device = self.boot_device
        if not self.boot_persistent:
            self.boot_device = "default"
        return device

    def get_power_state(self) -> str:
        self.record("get_power")
        return "on" if self.powered_on else "off"

    def _power_after_command(self, on: bool, transition: bool = True) -> None:
        """A commanded change: at once, or `power_delay` seconds later (a slow supply or firmware)."""
        delay = self.faults.power_delay
        if delay <= 0:
            self._power(on, transition)
            return
        timer = threading.Timer(delay, self._finish_delayed_power, (on, transition))
        timer.daemon = True
        timer.start()

    def _finish_delayed_power(self, on: bool, transition: bool) -> None:
        self._power(on, transition)
        self.record("power_changed", "on" if on else "off")

    def power_on(self) -> int:
        if code := self.refused("power_on"):
            return code
        if self.lost("power_on"):
            return 0
        self.record("power_on")
        self._power_after_command(True, transition=False)
        return 0

    def power_off(self) -> int:
        if code := self.refused("power_off"):
            return code
        if self.lost("power_off"):
            return 0
        self.record("power_off")
        self._power_after_command(False)
        return 0

    def power_cycle(self) -> int:
        if code := self.refused("power_cycle"):
            return code
        if self.lost("power_cycle"):
            return 0
        self.record("power_cycle")
        if not self.powered_on:
            return CC_NOT_IN_PRESENT_STATE
        self._power_after_command(True)
        return 0

    def power_reset(self) -> int:
        if code := self.refused("power_reset"):
            return code
        if self.lost("power_reset"):
            return 0
        self.record("power_reset")
        if not self.powered_on:
            return CC_NOT_IN_PRESENT_STATE
        self._power_after_command(True)
        return 0

    def power_shutdown(self) -> int:
        if code := self.refused("power_soft"):
            return code
        self.record("power_soft")
        if self.powered_on:
            timer = threading.Timer(self.faults.soft_off_delay, self._finish_soft_off)
            timer.daemon = True
            timer.start()
        return 0

    def _finish_soft_off(self) -> None:
        self._power(False)
        self.record("os_shutdown_complete")

    def get_boot_device(self) -> str:
        self.record("get_boot_device")
        return self.boot_device

    def get_system_boot_options(self, request: dict[str, Any], session: Any) -> None:
        if code := self.refused("get_boot_device"):
            session.send_ipmi_response(code=code)
            return
        super().get_system_boot_options(request, session)

    def set_system_boot_options(self, request: dict[str, Any], session: Any) -> None:
        data = request["data"]
        if data and data[0] == 5 and (code := self.refused("set_boot_device")):
            session.send_ipmi_response(code=code)
            return
        if data and data[0] == 5 and len(data) > 1:
            self.boot_persistent = bool(data[1] & 0x40)  # IPMI boot flags: bit 6 of byte 1 is "persistent"
        super().set_system_boot_options(request, session)

    def set_boot_device(self, bootdevice: str) -> None:
        self.record("set_boot_device", f"{bootdevice}{' persistent' if self.boot_persistent else ''}")
        self.boot_device = str(bootdevice)

    def power_off_by_os(self) -> None:
        """The running system powered the server off (the deploy ramdisk after an install)."""
        self._power(False)

    def press_power_button(self, on: bool) -> None:
        """Someone at the rack: the power changes without an IPMI command."""
        self._power(on, transition=False)
        self.record("button", "on" if on else "off")


_SOCKETS: dict[Any, VirtualBMC] = {}
_original_sendto = pyghmi_fixes.send_without_blocking_toggle


def _faulty_sendto(sock: Any, packet: bytes, sockaddr: Any) -> None:
    bmc = _SOCKETS.get(sock)
    if bmc is None:
        _original_sendto(sock, packet, sockaddr)
        return
    faults = bmc.faults
    if faults.silent or (faults.drop and random.random() < faults.drop):  # noqa: S311 - fault injection
        return
    if faults.delay > 0:
        timer = threading.Timer(faults.delay, _original_sendto, (sock, packet, sockaddr))
        timer.daemon = True
        timer.start()
        return
    _original_sendto(sock, packet, sockaddr)


class Fleet:
    """N virtual BMCs in one process, sharing pyghmi's IO thread."""

    def __init__(self) -> None:
        protocol.install()
        pyghmi_fixes.apply()
        pyghmi_fixes.set_io_wait_cap(SERVE_WAIT)
        ipmisession._io_sendto = _faulty_sendto
        self.bmcs: dict[str, VirtualBMC] = {}

    def add(self, name: str, credentials: Credentials, port: int = 0, address: str = "127.0.0.1") -> VirtualBMC:
        bmc = VirtualBMC(name, credentials, port, address)
        self.bmcs[name] = bmc
        return bmc

    def serve_forever(self) -> None:
        """Like pyghmi's Bmc.listen(), with two differences a fleet needs: an exception from one session
        does not end the loop, and each wait is short. pyghmi registers a waiter only after checking its
        queue, so a packet landing in between is seen at the wait's timeout: with listen()'s 30 s every
        BMC of the fleet froze for up to 30 s; SERVE_WAIT bounds that."""
        while True:
            try:
                ipmisession.Session.wait_for_rsp(SERVE_WAIT)
            except Exception:
                _log.exception("IPMI request handling failed; serving on")

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="ipmi-io", daemon=True)
        thread.start()
        return thread
