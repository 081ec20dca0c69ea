"""What the boot server knows about hosts: BareMetalHosts by MAC and their boot tokens, from watches.

Requests are answered from memory; only callbacks write to the API (status.bootReport and
status.hardware, the two fields the operator leaves to the boot server)."""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..api.v1alpha1 import BareMetalHost, ProvisioningState
from ..api.v1alpha1.hardware import BootReport
from ..k8s.client import BOOT_TOKEN_LABEL, DESIRED_STATE_LABEL, HASH_ANNOTATION, HOST_ANNOTATION
from ..k8s.informer import Informer, Key
from .macs import normalize

# States whose boot job needs the node to call back; the token is honoured only for the current job.
JOB_MODES = {
    ProvisioningState.INSPECTING: "inspect",
    ProvisioningState.PROVISIONING: "install",
    ProvisioningState.DEPROVISIONING: "wipe",
}


@dataclass(frozen=True)
class Token:
    value: str
    boot_id: str


class Directory:
    def __init__(self, hosts: Informer, tokens: Informer, desired: Informer) -> None:
        self.hosts, self.tokens, self.desired = hosts, tokens, desired
        self._lock = threading.Lock()
        self._by_mac: dict[str, BareMetalHost] = {}
        self._tokens: dict[Key, Token] = {}
        self._desired: dict[Key, tuple[str, bytes]] = {}  # hash, document

    def synced(self) -> bool:
        return all(i.synced.is_set() for i in (self.hosts, self.tokens, self.desired))

    def rebuild(self) -> None:
        """Called by the informers on every change: re-index (cheap for thousands of hosts)."""
        by_mac: dict[str, BareMetalHost] = {}
        for raw in self.hosts.items():
            try:
                host = BareMetalHost.model_validate(raw)
            except ValidationError:
                continue  # the operator reports it; nothing here can boot it
            mac = normalize(host.spec.boot_mac_address)
            if mac:
                by_mac[mac] = host
        tokens: dict[Key, Token] = {}
        for secret in self.tokens.items():
            meta = secret.get("metadata") or {}
            host_name = (meta.get("annotations") or {}).get(HOST_ANNOTATION)
            data = _decode(secret.get("data") or {})
            if host_name and data.get("token") and data.get("bootId"):
                tokens[(str(meta.get("namespace", "")), host_name)] = Token(data["token"], data["bootId"])
        desired: dict[Key, tuple[str, bytes]] = {}
        for secret in self.desired.items():
            meta = secret.get("metadata") or {}
            annotations = meta.get("annotations") or {}
            document = _decode(secret.get("data") or {}).get("desired.json")
            if annotations.get(HOST_ANNOTATION) and document is not None:
                key = (str(meta.get("namespace", "")), annotations[HOST_ANNOTATION])
                desired[key] = (str(annotations.get(HASH_ANNOTATION, "")), document.encode())
        with self._lock:
            self._by_mac, self._tokens, self._desired = by_mac, tokens, desired

    def count_labelled(self, namespace: str, label: str) -> int:
        """Hosts in `namespace` carrying `label` (discovered ones, to cap discovery)."""
        with self._lock:
            hosts = list(self._by_mac.values())
        found = 0
        for host in hosts:
            labels = host.metadata.get("labels")
            found += host.namespace == namespace and isinstance(labels, dict) and label in labels
        return found

    def by_mac(self, mac: str) -> BareMetalHost | None:
        with self._lock:
            return self._by_mac.get(mac)

    def token(self, host: BareMetalHost) -> Token | None:
        with self._lock:
            return self._tokens.get((host.namespace, host.name))

    def desired_state(self, host: BareMetalHost) -> tuple[str, bytes] | None:
        """The host's rendered desired state (hash, JSON document), if the operator has stored one."""
        with self._lock:
            return self._desired.get((host.namespace, host.name))

    def job_token(self, host: BareMetalHost) -> Token | None:
        """The token of the host's current boot job, if it has one and the token for it exists."""
        prov = host.status.provisioning
        if prov is None or prov.state not in JOB_MODES or not prov.boot_id:
            return None
        token = self.token(host)
        return token if token is not None and token.boot_id == prov.boot_id else None

    def accepts(self, host: BareMetalHost, presented: str) -> bool:
        """A token opens its own host only, and only while it is current: the boot job's token, or
        once provisioned the token its installation left on the node (for the agent)."""
        prov = host.status.provisioning
        token = self.job_token(host)
        if token is None and prov is not None and prov.state is ProvisioningState.PROVISIONED:
            token = self.token(host)
        return token is not None and hmac.compare_digest(token.value.encode(), presented.encode())

    def report(self, host: BareMetalHost) -> BootReport | None:
        prov, report = host.status.provisioning, host.status.boot_report
        if prov is None or report is None or report.boot_id != prov.boot_id:
            return None
        return report


def _decode(data: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        try:
            out[key] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
    return out


TOKEN_SELECTOR = f"{BOOT_TOKEN_LABEL}=true"
DESIRED_SELECTOR = f"{DESIRED_STATE_LABEL}=true"
