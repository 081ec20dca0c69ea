"""HTTP control plane of the simulator: read state and command logs, set faults, press buttons.

GET  /bmcs                      all BMCs with their state
GET  /bmcs/NAME/log             commands received, oldest first
POST /bmcs/NAME/faults          {"drop": 0.2, "silent": false, "delay": 0, "rejectCredentials": false,
                                 "softOffDelay": 0.5, "powerDelay": 0,  (powerDelay: the power changes N s late)
                                 "sessionTimeout": 0,  (idle sessions end after N s; 0: never)
                                 "refuse": {"set_boot_device": 204},  (command -> IPMI completion code)
                                 "lose": {"power_on": 1}}  (command -> times acknowledged but not done)
POST /bmcs/NAME/power           {"on": true}   (the power button: no IPMI involved)
POST /bmcs/NAME/credentials     {"username": "...", "password": "..."}
POST /bmcs/NAME/agent           {"enabled": true, "delay": 1.0, "interval": 30, "fault": "message"}  (the
                                 simulated server's stand-in node agent; "fault": "" clears it; a change
                                 triggers a run at once)
POST /bmcs/NAME/hardware        a hardware profile (hardware.py: product, ramGiB, cpus, disks, nics): what the
                                 simulated server reports at its next inspection
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .fleet import Credentials, Fleet, VirtualBMC
from .hardware import parse_profile
from .node import SimulatedNode


def _codes(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValueError("expected {command: number}")
    return {str(command): int(code) for command, code in value.items()}


_FAULT_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "drop": ("drop", float),
    "silent": ("silent", bool),
    "delay": ("delay", float),
    "rejectCredentials": ("reject_credentials", bool),
    "softOffDelay": ("soft_off_delay", float),
    "powerDelay": ("power_delay", float),
    "sessionTimeout": ("session_timeout", float),
    "refuse": ("refuse", _codes),
    "lose": ("lose", _codes),
}


_AGENT_FIELDS: dict[str, Callable[[Any], Any]] = {"enabled": bool, "delay": float, "interval": float, "fault": str}


def _simulated(bmc: VirtualBMC) -> SimulatedNode:
    """The simulated server behind `bmc`; a QEMU VM has its own hardware and runs the real agent."""
    if not isinstance(bmc.node, SimulatedNode):
        raise ValueError("this BMC has no simulated server (start the simulator with --boot-server, not --vms)")
    return bmc.node


def _set_agent(bmc: VirtualBMC, body: dict[str, Any]) -> None:
    node = _simulated(bmc)
    for key, value in body.items():
        setattr(node.agent_knobs, key, _AGENT_FIELDS[key]("" if value is None and key == "fault" else value))
    node.agent.nudge()


def _set_hardware(bmc: VirtualBMC, body: dict[str, Any]) -> None:
    _simulated(bmc).set_hardware(parse_profile(body))


def _handler(fleet: Fleet) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: tests poll this a lot

        def _reply(self, status: HTTPStatus, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _target(self) -> tuple[VirtualBMC | None, str]:
            parts = [p for p in self.path.split("?")[0].split("/") if p]
            if len(parts) < 2 or parts[0] != "bmcs":
                return None, ""
            return fleet.bmcs.get(parts[1]), parts[2] if len(parts) > 2 else ""

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/bmcs":
                self._reply(HTTPStatus.OK, [b.describe() for b in fleet.bmcs.values()])
                return
            bmc, what = self._target()
            if bmc is None:
                self._reply(HTTPStatus.NOT_FOUND, {"error": "no such BMC"})
            elif what == "log":
                self._reply(HTTPStatus.OK, bmc.log())
            elif what == "":
                self._reply(HTTPStatus.OK, bmc.describe())
            else:
                self._reply(HTTPStatus.NOT_FOUND, {"error": "unknown path"})

        def do_POST(self) -> None:
            bmc, what = self._target()
            if bmc is None:
                self._reply(HTTPStatus.NOT_FOUND, {"error": "no such BMC"})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("expected a JSON object")
                if what == "faults":
                    for key, value in body.items():
                        attr, kind = _FAULT_FIELDS[key]
                        setattr(bmc.faults, attr, kind(value))
                elif what == "power":
                    bmc.press_power_button(bool(body["on"]))
                elif what == "credentials":
                    bmc.credentials = Credentials(str(body["username"]), str(body["password"]))
                elif what == "agent":
                    _set_agent(bmc, body)
                elif what == "hardware":
                    _set_hardware(bmc, body)
                else:
                    self._reply(HTTPStatus.NOT_FOUND, {"error": "unknown path"})
                    return
            except (KeyError, ValueError, TypeError) as exc:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": f"bad request: {exc}"})
                return
            self._reply(HTTPStatus.OK, bmc.describe())

    return Handler


def serve(fleet: Fleet, address: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((address, port), _handler(fleet))
    threading.Thread(target=server.serve_forever, name="sim-control", daemon=True).start()
    return server
