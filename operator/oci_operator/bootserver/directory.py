"""What the boot server knows about hosts: BareMetalHosts by MAC and their Secrets, from watches.

Requests are answered from memory; only callbacks write to the API (status.bootReport and
status.hardware, the two fields the operator leaves to the boot server).

Trust: a host's Secrets are read from the operator's system namespace only (tenants cannot write
there), and one is taken as a host's only when its name, its kind label and its UID label all name
that host's UID (`k8s.client.is_host_secret`). Three credentials, three doors (docs/bootserver.md):
the iPXE token opens the job's preseed once; the job token (in the preseed only) opens the job's
reports and the agent credential handover; the agent credential opens the agent's endpoints while
the host is provisioned."""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..api.v1alpha1 import BareMetalHost, ProvisioningState
from ..api.v1alpha1.hardware import BootReport, BootStep
from ..k8s.client import (
    AGENT_CREDENTIAL_LABEL,
    BOOT_SERVER_TLS,
    BOOT_SERVER_TLS_LABEL,
    BOOT_TOKEN_LABEL,
    DESIRED_STATE_LABEL,
    HASH_ANNOTATION,
    HOST_UID_LABEL,
    host_secret_name,
    is_host_secret,
)
from ..k8s.informer import Informer
from .macs import normalize

# States whose boot job needs the node to call back; the tokens are honoured only for the current job.
JOB_MODES = {
    ProvisioningState.INSPECTING: "inspect",
    ProvisioningState.PROVISIONING: "install",
    ProvisioningState.DEPROVISIONING: "wipe",
}
# Once one of these is recorded for the job, its iPXE token has been used.
_AFTER_PRESEED = {s for s in BootStep if s is not BootStep.SCRIPT_SERVED}


HostKey = tuple[str, str, str]  # namespace, name, UID
Validated = tuple[str, BareMetalHost | None, str | None]  # resourceVersion, model (None: invalid), boot MAC


@dataclass(frozen=True)
class Token:
    """A boot job's credentials: `value` is shown in the iPXE script, `job` only in the preseed."""

    value: str
    boot_id: str
    job: str = ""


def uid_of(host: BareMetalHost) -> str:
    return str(host.metadata.get("uid") or "")


class Directory:
    def __init__(
        self,
        hosts: Informer,
        tokens: Informer,
        desired: Informer,
        agents: Informer | None = None,
        tls: Informer | None = None,
        system_namespace: str = "",
    ) -> None:
        self.hosts, self.tokens, self.desired, self.agents, self.tls = hosts, tokens, desired, agents, tls
        self.system_namespace = system_namespace
        self._certificate: tuple[str, str] | None = None  # the boot server's (certificate, key) PEM
        self._lock = threading.Lock()
        self._rebuilding = threading.Lock()
        self._by_mac: dict[str, BareMetalHost] = {}
        self._duplicates: dict[str, list[BareMetalHost]] = {}
        self._tokens: dict[str, Token] = {}  # by host UID
        self._agents: dict[str, tuple[str, str]] = {}  # host UID -> agent credential, offered successor
        self._desired: dict[str, tuple[str, bytes]] = {}  # host UID -> hash, document
        self._preseeds_served: set[tuple[str, str]] = set()  # (host UID, boot id): iPXE token used
        self._handed_over: set[tuple[str, str]] = set()  # (host UID, boot id): agent credential given
        # Each host as validated at its resourceVersion (None: invalid): a rebuild runs on every watch event,
        # and validating every host again cost 0.7 s of CPU per event at 10,000 hosts.
        self._validated: dict[HostKey, Validated] = {}

    def _informers(self) -> list[Informer]:
        return [self.hosts, self.tokens, self.desired, *(i for i in (self.agents, self.tls) if i is not None)]

    def synced(self) -> bool:
        return all(i.synced.is_set() for i in self._informers())

    def rebuild(self) -> None:
        """Called by the informers on every change: re-index (cheap for thousands of hosts). One at a
        time: a rebuild that started on older items must not finish last and put them back."""
        with self._rebuilding:
            self._rebuild()

    def _rebuild(self) -> None:
        by_mac: dict[str, list[BareMetalHost]] = {}
        validated: dict[HostKey, Validated] = {}
        for raw in self.hosts.items():
            host, mac = validated_host(raw, self._validated, validated)
            if host is not None and mac:  # an invalid host: the operator reports it; nothing here can boot it
                by_mac.setdefault(mac, []).append(host)
        tokens: dict[str, Token] = {}
        for uid, data, _ in _own(self.tokens, BOOT_TOKEN_LABEL, "boot-token"):
            if data.get("token") and data.get("bootId"):
                tokens[uid] = Token(data["token"], data["bootId"], data.get("jobToken", ""))
        agents = {uid: (data["token"], data.get("next", "")) for uid, data, _ in
                  _own(self.agents, AGENT_CREDENTIAL_LABEL, "agent") if data.get("token")}  # fmt: skip
        desired: dict[str, tuple[str, bytes]] = {}
        for uid, data, notes in _own(self.desired, DESIRED_STATE_LABEL, "desired-state"):
            if "desired.json" in data:
                desired[uid] = (notes.get(HASH_ANNOTATION, ""), data["desired.json"].encode())
        certificate = None
        for secret in self.tls.items() if self.tls is not None else []:
            meta = secret.get("metadata") or {}
            data = _decode(secret.get("data") or {})
            mine = (
                meta.get("name") == BOOT_SERVER_TLS and (meta.get("labels") or {}).get(BOOT_SERVER_TLS_LABEL) == "true"
            )
            if mine and data.get("tls.crt") and data.get("tls.key"):
                certificate = (data["tls.crt"], data["tls.key"])
        self._validated = validated  # rebuilds run one at a time
        with self._lock:
            self._certificate = certificate
            self._by_mac = {mac: hosts[0] for mac, hosts in by_mac.items() if len(hosts) == 1}
            self._duplicates = {mac: hosts for mac, hosts in by_mac.items() if len(hosts) > 1}
            self._tokens, self._agents, self._desired = tokens, agents, desired

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
        """The one host with this boot MAC. None when there is none, or several: a MAC claimed by
        two hosts (in any namespaces) boots neither, so no tenant can take another's server over."""
        with self._lock:
            return self._by_mac.get(mac)

    def claimants(self, mac: str) -> list[BareMetalHost]:
        """Every host that names this boot MAC (more than one: the MAC is refused)."""
        with self._lock:
            found = self._duplicates.get(mac)
            if found is not None:
                return list(found)
            one = self._by_mac.get(mac)
            return [one] if one is not None else []

    def certificate(self) -> tuple[str, str] | None:
        """The boot server's certificate and key (PEM), once the operator has made them."""
        with self._lock:
            return self._certificate

    def token(self, host: BareMetalHost) -> Token | None:
        with self._lock:
            return self._tokens.get(uid_of(host))

    def desired_state(self, host: BareMetalHost) -> tuple[str, bytes] | None:
        """The host's rendered desired state (hash, JSON document), if the operator has stored one."""
        with self._lock:
            return self._desired.get(uid_of(host))

    def read_through(self, host: BareMetalHost) -> None:
        """The host and its boot token read from the API now, past the watches (blocking: in a thread)."""
        self.hosts.refresh(host.namespace, host.name)
        uid = uid_of(host)
        if uid:
            self.tokens.refresh(self.system_namespace, host_secret_name(uid, "boot-token"))

    def job_token(self, host: BareMetalHost) -> Token | None:
        """The tokens of the host's current boot job, if it has one and its Secret exists."""
        prov = host.status.provisioning
        if prov is None or prov.state not in JOB_MODES or not prov.boot_id:
            return None
        token = self.token(host)
        return token if token is not None and token.boot_id == prov.boot_id else None

    def opens_preseed(self, host: BareMetalHost, presented: str) -> bool:
        """The iPXE-visible token: its job's preseed, until the preseed has been served once."""
        token = self.job_token(host)
        if token is None or not same_secret(token.value, presented):
            return False
        with self._lock:
            if (uid_of(host), token.boot_id) in self._preseeds_served:
                return False
        report = self.report(host)
        return report is None or report.step not in _AFTER_PRESEED

    def preseed_served(self, host: BareMetalHost, token: Token) -> None:
        """The iPXE token is spent (also recorded in status as preseedServed, for a restarted server)."""
        with self._lock:
            self._preseeds_served.add((uid_of(host), token.boot_id))

    def opens_job(self, host: BareMetalHost, presented: str) -> bool:
        """The job token (only the preseed carries it): the current job's reports and handover."""
        token = self.job_token(host)
        return token is not None and bool(token.job) and same_secret(token.job, presented)

    def opens_agent(self, host: BareMetalHost, presented: str) -> bool:
        """The agent credential (or its offered successor): the agent's endpoints, while provisioned."""
        prov = host.status.provisioning
        if prov is None or prov.state is not ProvisioningState.PROVISIONED:
            return False
        with self._lock:
            credential, successor = self._agents.get(uid_of(host), ("", ""))
        return bool(credential) and (
            same_secret(credential, presented) or (bool(successor) and same_secret(successor, presented))
        )

    def successor(self, host: BareMetalHost) -> str:
        """The credential offered to replace the agent's current one ("" when no rotation is under way)."""
        with self._lock:
            return self._agents.get(uid_of(host), ("", ""))[1]

    def hand_over_agent_credential(self, host: BareMetalHost) -> str | None:
        """The agent credential, once per installation job (None: not ready, or already handed over)."""
        token = self.job_token(host)
        prov = host.status.provisioning
        if token is None or prov is None or prov.state is not ProvisioningState.PROVISIONING:
            return None
        key = (uid_of(host), token.boot_id)
        with self._lock:
            credential = self._agents.get(key[0], ("", ""))[0] or None
            if credential is None or key in self._handed_over:
                return None
            self._handed_over.add(key)
        return credential

    def report(self, host: BareMetalHost) -> BootReport | None:
        prov, report = host.status.provisioning, host.status.boot_report
        if prov is None or report is None or report.boot_id != prov.boot_id:
            return None
        return report


def validated_host(
    raw: dict[str, Any], before: dict[HostKey, Validated], now: dict[HostKey, Validated]
) -> tuple[BareMetalHost | None, str | None]:
    """The host's model (None: invalid) and boot MAC, made again only when its resourceVersion changed."""
    meta = raw.get("metadata") or {}
    key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""), str(meta.get("uid") or ""))
    version = str(meta.get("resourceVersion") or "")
    held = before.get(key)
    if held is not None and version and held[0] == version:
        now[key] = held
        return held[1], held[2]
    try:
        host: BareMetalHost | None = BareMetalHost.model_validate(raw)
    except ValidationError:
        host = None
    mac = normalize(host.spec.boot_mac_address) if host is not None else None
    now[key] = (version, host, mac)
    return host, mac


def same_secret(expected: str, presented: str) -> bool:
    """Constant-time comparison of a stored credential and a presented one."""
    return hmac.compare_digest(expected.encode(), presented.encode())


def _own(source: Informer | None, label: str, kind: str) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(host UID, decoded data, annotations) of each Secret that is what its labels say it is."""
    out = []
    for secret in source.items() if source is not None else []:
        meta = secret.get("metadata") or {}
        uid = str((meta.get("labels") or {}).get(HOST_UID_LABEL, ""))
        if (meta.get("labels") or {}).get(label) == "true" and is_host_secret(secret, uid, kind):
            out.append((uid, _decode(secret.get("data") or {}), dict(meta.get("annotations") or {})))
    return out


def _decode(data: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        try:
            out[key] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
    return out


TOKEN_SELECTOR = f"{BOOT_TOKEN_LABEL}=true"
TLS_SELECTOR = f"{BOOT_SERVER_TLS_LABEL}=true"
AGENT_SELECTOR = f"{AGENT_CREDENTIAL_LABEL}=true"
DESIRED_SELECTOR = f"{DESIRED_STATE_LABEL}=true"
