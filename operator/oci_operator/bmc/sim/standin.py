"""The node agent of a simulated server: what `oci-agent run` does on a real node, minus the applying.

It speaks the real agent's wire protocol through the real agent's own request code (oci_agent.request):
HTTPS to the boot server's agent port, trusting only the certificate handed over with the credential,
the credential as a Bearer token, the desired state fetched with its ETag, the run report POSTed to
/convergence, a rotated credential adopted from the X-OCI-Agent-Credential header. Applying is a
configurable delay; a fault knob makes every run report a failed resource until it is cleared.

Runs come `interval` seconds after boot and then every `interval` seconds (the real timer: 1 min
after boot, then every 5 min), and at once when a knob changes. A run whose desired state is
unchanged (304) and whose outcome is the one already reported sends nothing: the real agent would
send the same report with a newer time, and the simulator's timer runs far faster than 5 minutes,
so those reports would be load and nothing else.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ...agent import oci_agent

MAX_RESOURCES = 500  # what a report may list (api/v1alpha1/hardware.Convergence)


@dataclass
class AgentKnobs:
    """How the stand-in agent behaves; all adjustable at run time through the control API."""

    enabled: bool = False  # off: the installed OS runs no agent (a test may run the real one for it)
    delay: float = 1.0  # seconds a run "applies" before it reports
    interval: float = 30.0  # seconds between runs
    fault: str = ""  # when set, every run reports a failed resource with this message


@dataclass
class StandInAgent:
    mac: str  # aa:bb:...; the URL form (dashes) is the real agent's
    log: Callable[[str, str], None]
    knobs: AgentKnobs = field(default_factory=AgentKnobs)
    # What the installation handed over: {"token", "server", "serverCertificate"}; empty before an install.
    credential: dict[str, str] = field(default_factory=dict, repr=False)
    last_report: dict[str, Any] = field(default_factory=dict)
    _desired: dict[str, Any] = field(default_factory=dict, repr=False)
    _etag: str | None = None
    _reported: tuple[str, str] | None = None  # (hash, fault) of the last report the server accepted
    _wake: threading.Event = field(default_factory=threading.Event, repr=False)

    def forget(self) -> None:
        """The disk was wiped: no credential, no cached state."""
        self.credential, self._desired, self._etag, self._reported = {}, {}, None, None

    def nudge(self) -> None:
        """Run now (a knob changed, like running `oci-agent run` by hand), or notice a power-off."""
        self._wake.set()

    def serve(self, alive: Callable[[], bool]) -> None:
        """The timer, while this boot lasts: a run `interval` seconds after boot (the real timer waits a
        minute: the operator may not have caught up with the installation yet), then every `interval`
        seconds, and at once when nudged."""
        self._wake.clear()
        while True:
            self._wake.wait(self.knobs.interval)
            self._wake.clear()
            if not (alive() and self.credential):
                return
            try:
                if self.knobs.enabled:
                    self.run_once(alive)
            except Exception as exc:  # a broken run must not end the timer, as with systemd
                self.log("agent_error", repr(exc)[:500])

    def _call(self, path: str, body: bytes | None = None, etag: str | None = None) -> tuple[int, bytes, dict[str, str]]:
        config = {"mac": self.mac.replace(":", "-")}
        status, data, headers = oci_agent.request(config, self.credential, path, body, etag)
        successor = headers.get("X-OCI-Agent-Credential", "").strip()
        if successor and successor != self.credential.get("token"):
            self.credential = {**self.credential, "token": successor}
            self.log("agent_credential_rotated", "")
        return status, data, headers

    def run_once(self, alive: Callable[[], bool] = lambda: True) -> None:
        started = time.monotonic()
        status, body, headers = self._call("/desired-state", etag=self._etag)
        if status == 200:
            self._desired, self._etag = json.loads(body), headers.get("ETag")
        elif status != 304:
            self.log("agent_fetch_failed", f"HTTP {status}: {body[:200]!r}")
            return
        digest, fault = str(self._desired.get("hash", "")), self.knobs.fault
        if status == 304 and self._reported == (digest, fault):
            return
        deadline = time.monotonic() + self.knobs.delay
        while (left := deadline - time.monotonic()) > 0:  # "applying"; a power-off ends it
            if not alive():
                return
            time.sleep(min(left, 0.2))
        report = self.report(time.monotonic() - started, fault)
        status, body, _ = self._call("/convergence", json.dumps(report).encode())
        self.log("agent_report", f"{digest[:12]} failed={report['failed']}: HTTP {status}")
        if status == 200:
            self._reported, self.last_report = (digest, fault), report

    def report(self, duration: float, fault: str) -> dict[str, Any]:
        """The real agent's report: every resource changed on a new state, or one failed under the fault."""
        resources: list[dict[str, Any]] = self._desired.get("resources", [])
        if fault:
            first = resources[0] if resources else {"name": "simulated", "type": "command"}
            listed = [{"name": first["name"], "type": first["type"], "changed": False, "drift": False,
                       "failed": True, "message": fault[:2048]}]  # fmt: skip
        else:
            fresh = self._reported is None or self._reported[0] != self._desired.get("hash")
            listed = [
                {"name": r["name"], "type": r["type"], "changed": True, "drift": False, "failed": False,
                 "message": "simulated"}
                for r in (resources if fresh else [])
            ][:MAX_RESOURCES]  # fmt: skip
        return {
            "appliedHash": str(self._desired.get("hash", "")),
            "time": datetime.now(UTC).isoformat(),
            "durationSeconds": round(duration, 3),
            "changed": sum(r["changed"] for r in listed),
            "drifted": 0,
            "failed": sum(r["failed"] for r in listed),
            "resources": listed,
        }
