"""List-then-watch of one resource type into an in-memory store, on a thread (the client blocks).

The boot server answers every request from these stores, so a PXE storm costs the API server
nothing; a lost watch (410 Gone, a dropped connection) is followed by a fresh list.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

_log = logging.getLogger(__name__)
Key = tuple[str, str]  # namespace, name
Lister = Callable[..., Any]
# The API server ends each watch after this; the client gives up on a connection silent for longer (a
# half-open connection to an API server that went away without closing it would otherwise stall the
# cache for good, the kernel's TCP keepalive being hours).
WATCH_SECONDS = 240
READ_TIMEOUT = WATCH_SECONDS + 30


def custom_objects(group: str, version: str, plural: str, namespace: str | None) -> Lister:
    api = client.CustomObjectsApi()
    if namespace:
        return lambda **kw: api.list_namespaced_custom_object(group, version, namespace, plural, **kw)
    return lambda **kw: api.list_cluster_custom_object(group, version, plural, **kw)


def secrets(namespace: str | None) -> Lister:
    api = client.CoreV1Api()
    if namespace:
        return lambda **kw: api.list_namespaced_secret(namespace, **kw)
    return api.list_secret_for_all_namespaces


def _plain(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    result: dict[str, Any] = client.ApiClient().sanitize_for_serialization(obj)
    return result


class Informer:
    def __init__(
        self, name: str, lister: Lister, label_selector: str = "", on_change: Callable[[], None] | None = None
    ) -> None:
        self.name, self._lister, self._selector = name, lister, label_selector
        self.on_change = on_change or (lambda: None)
        self._items: dict[Key, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.synced = threading.Event()
        self._stop = threading.Event()

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._items.values())

    def refresh(self, namespace: str, name: str) -> None:
        """Read one object now (a list narrowed to it) and keep it unless the watch already holds a newer
        copy: for an answer that must not lag a write known to have happened before the question (a node
        asks for its boot script right after the operator recorded the job and powered it on). An object
        absent from the read is left to the watch's DELETED event."""
        fields = f"metadata.name={name},metadata.namespace={namespace}"
        listing = _plain(self._lister(label_selector=self._selector, field_selector=fields))
        found = [_plain(i) for i in listing.get("items") or []]
        if not found:
            return
        fresh = found[0]
        with self._lock:
            held = self._items.get(_key(fresh))
            if held is not None and _version(held) >= _version(fresh):
                return
            self._items[_key(fresh)] = fresh
        self.on_change()

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"informer-{self.name}", daemon=True).start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                version = self._list()
                while not self._stop.is_set():  # a watch the server ended resumes where it was
                    version = self._watch(version)
            except ApiException as exc:
                if exc.status != 410:
                    _log.warning("%s: watch failed (%s); listing again", self.name, exc.status)
                    time.sleep(1.0)
            except Exception as exc:  # connection reset, API server restart
                _log.warning("%s: watch failed (%s); listing again", self.name, exc)
                time.sleep(1.0)

    def _list(self) -> str:
        listing = _plain(self._lister(label_selector=self._selector))
        items = {_key(item): item for item in (_plain(i) for i in listing.get("items") or [])}
        with self._lock:
            self._items = items
        self.synced.set()
        self.on_change()
        return str((listing.get("metadata") or {}).get("resourceVersion", ""))

    def _watch(self, version: str) -> str:
        """Apply events until the server ends the watch; the last resource version seen."""
        stream = watch.Watch().stream(
            self._lister,
            label_selector=self._selector,
            resource_version=version,
            timeout_seconds=WATCH_SECONDS,
            _request_timeout=(10, READ_TIMEOUT),
        )
        for event in stream:
            if self._stop.is_set():
                return version
            kind, obj = event["type"], _plain(event["object"])
            if kind == "ERROR":
                raise ApiException(status=int(obj.get("code", 500)), reason=str(obj.get("message", "")))
            version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
            with self._lock:
                if kind == "DELETED":
                    self._items.pop(_key(obj), None)
                else:
                    held = self._items.get(_key(obj))
                    if held is not None and _version(held) > _version(obj):
                        continue  # refresh() already holds a newer copy: a lagging watch must not undo it
                    self._items[_key(obj)] = obj
            self.on_change()
        return version


def _version(obj: dict[str, Any]) -> int:
    """etcd's revision, which the API server's resourceVersions are in practice (-1: cannot tell)."""
    version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
    return int(version) if version.isdigit() else -1


def _key(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))
