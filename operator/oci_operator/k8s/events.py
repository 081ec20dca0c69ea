"""Events posted the way client-go's recorder posts them: a repeat is a count on the Event already there.

kopf posts a new Event object per call, so a host that flapped under BMC packet loss grew a list of
identical Warnings, and `kubectl describe` scrolled. Here a Warning repeats by (object, reason): the
same error again bumps `count` and `lastTimestamp` and shows the latest message, so a host carries
one Warning per distinct error. A Normal Event repeats only with the same message (each step of a
life stays readable). Posting runs in background threads, each object's Events in one of them:
callers (the event loop) never block, and an object's Events keep their order."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .client import api_client

MESSAGE_LIMIT = 1024  # the API server refuses longer Event messages
REMEMBERED = 16384  # Events remembered for aggregation (a few per host; the oldest are forgotten)
# Threads posting Events. One posted about 140 a second (a round trip each), behind a 10,000-host
# bring-up's 30,000 by minutes; an object always goes to the same thread, so its Events stay in order.
POSTERS = 4

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Involved:
    """The object an Event is about."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Involved:
        meta = body.get("metadata") or {}
        return cls(
            api_version=str(body.get("apiVersion", "")),
            kind=str(body.get("kind", "")),
            namespace=str(meta.get("namespace") or "default"),
            name=str(meta.get("name", "")),
            uid=str(meta.get("uid", "")),
        )


@dataclass(frozen=True)
class _Record:
    involved: Involved
    type: str
    reason: str
    message: str

    @property
    def key(self) -> tuple[str, ...]:
        """What makes two Events one: a Warning is an error whose latest words win; a Normal Event is a step."""
        same = (self.involved.uid, self.involved.name, self.type, self.reason)
        return same if self.type == "Warning" else (*same, self.message)


@dataclass
class _Posted:
    name: str
    count: int


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Recorder:
    """Posts and aggregates Events for one process (component: what `kubectl describe` shows as From)."""

    def __init__(self, component: str) -> None:
        self.component = component
        self._queues: list[queue.Queue[_Record]] = [queue.Queue() for _ in range(POSTERS)]
        self._posted: OrderedDict[tuple[str, ...], _Posted] = OrderedDict()
        self._posted_lock = threading.Lock()
        self._start = threading.Lock()
        self._started = False

    def record(self, body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        """Queue an Event about `body` (a kopf Body or any object's dict); returns at once."""
        involved = Involved.of(body)
        self._queues[hash((involved.uid, involved.name)) % POSTERS].put(
            _Record(involved, type, reason, message[:MESSAGE_LIMIT])
        )
        with self._start:
            if not self._started:
                for n, pending in enumerate(self._queues):
                    threading.Thread(target=self._run, args=(pending,), name=f"oci-events-{n}", daemon=True).start()
                self._started = True

    def flush(self, timeout: float) -> bool:
        """Wait until every queued Event was posted (at shutdown); False when time ran out."""
        done = threading.Event()

        def drain() -> None:
            for pending in self._queues:
                pending.join()
            done.set()

        threading.Thread(target=drain, daemon=True).start()
        return done.wait(timeout)

    def _run(self, pending: queue.Queue[_Record]) -> None:
        while True:
            record = pending.get()
            try:
                self._post(record)
            except Exception as exc:  # an Event is never worth a crash; the status says the same
                log.warning("event %s %s for %s/%s not posted: %s", record.type, record.reason,
                            record.involved.namespace, record.involved.name, exc)  # fmt: skip
            finally:
                pending.task_done()

    def _post(self, record: _Record) -> None:
        events = client.CoreV1Api(api_client())
        now = _now()
        with self._posted_lock:
            earlier = self._posted.get(record.key)
        if earlier is not None:
            change = {"count": earlier.count + 1, "lastTimestamp": now, "message": record.message}
            try:
                events.patch_namespaced_event(earlier.name, record.involved.namespace, change, _preload_content=False)
                with self._posted_lock:
                    earlier.count += 1
                    self._posted.move_to_end(record.key)
                return
            except ApiException as exc:
                if exc.status != 404:  # gone (Events expire after an hour): post a new one
                    raise
        ref = record.involved
        body: Any = {
            "metadata": {"generateName": f"{ref.name}.", "namespace": ref.namespace},
            "involvedObject": {
                "apiVersion": ref.api_version,
                "kind": ref.kind,
                "namespace": ref.namespace,
                "name": ref.name,
                "uid": ref.uid,
            },
            "type": record.type,
            "reason": record.reason,
            "message": record.message,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": {"component": self.component},
            "reportingComponent": self.component,
        }
        # The reply as JSON, not the client's model objects: building those cost more CPU than the
        # request, and one thread posts every Event (10,000 hosts' bring-up left minutes of backlog).
        created: Any = events.create_namespaced_event(ref.namespace, body, _preload_content=False)
        with self._posted_lock:
            self._posted[record.key] = _Posted(str(json.loads(created.data)["metadata"]["name"]), 1)
            while len(self._posted) > REMEMBERED:
                self._posted.popitem(last=False)


_recorder = Recorder("oci-operator")


def record(body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
    """Post an Event about `body` from this operator (aggregated, never blocking)."""
    _recorder.record(body, type, reason, message)


def flush(timeout: float = 5.0) -> bool:
    return _recorder.flush(timeout)
