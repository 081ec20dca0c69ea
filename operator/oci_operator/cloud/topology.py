"""Which hosts play which role, their names and addresses, and the peers and choices OCI derives from
the roles present. Peers are ordered by hostname, as OCI's ENC orders them."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..api.v1alpha1.openstackcluster import CloudRole, OpenStackClusterSpec
from .addresses import allocate

ROLE_ORDER: tuple[CloudRole, ...] = tuple(CloudRole)
"""Role blocks in the address range follow this order (new roles go at the end, never in between)."""

MINIMUM: dict[CloudRole, int] = {CloudRole.CONTROLLER: 3}
"""OCI needs three controllers (corosync quorum, Galera)."""
QUORUM: tuple[CloudRole, ...] = (CloudRole.CEPHMON, CloudRole.MESSAGING, CloudRole.SQL)
"""Roles that form a quorum of their own: none, or at least three."""
STANDALONE: tuple[CloudRole, ...] = (CloudRole.MESSAGING,)
"""Of those, roles where one host alone is fine too (a single RabbitMQ node forms no cluster)."""


class TopologyError(ValueError):
    """The cluster's roles or hosts cannot make an OCI cloud; the message says why, per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class ClusterHost:
    """A BareMetalHost as the plan sees it: its name, its role, and what it chose for itself."""

    name: str
    role: CloudRole
    hostname: str | None = None
    address: str | None = None
    block_devices: tuple[str, ...] = ()  # data disks (not the OS disk), e.g. ("sdb", "sdc")


@dataclass(frozen=True)
class Member:
    """A placed host: the FQDN and management address the cloud knows it by."""

    name: str
    role: CloudRole
    index: int  # N in <cluster>-<role>-<N>, from 1
    hostname: str
    address: str
    block_devices: tuple[str, ...] = ()


def check_roles(spec: OpenStackClusterSpec) -> list[str]:
    """Problems with the declared role counts alone (before any host exists)."""
    problems = []
    counts = spec.roles.counts()
    for role, minimum in MINIMUM.items():
        if counts.get(role, 0) < minimum:
            problems.append(f"role {role} needs at least {minimum} hosts, the cluster declares {counts.get(role, 0)}")
    for role in QUORUM:
        if 0 < counts.get(role, 0) < 3 and not (role in STANDALONE and counts[role] == 1):
            allowed = "none, 1 or at least 3" if role in STANDALONE else "none or at least 3"
            problems.append(f"role {role} forms a quorum: declare {allowed}, not {counts[role]}")
    if counts.get(CloudRole.MESSAGING, 0) and spec.messaging_vip is None:
        problems.append("messaging nodes need spec.messagingVip (oci::messaging's messaging_vip_ipaddr)")
    proxies, stores = counts.get(CloudRole.SWIFTPROXY, 0), counts.get(CloudRole.SWIFTSTORE, 0)
    if bool(proxies) != bool(stores):
        problems.append("swift needs both swiftproxy and swiftstore hosts (or neither)")
    first, last = (
        ipaddress.IPv4Address(a)
        for a in (spec.management_network.address_range.start, spec.management_network.address_range.end)
    )
    capacity = int(last) - int(first) + 1
    wanted = sum(counts.values())
    if wanted > capacity:
        problems.append(f"the roles declare {wanted} hosts but addressRange holds {capacity} addresses")
    return problems


def _block_starts(spec: OpenStackClusterSpec) -> dict[CloudRole, int]:
    """Each role's first offset in the address range: blocks sized by the declared counts."""
    starts, offset = {}, 0
    for role in ROLE_ORDER:
        starts[role] = offset
        offset += spec.roles.counts().get(role, 0)
    return starts


def place(
    cluster: str, spec: OpenStackClusterSpec, hosts: Iterable[ClusterHost], recorded: Mapping[str, str] | None = None
) -> list[Member]:
    """Name and address every host: `<cluster>-<role>-<N>.<domain>` and the N-th address of its role's
    block, unless the host brings its own. With `recorded` (host -> address, from status.hosts) a host
    keeps its recorded address and a new one takes its block address only when free (addresses.py), so
    changing the counts never moves a host. Raises TopologyError listing every problem found."""
    problems = check_roles(spec)
    net = spec.management_network.network
    first = ipaddress.IPv4Address(spec.management_network.address_range.start)
    starts = _block_starts(spec)
    members: list[Member] = []
    vips = {v.address for v in (spec.api_vip, spec.sql_vip, spec.messaging_vip) if v is not None}
    by_role: dict[CloudRole, list[ClusterHost]] = {}
    for host in hosts:
        by_role.setdefault(host.role, []).append(host)
    kept: list[tuple[int, ClusterHost]] = []
    for role, group in by_role.items():
        group.sort(key=lambda h: h.name)
        declared = spec.roles.counts().get(role, 0)
        if len(group) > declared:
            names = ", ".join(h.name for h in group[declared:])
            problems.append(f"role {role} declares {declared} hosts but {len(group)} carry it (extra: {names})")
            group = group[:declared]
        kept += enumerate(group, start=1)
    block = {host.name: str(first + starts[host.role] + index - 1) for index, host in kept}
    if recorded is not None:
        kept.sort(key=lambda k: (ROLE_ORDER.index(k[1].role), k[1].name))
        fixed = {h.name: h.address for _, h in kept if h.address}
        allocation = allocate(
            spec.management_network, [h.name for _, h in kept], recorded, fixed=fixed, preferred=block, reserved=vips
        )
        problems += allocation.problems
        block = allocation.addresses
    for index, host in kept:
        hostname = host.hostname or f"{cluster}-{host.role}-{index}.{spec.domain}"
        address = host.address or block.get(host.name)
        if address is None:
            continue  # allocate() said why
        try:
            if ipaddress.IPv4Address(address) not in net:
                problems.append(f"host {host.name}: address {address} is outside {net}")
        except ValueError:
            problems.append(f"host {host.name}: {address!r} is not an IPv4 address")
        members.append(Member(host.name, host.role, index, hostname, address, host.block_devices))
    for attr in ("hostname", "address"):
        seen: dict[str, str] = {}
        for member in members:
            value = getattr(member, attr)
            if value in seen:
                problems.append(f"hosts {seen[value]} and {member.name} share the {attr} {value}")
            seen[value] = member.name
    problems += [f"host {m.name}: address {m.address} is a VIP" for m in members if m.address in vips]
    if problems:
        raise TopologyError(problems)
    return sorted(members, key=lambda m: m.hostname)


@dataclass(frozen=True)
class Topology:
    """The cluster's placed hosts and what OCI derives from the roles present."""

    members: tuple[Member, ...]  # ordered by hostname
    declared: dict[CloudRole, int]

    def of(self, role: CloudRole) -> list[Member]:
        return [m for m in self.members if m.role == role]

    def has(self, role: CloudRole) -> bool:
        """A role counts as present when the cluster declares it, so a host's parameters do not change
        while the other hosts of the cloud are still being enrolled."""
        return self.declared.get(role, 0) > 0

    @property
    def controllers(self) -> list[Member]:
        return self.of(CloudRole.CONTROLLER)

    @property
    def first_master(self) -> Member:
        return self.controllers[0]

    @property
    def rabbits(self) -> list[Member]:
        """Messaging nodes when the cluster has them; otherwise RabbitMQ runs on the controllers."""
        return self.of(CloudRole.MESSAGING) or self.controllers

    @property
    def sql_nodes(self) -> list[Member]:
        return self.of(CloudRole.SQL) or self.controllers

    @property
    def ceph_mons(self) -> list[Member]:
        """cephmon nodes, or else the controllers run the MON/MGR."""
        return self.of(CloudRole.CEPHMON) or self.controllers

    @property
    def has_osds(self) -> bool:
        return self.has(CloudRole.CEPHOSD)

    def backend(self, prefer_ceph: bool = True) -> str:
        """glance's backend and cinder-backup's, as OCI chooses them from the storage roles present."""
        order = [("ceph", self.has_osds), ("swift", self.has(CloudRole.SWIFTSTORE))]
        if not prefer_ceph:
            order.reverse()
        return next((name for name, present in order if present), "")


def topology(
    cluster: str, spec: OpenStackClusterSpec, hosts: Iterable[ClusterHost], recorded: Mapping[str, str] | None = None
) -> Topology:
    members = place(cluster, spec, hosts, recorded)
    if members and not any(m.role == CloudRole.CONTROLLER for m in members):
        # Every role's parameters name the first master: controllers are enrolled first.
        raise TopologyError(["no controller host carries the cluster's label yet: the first master is unknown"])
    return Topology(tuple(members), spec.roles.counts())
