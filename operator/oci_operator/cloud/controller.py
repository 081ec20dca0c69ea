"""One pass of the OpenStackCluster controller over its namespace: select hosts, give them addresses and
names, plan their parameters, gate OCI's install order, then write in the safe order.

Observe first (hosts, generated NodeRoles), decide everything in memory, record the decision in the
cluster's status (the roll-out's release included) before any host is touched, then act: per-host
Secrets and NodeRoles, claims, releases, explanations. No kopf and no Kubernetes client: I/O goes
through the ClusterStore port."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError

from ..api.v1alpha1 import BareMetalHost, NodeRole, OpenStackCluster, Resource
from ..api.v1alpha1.baremetalhost import ErrorType, ProvisioningState
from ..api.v1alpha1.openstackcluster import (
    ADDRESS_ANNOTATION,
    HOSTNAME_ANNOTATION,
    CloudRole,
    HostStatus,
    OpenStackClusterSpec,
)
from ..conditions import find
from ..reconcilers.noderole import FAILED_REASONS
from . import claims, noderoles, rollout
from .addresses import Allocation, allocate
from .hosts import data_disks
from .plan import Plan
from .selection import Selection, select
from .topology import ROLE_ORDER, ClusterHost

R = TypeVar("R", bound=Resource)


@dataclass(frozen=True)
class Placement:
    """Who plays what: selection, then addresses and names that never move."""

    selection: Selection
    allocation: Allocation
    hostnames: dict[str, str]
    members: list[ClusterHost]
    recorded: dict[str, HostStatus]  # the new status.hosts


@dataclass
class Writes:
    """What the pass decided to write after the status: applied by `apply`, in this order."""

    host_secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # host -> data
    noderoles: list[dict[str, Any]] = field(default_factory=list)
    claim: list[str] = field(default_factory=list)
    release: list[str] = field(default_factory=list)  # to provision
    unclaim: list[BareMetalHost] = field(default_factory=list)
    drop_noderoles: list[str] = field(default_factory=list)
    drop_secrets: list[str] = field(default_factory=list)
    explain: dict[str, str] = field(default_factory=dict)  # host -> explanation
    place: dict[str, dict[str, str] | None] = field(default_factory=dict)  # host -> status.cloud (None: clear)


def valid(model: type[R], raw: list[dict[str, Any]]) -> list[R]:
    """The objects that validate; an invalid one is its own handler's to report (or, for a generated
    NodeRole edited by hand, rewritten by this pass)."""
    found = []
    for item in raw:
        try:
            found.append(model.model_validate(item))
        except ValidationError:
            continue
    return found


def _new_hostname(cluster: str, spec: OpenStackClusterSpec, role: CloudRole, taken: set[str]) -> str:
    n = 1
    while f"{cluster}-{role}-{n}.{spec.domain}" in taken:
        n += 1
    return f"{cluster}-{role}-{n}.{spec.domain}"


def place(cluster: OpenStackCluster, hosts: list[BareMetalHost]) -> Placement:
    """Selection over the namespace's hosts, stable addresses and hostnames for the hosts it keeps."""
    spec, name = cluster.spec, cluster.name
    before = dict(cluster.status.hosts or {})
    by_name = {h.name: h for h in hosts}
    chosen = select(name, spec, [claims.candidate(name, h, before) for h in hosts])
    assigned = chosen.assigned
    order = sorted(assigned, key=lambda n: (ROLE_ORDER.index(assigned[n]), n))
    kept = {n: before[n] for n in order if n in before and before[n].role == assigned[n]}
    fixed = {n: a for n in order if (a := by_name[n].metadata_annotations().get(ADDRESS_ANNOTATION))}
    vips = [v.address for v in (spec.api_vip, spec.sql_vip, spec.messaging_vip) if v is not None]
    recorded_addresses = {n: h.address for n, h in kept.items() if h.address}
    allocation = allocate(spec.management_network, order, recorded_addresses, fixed=fixed, reserved=vips)
    hostnames: dict[str, str] = {}
    taken = {h.hostname for h in kept.values() if h.hostname}
    for n in order:
        own = by_name[n].metadata_annotations().get(HOSTNAME_ANNOTATION)
        recorded = kept[n].hostname if n in kept else None
        hostnames[n] = own or recorded or _new_hostname(name, spec, assigned[n], taken)
        taken.add(hostnames[n])
    profiles = {c.host: c.profile for c in chosen.choices}
    members, status_hosts = [], {}
    for n in order:
        address = allocation.addresses.get(n)
        status_hosts[n] = HostStatus(role=assigned[n], hostname=hostnames[n], address=address, profile=profiles.get(n))
        if address is not None:
            members.append(ClusterHost(n, assigned[n], hostnames[n], address, data_disks(by_name[n])))
    return Placement(chosen, allocation, hostnames, members, status_hosts)


def facts(
    cluster: OpenStackCluster, hosts: list[BareMetalHost], assigned: Mapping[str, CloudRole], roles: list[NodeRole]
) -> list[rollout.HostFacts]:
    """What the roll-out gate needs from each assigned host: released, installed, converged to its
    NodeRole's current generation, failed."""
    generation = {r.name: r.generation for r in roles}
    released = set(cluster.status.rollout.released if cluster.status.rollout else [])
    by_name = {h.name: h for h in hosts}
    found = []
    for name, role in assigned.items():
        host = by_name[name]
        role_name = claims.noderole_name(cluster.name, name)
        prov = host.status.provisioning
        provisioned = prov is not None and prov.state is ProvisioningState.PROVISIONED
        cond = find(host.status.conditions, "Converged")
        desired = host.status.desired_state
        current = (
            desired is not None
            and desired.role == role_name
            and desired.role_generation == generation.get(role_name, -1)
        )
        converged = provisioned and current and cond is not None and cond.status == "True"
        failed = host.status.error_type is ErrorType.PROVISIONING or (
            provisioned and cond is not None and cond.status == "False" and cond.reason in FAILED_REASONS
        )
        let_go = name in released or host.spec.role == role_name
        found.append(rollout.HostFacts(name, role.value, let_go, provisioned, converged, failed))
    return found


def failure_detail(hosts: list[BareMetalHost], names: list[str]) -> str:
    """Why the failed hosts failed, from their own status (no secret there: messages name resources)."""
    parts = []
    for host in hosts:
        if host.name not in names:
            continue
        cond = find(host.status.conditions, "Converged")
        if host.status.error_type is ErrorType.PROVISIONING:
            parts.append(f"{host.name}: {host.status.error_message or host.status.error_type.value}")
        elif cond is not None:
            parts.append(f"{host.name}: {cond.message}")
    return "; ".join(parts)


def writes_for(
    cluster: OpenStackCluster,
    hosts: list[BareMetalHost],
    placement: Placement,
    the_plan: Plan | None,
    data: Mapping[str, dict[str, str]],
    release: tuple[str, ...],
    roles: list[NodeRole],
) -> Writes:
    """Everything to write after the status, compared with what is there (a quiet pass writes nothing)."""
    name = cluster.name
    writes = Writes()
    assigned = placement.selection.assigned
    existing = {r.name: r for r in roles}
    if the_plan is not None:
        for planned in the_plan.hosts:
            body = noderoles.noderole(name, str(cluster.metadata.get("uid", "")), planned, data[planned.name])
            current = existing.get(body["metadata"]["name"])
            # The NodeRole carries the digest of the host's Secret: unchanged role, unchanged Secret.
            if current is None or current.spec.wire() != body["spec"]:
                writes.host_secrets[planned.name] = data[planned.name]
                writes.noderoles.append(body)
    wanted_roles = {claims.noderole_name(name, h) for h in assigned}
    writes.drop_noderoles = sorted(r for r in existing if r not in wanted_roles)
    for host in hosts:
        mine = claims.claimed_by(host) == name
        if host.name in assigned and not mine:
            writes.claim.append(host.name)
        elif mine and host.name not in assigned:
            writes.unclaim.append(host)
            writes.drop_secrets.append(noderoles.host_secret_name(name, host.name))
    present = {h.name for h in hosts}
    for gone in sorted(set(cluster.status.hosts or {}) - present):  # deleted while the cluster had it
        writes.drop_secrets.append(noderoles.host_secret_name(name, gone))
    planned_names = {h.name for h in the_plan.hosts} if the_plan else set()
    writes.release = [h for h in release if h in planned_names]
    explanations = {c.host: c.explanation for c in placement.selection.choices}
    members = {m.name: m for m in placement.members}
    for host in hosts:
        text = explanations.get(host.name)
        if text is not None and (host.status.selection or {}).get(name) != text:
            writes.explain[host.name] = text
        shown = host.status.cloud.wire() if host.status.cloud else None
        member = members.get(host.name) if host.name in assigned else None
        if member is not None:
            wanted = {"cluster": name, "role": str(member.role), "hostname": member.hostname or "",
                      "address": member.address or ""}  # fmt: skip
            if shown != wanted:
                writes.place[host.name] = wanted
        elif shown is not None and shown.get("cluster") == name:
            writes.place[host.name] = None
    return writes
