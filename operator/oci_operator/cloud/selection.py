"""Which available hosts each role takes: label selectors and hardware profiles matched against what
inspection found, with an explanation for every candidate and a summary per role.

Deterministic and stable: a host this cluster already claims keeps its role while it still matches
it and the role still wants it; new hosts are taken by profile preference, then by name. A host
claimed by another cluster is never taken."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..api.v1alpha1 import BareMetalHost
from ..api.v1alpha1.baremetalhost import ProvisioningState
from ..api.v1alpha1.hardware import HardwareDetails
from ..api.v1alpha1.openstackcluster import (
    CLOUD_ROLE_LABEL,
    CLUSTER_LABEL,
    CloudRole,
    HardwareProfile,
    OpenStackClusterSpec,
    RoleSelection,
)

GIB_IN_MIB = 1024
GIB = 1024**3


@dataclass(frozen=True)
class Candidate:
    """A BareMetalHost in the cluster's namespace, as selection sees it."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    hardware: HardwareDetails | None = None
    available: bool = True  # free to provision (metal3's "available"); claimed hosts keep their role anyway
    claimed_by: str | None = None  # the cluster that claims it, if any
    claimed_role: str | None = None  # the role that claim gave it
    inspecting: bool = False  # its hardware is being found out (registering or inspecting, no error)


def candidate(host: BareMetalHost, claimed_by: str | None = None, claimed_role: str | None = None) -> Candidate:
    """A BareMetalHost as selection sees it; available when inspected and free (metal3's "available")."""
    raw = host.metadata.get("labels")
    labels = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    state = host.status.provisioning.state if host.status.provisioning else None
    return Candidate(host.name, labels, host.status.hardware, state == ProvisioningState.AVAILABLE, claimed_by,
                     claimed_role)  # fmt: skip


@dataclass(frozen=True)
class Choice:
    host: str
    role: CloudRole | None  # None: not taken
    profile: str | None  # the profile that matched, if the role has profiles
    explanation: str
    released: bool = False  # this cluster claimed it, and it lost its role


@dataclass(frozen=True)
class RoleSummary:
    role: CloudRole
    desired: int
    assigned: int
    short_reasons: tuple[str, ...]  # why candidates were excluded, when the role is short

    @property
    def short(self) -> int:
        return max(self.desired - self.assigned, 0)

    def __str__(self) -> str:
        text = f"{self.role}: {self.assigned} of {self.desired}"
        if self.short:
            text += ", short: " + ("; ".join(self.short_reasons) or "no candidate host")
        return text


@dataclass(frozen=True)
class Selection:
    choices: tuple[Choice, ...]  # one per candidate, by host name
    roles: tuple[RoleSummary, ...]

    @property
    def assigned(self) -> dict[str, CloudRole]:
        return {c.host: c.role for c in self.choices if c.role is not None}

    @property
    def released(self) -> list[str]:
        """Hosts this cluster claims that lost their role (count lowered, no longer matching)."""
        return [c.host for c in self.choices if c.released]


def _gib(mib: int) -> str:
    return f"{mib / GIB_IN_MIB:g} GiB"


def profile_misses(profile: HardwareProfile, hw: HardwareDetails) -> list[str]:
    """Why `hw` does not fit `profile`; empty when it fits."""
    by = f"required by profile {profile.name}"
    misses = []
    product = hw.system_vendor.product
    if profile.product_names and product not in profile.product_names:
        misses.append(f"product {product!r} not in {', '.join(profile.product_names)} {by}")
    ram = hw.ram_mebibytes
    if profile.ram_min_gib is not None and ram < profile.ram_min_gib * GIB_IN_MIB:
        misses.append(f"RAM {_gib(ram)} < {profile.ram_min_gib} GiB {by}")
    if profile.ram_max_gib is not None and ram > profile.ram_max_gib * GIB_IN_MIB:
        misses.append(f"RAM {_gib(ram)} > {profile.ram_max_gib} GiB allowed by profile {profile.name}")
    cpus = hw.cpu.count
    if profile.cpu_count_min is not None and cpus < profile.cpu_count_min:
        misses.append(f"{cpus} CPUs < {profile.cpu_count_min} {by}")
    if profile.cpu_count_max is not None and cpus > profile.cpu_count_max:
        misses.append(f"{cpus} CPUs > {profile.cpu_count_max} allowed by profile {profile.name}")
    disks = [
        d
        for d in hw.disks
        if (profile.disk_min_gib is None or d.size_bytes >= profile.disk_min_gib * GIB)
        and (profile.disk_rotational is None or d.rotational == profile.disk_rotational)
    ]
    kind = " ".join(
        part
        for part in (
            f">= {profile.disk_min_gib} GiB" if profile.disk_min_gib is not None else "",
            {True: "rotational", False: "solid-state", None: ""}[profile.disk_rotational],
        )
        if part
    )
    disk_words = f"disks ({kind})" if kind else "disks"
    if profile.disk_count_min is not None and len(disks) < profile.disk_count_min:
        misses.append(f"{len(disks)} {disk_words} < {profile.disk_count_min} {by}")
    if profile.disk_count_max is not None and len(disks) > profile.disk_count_max:
        misses.append(f"{len(disks)} {disk_words} > {profile.disk_count_max} allowed by profile {profile.name}")
    nics = [n for n in hw.nics if profile.nic_speed_min_mbps is None or n.speed_mbps >= profile.nic_speed_min_mbps]
    if profile.nic_count_min is not None and len(nics) < profile.nic_count_min:
        speed = f" (>= {profile.nic_speed_min_mbps} Mb/s)" if profile.nic_speed_min_mbps is not None else ""
        misses.append(f"{len(nics)} NICs{speed} < {profile.nic_count_min} {by}")
    return misses


def _rule(cluster: str, spec: OpenStackClusterSpec, role: CloudRole) -> RoleSelection:
    """The role's selection; without one, the labels issue 10 used (cluster and role)."""
    return spec.selection.get(role.value) or RoleSelection(
        match_labels={CLUSTER_LABEL: cluster, CLOUD_ROLE_LABEL: role.value}
    )


def match(
    rule: RoleSelection, profiles: Mapping[str, HardwareProfile], host: Candidate
) -> tuple[str | None, list[str]]:
    """(matching profile or None, reasons it does not match); no reasons means it matches."""
    wrong = [f"label {k}={v} missing" for k, v in sorted(rule.match_labels.items()) if host.labels.get(k) != v]
    if wrong:
        return None, wrong
    if not rule.profiles:
        return None, []
    if host.hardware is None:
        return None, ["no hardware inspected yet"]
    misses: list[str] = []
    for name in rule.profiles:
        found = profile_misses(profiles[name], host.hardware)
        if not found:
            return name, []
        misses += found
    return None, misses


def select(cluster: str, spec: OpenStackClusterSpec, candidates: Iterable[Candidate]) -> Selection:
    desired = spec.roles.counts()
    profiles = {p.name: p for p in spec.hardware_profiles}
    hosts = sorted(candidates, key=lambda c: c.name)
    taken: dict[str, tuple[CloudRole, str | None]] = {}
    explanations: dict[str, str] = {}
    excluded: dict[CloudRole, list[str]] = {role: [] for role in desired}

    # Hosts this cluster claims keep their role, first by name, while it still matches and wants them.
    for role, count in desired.items():
        rule = _rule(cluster, spec, role)
        mine = [h for h in hosts if h.claimed_by == cluster and h.claimed_role == role.value]
        for host in mine:
            profile, misses = match(rule, profiles, host)
            if misses:
                explanations[host.name] = f"released from {role}: {'; '.join(misses)}"
            elif sum(r == role for r, _ in taken.values()) >= count:
                explanations[host.name] = f"released from {role}: the role wants {count} hosts"
            else:
                taken[host.name] = (role, profile)
                explanations[host.name] = f"keeps {role}" + (f" (profile {profile})" if profile else "")
    for host in hosts:
        if host.name in explanations:
            continue
        if host.claimed_by and host.claimed_by != cluster:
            explanations[host.name] = f"claimed by cluster {host.claimed_by}"
        elif host.claimed_by == cluster and host.claimed_role and host.claimed_role not in desired:
            explanations[host.name] = f"released from {host.claimed_role}: the cluster has no such role"
        elif not host.available:
            explanations[host.name] = "not available"

    # New hosts: role by role in the enum's order, by profile preference, then by name.
    misses_of: dict[str, list[str]] = {}
    full_for: dict[str, list[str]] = {}
    for role, count in desired.items():
        rule = _rule(cluster, spec, role)
        room = count - sum(r == role for r, _ in taken.values())
        fits: list[tuple[int, str, str | None]] = []
        for host in hosts:
            if host.name in taken or host.name in explanations:
                continue
            profile, misses = match(rule, profiles, host)
            if misses:
                excluded[role].append(f"{host.name}: {'; '.join(misses)}")
                misses_of.setdefault(host.name, []).append(f"{role}: {'; '.join(misses)}")
                continue
            rank = rule.profiles.index(profile) if profile else 0
            fits.append((rank, host.name, profile))
        # Profiles rank hosts: while one that could match is still being inspected, the role takes
        # nobody new, so which hosts it gets does not depend on which inspection finished first.
        pending = [
            h.name
            for h in hosts
            if h.inspecting and h.hardware is None and h.name not in taken and h.name not in explanations
            and all(h.labels.get(k) == v for k, v in rule.match_labels.items())
        ]  # fmt: skip
        if rule.profiles and pending and room > 0:
            excluded[role].append(f"waiting for the inspection of {', '.join(pending)}")
            continue
        fits.sort()
        for _, name, profile in fits[: max(room, 0)]:
            taken[name] = (role, profile)
            explanations[name] = f"takes {role}" + (f" (profile {profile})" if profile else "")
        for _, name, _ in fits[max(room, 0) :]:
            full_for.setdefault(name, []).append(role.value)

    choices = []
    for host in hosts:
        if host.name in taken:
            role, profile = taken[host.name]
            choices.append(Choice(host.name, role, profile, explanations[host.name]))
            continue
        why = explanations.get(host.name)
        if why is None and host.name in full_for:
            why = f"matches {', '.join(full_for[host.name])} but the role is full"
        elif why is None:
            why = "excluded: " + " | ".join(misses_of.get(host.name, ["no role wants it"]))
        lost = host.claimed_by == cluster and bool(host.claimed_role)
        choices.append(Choice(host.name, None, None, why, released=lost))
    summaries = tuple(
        RoleSummary(
            role,
            count,
            sum(r == role for r, _ in taken.values()),
            tuple(excluded[role]),
        )
        for role, count in desired.items()
    )
    return Selection(tuple(choices), summaries)


def summary(selection: Selection) -> str:
    """One line per short role, for a condition message (`kubectl describe osc`)."""
    return "; ".join(str(r) for r in selection.roles if r.short)
