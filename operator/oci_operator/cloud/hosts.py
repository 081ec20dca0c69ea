"""Which BareMetalHosts belong to a cluster, and what the plan needs from each: its role (label), its own
hostname or address (annotations), its data disks (inspection). Selecting hosts by hardware profile is
a later step; here a host joins by carrying the cluster's label and a role."""

from __future__ import annotations

from collections.abc import Iterable

from ..api.v1alpha1 import BareMetalHost
from ..api.v1alpha1.openstackcluster import (
    ADDRESS_ANNOTATION,
    CLOUD_ROLE_LABEL,
    CLUSTER_LABEL,
    DATA_DISKS_ANNOTATION,
    HOSTNAME_ANNOTATION,
    CloudRole,
)
from .topology import ClusterHost, TopologyError


def _labels(host: BareMetalHost) -> dict[str, str]:
    labels = host.metadata.get("labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def data_disks(host: BareMetalHost) -> tuple[str, ...]:
    """The annotation's disks, else inspected disks but the first (the OS disk the installer takes), as
    short names (sdb)."""
    chosen = host.metadata_annotations().get(DATA_DISKS_ANNOTATION)
    if chosen is not None:
        return tuple(d.strip().removeprefix("/dev/") for d in chosen.split(",") if d.strip())
    hardware = host.status.hardware
    if hardware is None:
        return ()
    return tuple(d.name.removeprefix("/dev/") for d in hardware.disks[1:])


def cluster_hosts(cluster: str, hosts: Iterable[BareMetalHost]) -> list[ClusterHost]:
    """The hosts labelled for `cluster`, with their role. A label naming no role is refused by name."""
    found, problems = [], []
    for host in hosts:
        labels = _labels(host)
        if labels.get(CLUSTER_LABEL) != cluster:
            continue
        role = labels.get(CLOUD_ROLE_LABEL)
        if role not in {r.value for r in CloudRole}:
            problems.append(f"host {host.name}: label {CLOUD_ROLE_LABEL}={role!r} is not a role")
            continue
        annotations = host.metadata_annotations()
        found.append(
            ClusterHost(
                name=host.name,
                role=CloudRole(role),
                hostname=annotations.get(HOSTNAME_ANNOTATION),
                address=annotations.get(ADDRESS_ANNOTATION),
                block_devices=data_disks(host),
            )
        )
    if problems:
        raise TopologyError(problems)
    return found
