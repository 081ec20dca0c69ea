"""One pass over an OpenStackCluster: keep its secrets, CA and certificates (created once, extended, never
regenerated), take hosts (cloud/controller.py), plan them, gate OCI's install order, write the
generated NodeRoles and the hosts' Secrets, and say how it went: Ready=True (Converged), or Ready=False
with Provisioning, RoleShort, HostFailed, Paused, InvalidTopology or SecretsLost. Blocking I/O through
a ClusterStore; no kopf, no Kubernetes client. No message ever holds a secret value: only names."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..api.v1alpha1 import BareMetalHost, NodeRole, OpenStackCluster
from ..api.v1alpha1.openstackcluster import KEEP_HOSTS_ANNOTATION, CloudRole, OpenStackClusterStatus
from ..conditions import set_condition
from ..k8s.merge_patch import status_patch
from ..reconcilers.outcome import Outcome, ready_transition_event, with_kstatus
from . import claims, controller, noderoles, pki, rollout, secrets, selection
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
        known = {**self.existing, **self.changed}
        crt, pem = known.get(f"{key}.crt"), known.get(f"{key}.key")
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


def _finish(cluster: OpenStackCluster, status: OpenStackClusterStatus, ready: bool, reason: str, msg: str) -> Outcome:
    old = cluster.status
    generation = cluster.generation
    status.observed_generation = generation
    status.conditions = set_condition(status.conditions, "Ready", "True" if ready else "False", reason, msg, generation)
    status.conditions = with_kstatus(status.conditions, generation)
    return Outcome(status=status, events=[e for e in [ready_transition_event(old, status)] if e])


def _ready(
    decision: rollout.Decision, chosen: selection.Selection, hosts: list[BareMetalHost], facts: list[rollout.HostFacts]
) -> tuple[bool, str, str]:
    """Ready and its reason from the roll-out's phase; the message names the step's role and why."""
    short = selection.summary(chosen)
    if decision.phase is rollout.Phase.COMPLETE:
        return True, "Converged", f"every step converged ({sum(r.desired for r in chosen.roles)} hosts)"
    if decision.phase is rollout.Phase.FAILED:
        failed = [f.name for f in facts if f.failed]
        return False, "HostFailed", f"{decision.message}: {controller.failure_detail(hosts, failed)}"
    if decision.phase is rollout.Phase.SHORT:
        return False, "RoleShort", f"{decision.message}; {short}" if short else decision.message
    if decision.phase is rollout.Phase.PAUSED:
        return False, "Paused", decision.message
    return False, "Provisioning", decision.message + (f"; short: {short}" if short else "")


def reconcile_cluster(cluster: OpenStackCluster, store: ClusterStore) -> tuple[Outcome, Plan | None]:
    """One pass; returns the status/Events to write and the plan (None when it cannot be made)."""
    status = cluster.status.model_copy(deep=True)
    in_use = bool(status.secrets_in_use)
    try:
        passwords = ensure_secrets(cluster, store, in_use)
        ca = ensure_ca(cluster, store, in_use)
    except SecretsLost as exc:
        return _finish(cluster, status, False, "SecretsLost", str(exc)), None
    spec = cluster.spec
    hosts = controller.valid(BareMetalHost, store.list_hosts())
    roles = controller.valid(NodeRole, store.list_noderoles(cluster.name))
    placement = controller.place(cluster, hosts)
    chosen = placement.selection
    desired = {str(role): count for role, count in spec.roles.counts().items()}
    facts = controller.facts(cluster, hosts, chosen.assigned, roles)
    decision = rollout.decide(
        desired,
        facts,
        initial_setup_done=bool(status.initial_setup_done),
        paused=rollout.is_paused(cluster.metadata_annotations()),
        limit=spec.provisioning_limit,
    )
    short = {str(r.role): str(r) for r in chosen.roles if r.short}
    status.hosts = placement.recorded or None
    status.roles = rollout.role_status(desired, facts, short) or None
    try:
        if placement.allocation.problems:
            raise TopologyError(list(placement.allocation.problems))
        material, version = _certificates(cluster, store, ca)
        material.addresses = {m.hostname or "": m.address or "" for m in placement.members}
        # Galera bootstrap, RabbitMQ joins, corosync's VIP: gated until the roll-out records that the
        # controllers' first runs succeeded (OCI: after the third controller's successful puppet run).
        the_plan = plan(cluster.name, spec, placement.members, passwords, material, decision.initial_cluster_setup)
        data = {
            h.name: noderoles.secret_data(h, *material.host_pair(h.hostname), material.ca_pem()) for h in the_plan.hosts
        }
    except (TopologyError, PlanError) as exc:
        reason = (
            "RoleShort"
            if short and not any(m.role is CloudRole.CONTROLLER for m in placement.members)
            else ("InvalidTopology")
        )
        why = f"{selection.summary(chosen)}; {exc}" if reason == "RoleShort" else str(exc)
        outcome = _finish(cluster, status, False, reason, why)
        _explain(store, cluster.name, controller.writes_for(cluster, hosts, placement, None, {}, (), roles))
        return outcome, None
    _save_certificates(cluster, store, material, version)
    status.planned_hosts = len(the_plan.hosts)
    if the_plan.hosts:
        status.secrets_in_use = True
    status.initial_setup_done = decision.initial_setup_done or None
    assigned = set(chosen.assigned)
    previously = status.rollout.released if status.rollout else []
    status.rollout = rollout.rollout_status(decision, [h for h in previously if h in assigned])
    ready, reason, message = _ready(decision, chosen, hosts, facts)
    outcome = _finish(cluster, status, ready, reason, message)
    writes = controller.writes_for(cluster, hosts, placement, the_plan, data, decision.release, roles)
    if writes.release or writes.unclaim or writes.claim:
        # The intent on record before a host is touched: a restarted operator finds the release.
        changes = status_patch(cluster.status.wire(), outcome.status.wire())
        if changes:
            store.record_status(cluster.name, changes)
    apply(store, cluster, writes)
    return outcome, the_plan


def _explain(store: ClusterStore, cluster: str, writes: controller.Writes) -> None:
    """Why each host was taken or not, and where a taken one sits: one status patch per host."""
    for host in sorted(set(writes.explain) | set(writes.place)):
        patch: dict[str, Any] = {}
        if host in writes.explain:
            patch["selection"] = {cluster: writes.explain[host]}
        if host in writes.place:
            patch["cloud"] = writes.place[host]
        store.patch_host_status(host, patch)


def apply(store: ClusterStore, cluster: OpenStackCluster, writes: controller.Writes) -> None:
    """Write what the pass decided, each Secret before the NodeRole that names it, each NodeRole before
    the release that makes its host provision."""
    owner = _owner(cluster)
    for host, data in sorted(writes.host_secrets.items()):
        store.write_secret(noderoles.host_secret_name(cluster.name, host), data, owner, "host")
    for body in writes.noderoles:
        store.apply_noderole(body)
    for host in writes.claim:
        store.patch_host(host, claims.claim(cluster.name))
    for host in writes.release:
        store.patch_host(host, claims.release_to_provision(cluster.name, host))
        log.info("released host %s to provision", host)
    for bmh in writes.unclaim:
        store.patch_host(bmh.name, claims.unclaim(cluster.name, bmh))
        log.info("gave back host %s", bmh.name)
    for name in writes.drop_noderoles:
        store.delete_noderole(name)
    for name in writes.drop_secrets:
        store.delete_secret(name)
    _explain(store, cluster.name, writes)


def release_all(cluster: OpenStackCluster, store: ClusterStore) -> int:
    """The cluster is being deleted: give every host back (wiped and off, unless the keep-hosts
    annotation says to leave them installed) and delete the NodeRoles and Secrets it made (kept with
    the hosts). Returns how many hosts were given back."""
    keep = cluster.metadata_annotations().get(KEEP_HOSTS_ANNOTATION, "false").strip().lower() != "false"
    hosts = [h for h in controller.valid(BareMetalHost, store.list_hosts()) if claims.claimed_by(h) == cluster.name]
    for host in hosts:
        store.patch_host(host.name, {"spec": {"consumerRef": None}} if keep else claims.unclaim(cluster.name, host))
        store.patch_host_status(host.name, {"cloud": None, "selection": {cluster.name: None}})  # no such cloud now
    for raw in store.list_noderoles(cluster.name):
        name = str(raw["metadata"]["name"])
        if keep:  # no longer owned: the garbage collector leaves it to the installed host
            body = {**raw, "metadata": {**raw["metadata"], "ownerReferences": []}}
            store.apply_noderole(body)
        else:
            store.delete_noderole(name)
    if not keep:
        names = {noderoles.host_secret_name(cluster.name, h) for h in (cluster.status.hosts or {})}
        names |= {noderoles.host_secret_name(cluster.name, h.name) for h in hosts}
        names |= {secrets_name(cluster.name), ca_name(cluster.name), certificates_name(cluster.name)}
        for name in sorted(names):
            store.delete_secret(name)
    log.info("released %d host(s) of cluster %s%s", len(hosts), cluster.name, " (kept installed)" if keep else "")
    return len(hosts)
