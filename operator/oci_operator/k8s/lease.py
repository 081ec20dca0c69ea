"""Active/passive replicas: a coordination.k8s.io Lease names the one operator process that acts.

client-go's rules, on a thread (the client blocks): a standby takes the Lease over only when it has
seen the same holder and renewTime for a whole `duration` by its own clock (no trust in other
machines' clocks); the leader renews every `renew_every` and, when it could not renew for
`renew_deadline` (< duration), stops acting at once: the process exits, so that by the time a
standby can take the Lease over, the old leader is gone. Every write is conditional on the
resourceVersion read, so two standbys never both win.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .client import api_client

_log = logging.getLogger(__name__)


def default_identity() -> str:
    """The pod's name (its hostname in Kubernetes) and the process id: unique among replicas."""
    return f"{socket.gethostname()}_{os.getpid()}"


@dataclass
class LeaseSettings:
    name: str
    namespace: str
    identity: str = field(default_factory=default_identity)
    duration: float = 15.0  # a standby waits this long after the last renewal it saw
    renew_deadline: float = 10.0  # the leader stops acting when it could not renew for this long
    retry_period: float = 2.0  # standbys look this often; the leader renews this often

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.duration:
            raise ValueError("lease timings must satisfy 0 < retry period < renew deadline < duration")


def _now() -> datetime:
    return datetime.now(UTC)


class LeaderElector:
    """Acquire (blocking), then hold on a daemon thread; `on_lost` runs if the Lease slips away."""

    def __init__(self, settings: LeaseSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings, self.clock = settings, clock
        self._seen: tuple[str, str] | None = None  # (holder, renewTime) last observed
        self._seen_at = 0.0
        self.holder = ""  # the holder seen at the last attempt
        self.leading = threading.Event()
        self._stop = threading.Event()

    def _api(self) -> client.CoordinationV1Api:
        return client.CoordinationV1Api(api_client())

    def try_acquire_or_renew(self) -> bool:
        """One attempt; True when this process holds the Lease now."""
        s = self.settings
        try:
            lease: Any = self._api().read_namespaced_lease(s.name, s.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            return self._create()
        spec = lease.spec or client.V1LeaseSpec()
        holder = self.holder = spec.holder_identity or ""
        renewed = str(spec.renew_time or "")
        if holder != s.identity:
            if (holder, renewed) != self._seen:
                self._seen, self._seen_at = (holder, renewed), self.clock()
            expired = not holder or self.clock() - self._seen_at >= s.duration
            if not expired:
                return False
            spec.acquire_time = _now()
            spec.lease_transitions = (spec.lease_transitions or 0) + 1
        spec.holder_identity = s.identity
        spec.lease_duration_seconds = int(s.duration)
        spec.renew_time = _now()
        lease.spec = spec
        try:  # conditional on the resourceVersion just read: of two contenders one gets 409
            self._api().replace_namespaced_lease(s.name, s.namespace, lease)
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def _create(self) -> bool:
        s = self.settings
        now = _now()
        body = client.V1Lease(
            metadata=client.V1ObjectMeta(name=s.name, namespace=s.namespace),
            spec=client.V1LeaseSpec(
                holder_identity=s.identity,
                lease_duration_seconds=int(s.duration),
                acquire_time=now,
                renew_time=now,
                lease_transitions=0,
            ),
        )
        try:
            self._api().create_namespaced_lease(s.namespace, body)
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        self.holder = s.identity
        return True

    def acquire(self) -> None:
        """Block until this process leads."""
        announced = False
        while not self._stop.is_set():
            try:
                if self.try_acquire_or_renew():
                    self.leading.set()
                    _log.info("leading: holding Lease %s/%s as %s", *self._where(), self.settings.identity)
                    return
            except Exception as exc:  # the API server away: a standby just keeps looking
                _log.warning("cannot read Lease %s/%s: %s", *self._where(), exc)
            if not announced:
                _log.info("standing by: Lease %s/%s is held by another replica", *self._where())
                announced = True
            self._stop.wait(self.settings.retry_period)

    def hold(self, on_lost: Callable[[], None]) -> threading.Thread:
        """Renew on a daemon thread; `on_lost` when the renew deadline passes without a renewal."""

        def run() -> None:
            last = self.clock()
            while not self._stop.wait(self.settings.retry_period):
                taken = False
                try:
                    if self.try_acquire_or_renew():
                        last = self.clock()
                        continue
                    taken = self.holder not in ("", self.settings.identity)
                    reason = f"held by {self.holder}" if taken else "a concurrent write"
                except Exception as exc:
                    reason = str(exc)
                if taken or self.clock() - last >= self.settings.renew_deadline:
                    self.leading.clear()
                    _log.critical("lost Lease %s/%s (%s): stopping at once", *self._where(), reason)
                    on_lost()
                    return

        thread = threading.Thread(target=run, name="lease", daemon=True)
        thread.start()
        return thread

    def release(self) -> None:
        """A clean shutdown: give the Lease up so that a standby need not wait for it to expire."""
        self._stop.set()
        if not self.leading.is_set():
            return
        self.leading.clear()
        s = self.settings
        try:
            lease: Any = self._api().read_namespaced_lease(s.name, s.namespace)
            if lease.spec is not None and lease.spec.holder_identity == s.identity:
                lease.spec.holder_identity = None
                lease.spec.lease_duration_seconds = 1
                self._api().replace_namespaced_lease(s.name, s.namespace, lease)
        except Exception as exc:  # it expires by itself
            _log.warning("could not release Lease %s/%s: %s", *self._where(), exc)

    def _where(self) -> tuple[str, str]:
        return self.settings.namespace, self.settings.name


class _Alive(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"standby\n"
        self.send_response(200 if self.path.rstrip("/") == "/healthz" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def standby_health(address: str, port: int) -> Iterator[None]:
    """Liveness answers while a replica stands by (kopf serves it once it runs): a standby is healthy."""
    server = ThreadingHTTPServer((address, port), _Alive)
    thread = threading.Thread(target=server.serve_forever, name="standby-health", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
