"""Every provisioning state a host is written with, in order, from a watch (polling would miss short ones)."""

from __future__ import annotations

import threading
from typing import Any

from kubernetes import watch

from .kube import Kube


class StateRecorder:
    def __init__(self, kube: Kube, namespace: str, name: str) -> None:
        self.states: list[str] = []
        self._watch = watch.Watch()
        self._thread = threading.Thread(target=self._run, args=(kube, namespace, name), daemon=True)
        self._thread.start()

    def _run(self, kube: Kube, namespace: str, name: str) -> None:
        stream = self._watch.stream(
            kube.custom.list_namespaced_custom_object,
            "oci.openstack.org",
            "v1alpha1",
            namespace,
            "baremetalhosts",
            field_selector=f"metadata.name={name}",
            timeout_seconds=600,
        )
        try:
            for event in stream:
                self._record(event["object"])
        except Exception:  # the watch ends with the test (stop) or the API server
            return

    def _record(self, obj: dict[str, Any]) -> None:
        state = ((obj.get("status") or {}).get("provisioning") or {}).get("state")
        if state and (not self.states or self.states[-1] != state):
            self.states.append(state)

    def stop(self) -> None:
        self._watch.stop()
