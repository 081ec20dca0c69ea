"""Optional: a MAC that PXE-boots here without a BareMetalHost gets one, in state discovered.

Off by default (an unknown machine on the provisioning network creates nothing). The new host has no
BMC details, so the operator leaves it alone until someone adds them."""

from __future__ import annotations

import logging
import threading

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..api.v1alpha1 import API_VERSION, GROUP, VERSION, BareMetalHost
from .directory import Directory
from .macs import url_form

_log = logging.getLogger(__name__)
DISCOVERED_LABEL = "oci.openstack.org/discovered"


class Discovery:
    def __init__(self, directory: Directory, namespace: str) -> None:
        self.directory, self.namespace = directory, namespace
        self._done: set[str] = set()
        self._lock = threading.Lock()

    def seen(self, mac: str, how: str) -> None:
        """Called for every MAC seen (DHCP log, iPXE request); creates at most one host per MAC."""
        if self.directory.claimants(mac):  # known (a duplicate MAC is known too, and refused)
            return
        with self._lock:
            if mac in self._done:
                return
            self._done.add(mac)
        threading.Thread(target=self._create, args=(mac, how), daemon=True).start()

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
            client.CustomObjectsApi().create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, BareMetalHost.info.plural, body
            )
            _log.info("discovered %s (%s): created BareMetalHost %s/%s", mac, how, self.namespace, name)
        except ApiException as exc:
            if exc.status != 409:
                _log.warning("discovered %s but could not create its host: %s", mac, exc.reason)
                with self._lock:
                    self._done.discard(mac)  # try again next time it shows up
