"""Optional: a MAC that PXE-boots here without a BareMetalHost gets one, in state discovered.

Off by default (an unknown machine on the provisioning network creates nothing). The new host has no
BMC details, so the operator leaves it alone until someone adds them."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..api.v1alpha1 import API_VERSION, GROUP, VERSION, BareMetalHost
from .directory import Directory
from .macs import url_form

_log = logging.getLogger(__name__)
DISCOVERED_LABEL = "oci.openstack.org/discovered"
Clock = Callable[[], float]


@dataclass(frozen=True)
class DiscoveryLimits:
    """Anyone on the provisioning network can make the boot server see a MAC: bound what that costs."""

    per_minute: float = 30.0  # hosts created per minute (token bucket)
    burst: int = 10
    max_hosts: int = 100  # discovered hosts (labelled) that may exist at once, in the target namespace
    memo: int = 4096  # MACs remembered as handled


class Discovery:
    def __init__(
        self,
        directory: Directory,
        namespace: str,
        limits: DiscoveryLimits | None = None,
        clock: Clock = time.monotonic,
        post: Callable[[str, dict[str, Any]], None] | None = None,  # namespace, body; the API by default
    ) -> None:
        self.directory, self.namespace = directory, namespace
        self.limits = limits or DiscoveryLimits()
        self._clock = clock
        self._post = post or _create_host
        self._done: OrderedDict[str, None] = OrderedDict()  # bounded: oldest MACs are forgotten first
        self._tokens = float(self.limits.burst)
        self._filled = clock()
        self._refused_logged = 0.0
        self._lock = threading.Lock()

    def seen(self, mac: str, how: str) -> None:
        """Called for every MAC seen (DHCP log, iPXE request); creates at most one host per MAC."""
        self.offer(mac, how)

    def offer(self, mac: str, how: str) -> bool:
        """True when a host is being created for `mac`."""
        if self.directory.claimants(mac):  # known (a duplicate MAC is known too, and refused)
            return False
        with self._lock:
            if mac in self._done:
                self._done.move_to_end(mac)
                return False
            refused = self._refusal()
            if refused:
                if self._clock() - self._refused_logged > 60:  # a flood must not flood the log either
                    self._refused_logged = self._clock()
                    _log.warning("not creating a BareMetalHost for %s (%s): %s", mac, how, refused)
                return False
            self._done[mac] = None
            while len(self._done) > self.limits.memo:
                self._done.popitem(last=False)
        threading.Thread(target=self._create, args=(mac, how), daemon=True).start()
        return True

    def remembered(self) -> int:
        with self._lock:
            return len(self._done)

    def _refusal(self) -> str | None:
        """Why no host may be created now (rate or cap), or None; takes a token when it may."""
        now = self._clock()
        self._tokens = min(float(self.limits.burst), self._tokens + (now - self._filled) * self.limits.per_minute / 60)
        self._filled = now
        if self._tokens < 1:
            return f"more than {self.limits.per_minute:g} discoveries a minute"
        existing = self.directory.count_labelled(self.namespace, DISCOVERED_LABEL) + self._pending()
        if existing >= self.limits.max_hosts:
            return f"{existing} discovered hosts exist already (--discover-max {self.limits.max_hosts})"
        self._tokens -= 1
        return None

    def _pending(self) -> int:
        """Created by us but not yet seen by the informer (their MAC is remembered, not indexed)."""
        return sum(1 for mac in self._done if not self.directory.claimants(mac))

    def _create(self, mac: str, how: str) -> None:
        name = f"discovered-{url_form(mac)}"
        body = {
            "apiVersion": API_VERSION,
            "kind": "BareMetalHost",
            "metadata": {
                "name": name,
                "labels": {DISCOVERED_LABEL: "true"},
                "annotations": {DISCOVERED_LABEL: how},
            },
            "spec": {"bootMACAddress": mac, "online": False},
        }
        try:
            self._post(self.namespace, body)
            _log.info("discovered %s (%s): created BareMetalHost %s/%s", mac, how, self.namespace, name)
        except ApiException as exc:
            if exc.status != 409:
                _log.warning("discovered %s but could not create its host: %s", mac, exc.reason)
                with self._lock:
                    self._done.pop(mac, None)  # try again next time it shows up


def _create_host(namespace: str, body: dict[str, Any]) -> None:
    client.CustomObjectsApi().create_namespaced_custom_object(
        GROUP, VERSION, namespace, BareMetalHost.info.plural, body
    )
