"""One pass over an OpenStackCluster: keep its secrets, CA and certificates (created once, extended, never
regenerated), compute the plan for the hosts that carry its label and a role, and say how it went:
Ready=True (Validated), or Ready=False with InvalidTopology or SecretsLost. Blocking I/O through a
ClusterStore; no kopf, no Kubernetes client. No message ever holds a secret value: only names."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from ..api.v1alpha1 import BareMetalHost, OpenStackCluster
from ..api.v1alpha1.openstackcluster import OpenStackClusterStatus
from ..conditions import set_condition
from ..reconcilers.outcome import Outcome, ready_transition_event, with_kstatus
from . import pki, secrets
from .hosts import cluster_hosts
from .plan import Plan, PlanError, plan
from .store import ClusterStore, Owner
from .topology import TopologyError

log = logging.getLogger(__name__)

CA_CERT, CA_KEY = "ca.crt", "ca.key"
API_NAME = "api-vip"


def secrets_name(cluster: str) -> str:
    return f"{cluster}-secrets"


def ca_name(cluster: str) -> str:
    return f"{cluster}-ca"


def certificates_name(cluster: str) -> str:
    return f"{cluster}-certificates"


class SecretsLost(Exception):
    """A Secret the running cloud depends on is gone: never silently replace it."""


@dataclass
class StoredPki:
    """The cluster's certificates as the plan reads them, issued or renewed on demand; `changed` holds
    what must be written back."""

    ca: pki.KeyPair
    existing: Mapping[str, str]
    validity_days: int
    renew_before: dt.timedelta
    api_hostname: str
    api_address: str

    def __post_init__(self) -> None:
        self.changed: dict[str, str] = {}
        self.addresses: dict[str, str] = {}  # FQDN -> management address, for the SANs

    def _pair(self, key: str, names: list[str], addresses: list[str]) -> tuple[str, str]:
        crt, pem = self.existing.get(f"{key}.crt"), self.existing.get(f"{key}.key")
        old = pki.KeyPair(crt, pem) if crt and pem else None
        pair = pki.current(old, self.ca, names, addresses, self.validity_days, self.renew_before)
        if pair is not old:
            self.changed |= {f"{key}.crt": pair.cert_pem, f"{key}.key": pair.key_pem}
        return pair.cert_pem, pair.key_pem

    def ca_pem(self) -> str:
        return self.ca.cert_pem

    def host_pair(self, fqdn: str) -> tuple[str, str]:
        address = self.addresses.get(fqdn)
        return self._pair(fqdn, [fqdn], [address] if address else [])

    def api_pair(self) -> tuple[str, str]:
        return self._pair(API_NAME, [self.api_hostname], [self.api_address])


def _owner(cluster: OpenStackCluster) -> Owner:
    return Owner(kind="OpenStackCluster", name=cluster.name, uid=str(cluster.metadata.get("uid", "")))


def ensure_secrets(cluster: OpenStackCluster, store: ClusterStore, in_use: bool) -> dict[str, str]:
    """The cluster's passwords: created once, extended with names a newer class needs, never regenerated;
    gone after the cloud got them is SecretsLost."""
    name = secrets_name(cluster.name)
    stored = store.read_secret(name)
    if stored is None:
        if in_use:
            raise SecretsLost(
                f"Secret {name} holding the cluster's passwords is gone after hosts received them; restore it "
                "from a backup (the operator will not generate new passwords for a cloud that uses the old ones)"
            )
        fresh = secrets.missing({})
        if store.create_secret(name, fresh, _owner(cluster), "passwords"):
            log.info("created Secret %s with %d generated passwords", name, len(fresh))
            return fresh
        stored = store.read_secret(name)
        if stored is None:
            raise RuntimeError(f"Secret {name} exists and cannot be read")
    new = secrets.missing(stored.data)
    if new:
        store.update_keys(name, new, stored.resource_version)
        log.info("added %d generated passwords to Secret %s: %s", len(new), name, ", ".join(sorted(new)))
    return stored.data | new


def ensure_ca(cluster: OpenStackCluster, store: ClusterStore, in_use: bool) -> pki.KeyPair:
    name = ca_name(cluster.name)
    stored = store.read_secret(name)
    if stored is not None and CA_CERT in stored.data and CA_KEY in stored.data:
        return pki.KeyPair(stored.data[CA_CERT], stored.data[CA_KEY])
    if in_use:
        raise SecretsLost(f"Secret {name} holding the cluster CA is gone after hosts received certificates from it")
    ca = pki.new_ca(cluster.name)
    data = {CA_CERT: ca.cert_pem, CA_KEY: ca.key_pem}
    if stored is not None:
        store.update_keys(name, data, stored.resource_version)
    elif not store.create_secret(name, data, _owner(cluster), "ca"):
        raise RuntimeError(f"Secret {name} was created concurrently; the next pass reads it")
    log.info("created the cluster CA in Secret %s", name)
    return ca


def _certificates(cluster: OpenStackCluster, store: ClusterStore, ca: pki.KeyPair) -> tuple[StoredPki, str | None]:
    stored = store.read_secret(certificates_name(cluster.name))
    spec = cluster.spec
    material = StoredPki(
        ca=ca,
        existing=stored.data if stored else {},
        validity_days=spec.certificates.validity_days,
        renew_before=dt.timedelta(days=spec.certificates.renew_before_days),
        api_hostname=spec.api_vip.hostname or "",
        api_address=spec.api_vip.address,
    )
    return material, stored.resource_version if stored else None


def _save_certificates(
    cluster: OpenStackCluster, store: ClusterStore, material: StoredPki, version: str | None
) -> None:
    if not material.changed:
        return
    name = certificates_name(cluster.name)
    if version is None:
        if not store.create_secret(name, material.changed, _owner(cluster), "certificates"):
            raise RuntimeError(f"Secret {name} was created concurrently; the next pass reads it")
    else:
        store.update_keys(name, material.changed, version)
    log.info("issued %d certificate(s) into Secret %s", len(material.changed) // 2, name)


def _hosts(store: ClusterStore) -> list[BareMetalHost]:
    hosts = []
    for raw in store.list_hosts():
        try:
            hosts.append(BareMetalHost.model_validate(raw))
        except ValidationError:
            continue  # its own handler reports it
    return hosts


def _finish(cluster: OpenStackCluster, status: OpenStackClusterStatus, ready: bool, reason: str, msg: str) -> Outcome:
    old = cluster.status
    generation = cluster.generation
    status.observed_generation = generation
    status.conditions = set_condition(status.conditions, "Ready", "True" if ready else "False", reason, msg, generation)
    status.conditions = with_kstatus(status.conditions, generation)
    return Outcome(status=status, events=[e for e in [ready_transition_event(old, status)] if e])


def reconcile_cluster(cluster: OpenStackCluster, store: ClusterStore) -> tuple[Outcome, Plan | None]:
    """One pass; returns the status/Events to write and the plan (None when the cluster is not Ready)."""
    status = cluster.status.model_copy(deep=True)
    in_use = bool(status.secrets_in_use)
    try:
        passwords = ensure_secrets(cluster, store, in_use)
        ca = ensure_ca(cluster, store, in_use)
    except SecretsLost as exc:
        return _finish(cluster, status, False, "SecretsLost", str(exc)), None
    try:
        members = cluster_hosts(cluster.name, _hosts(store))
        material, version = _certificates(cluster, store, ca)
        # Placing the hosts first gives each certificate its address.
        dry = plan(cluster.name, cluster.spec, members, secrets.references(), pki.References(), True)
        material.addresses = {h.hostname: h.address for h in dry.hosts}
        # Galera bootstrap, RabbitMQ joins, corosync's VIP: gated until the roll-out records that the
        # controllers' first runs succeeded (OCI: after the third controller's successful puppet run).
        initial = not status.initial_setup_done
        the_plan = plan(cluster.name, cluster.spec, members, passwords, material, initial)
    except (TopologyError, PlanError) as exc:
        return _finish(cluster, status, False, "InvalidTopology", str(exc)), None
    _save_certificates(cluster, store, material, version)
    status.planned_hosts = len(the_plan.hosts)
    if the_plan.hosts:
        status.secrets_in_use = True
    declared = sum(cluster.spec.roles.counts().values())
    message = f"{len(the_plan.hosts)} of {declared} hosts planned"
    return _finish(cluster, status, True, "Validated", message), the_plan
