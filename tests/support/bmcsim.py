"""The IPMI simulator as its own process (`oci-operator bmc-sim`), and a client for its control API."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .waiting import wait_for


@dataclass(frozen=True)
class SimBMC:
    name: str
    port: int
    username: str
    password: str
    mac: str = ""

    @property
    def address(self) -> str:
        return f"ipmi://127.0.0.1:{self.port}"


class SimControl:
    def __init__(self, url: str, bmcs: list[SimBMC]) -> None:
        self.url = url
        self.bmcs = bmcs
        self._next = 0

    def take(self) -> SimBMC:
        """A BMC no other test has used."""
        assert self._next < len(self.bmcs), "the simulated fleet is too small for the tests: raise --count"
        bmc = self.bmcs[self._next]
        self._next += 1
        return bmc

    def _request(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method="POST" if data else "GET")  # noqa: S310
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    def state(self, bmc: SimBMC) -> dict[str, Any]:
        result: dict[str, Any] = self._request(f"/bmcs/{bmc.name}")
        return result

    def log(self, bmc: SimBMC) -> list[str]:
        return [entry["command"] for entry in self._request(f"/bmcs/{bmc.name}/log")]

    def entries(self, bmc: SimBMC) -> list[tuple[str, str]]:
        """Commands with their details (a simulated server's boot steps are node_* entries)."""
        return [(e["command"], e["detail"]) for e in self._request(f"/bmcs/{bmc.name}/log")]

    def entries_with_time(self, bmc: SimBMC) -> list[dict[str, Any]]:
        """The raw log: time (epoch seconds), command, detail."""
        result: list[dict[str, Any]] = self._request(f"/bmcs/{bmc.name}/log")
        return result

    def count(self, bmc: SimBMC, command: str) -> int:
        return self.log(bmc).count(command)

    def faults(self, bmc: SimBMC, **faults: Any) -> None:
        self._request(f"/bmcs/{bmc.name}/faults", faults)

    def press_power(self, bmc: SimBMC, on: bool) -> None:
        self._request(f"/bmcs/{bmc.name}/power", {"on": on})

    def agent(self, bmc: SimBMC, **knobs: Any) -> dict[str, Any]:
        """Set the simulated server's stand-in agent knobs (enabled, delay, interval, fault; fault="" clears
        it); a change makes the agent run at once. Returns its knobs and last accepted report."""
        result: dict[str, Any] = self._request(f"/bmcs/{bmc.name}/agent", knobs)["agent"]
        return result

    def hardware(self, bmc: SimBMC, profile: dict[str, Any]) -> dict[str, Any]:
        """Rebuild the simulated server (oci_operator/bmc/sim/hardware.py's profile); its next inspection
        reports it. Returns the hardware it will report."""
        result: dict[str, Any] = self._request(f"/bmcs/{bmc.name}/hardware", profile)["hardware"]
        return result


@contextmanager
def bmc_sim(workdir: Path, count: int, *extra: str, wrapper: tuple[str, ...] = ()) -> Iterator[SimControl]:
    """`wrapper` prefixes the command (e.g. nsenter into a node's network namespace)."""
    workdir.mkdir(parents=True, exist_ok=True)
    state_file = workdir / "bmc-sim.json"
    log = (workdir / "bmc-sim.log").open("wb")
    process = subprocess.Popen(
        [
            *wrapper,
            sys.executable,
            "-m",
            "oci_operator",
            "bmc-sim",
            "--count",
            str(count),
            "--state-file",
            str(state_file),
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: state_file.exists() or process.poll() is not None, 30, "the simulator's state file")
        assert process.poll() is None, (workdir / "bmc-sim.log").read_text()
        state = json.loads(state_file.read_text())
        bmcs = [SimBMC(b["name"], b["port"], b["username"], b["password"], b["mac"]) for b in state["bmcs"]]
        yield SimControl(state["control"], bmcs)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
