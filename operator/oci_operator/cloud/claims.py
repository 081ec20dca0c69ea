"""How a cluster marks the hosts it takes, and the patches that take, release and explain them.

The claim is metal3's `spec.consumerRef` (kind OpenStackCluster, its name): one field a host has at
most one of, which other clusters read and respect. The role (the generated NodeRole) and the power are
written only when the roll-out releases the host. Users' manifests leave these fields out, and GitOps
tools compare only what a manifest sets (Argo CD's three-way diff against the last applied
configuration or its server-side diff; Flux's server-side apply with field managers), so the claim is
never reported as drift. The role and address a host plays are recorded in the cluster's status.hosts
(the cluster's memory), the explanations under the host's status.selection (one key per cluster)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..api.v1alpha1 import API_VERSION, BareMetalHost, ProvisioningState
from ..api.v1alpha1.openstackcluster import HostStatus
from . import selection
from .selection import Candidate

CONSUMER_KIND = "OpenStackCluster"
INSPECTION = (ProvisioningState.REGISTERING, ProvisioningState.INSPECTING)
BUSY = (ProvisioningState.PROVISIONING, ProvisioningState.PROVISIONED, ProvisioningState.DEPROVISIONING)


def claimed_by(host: BareMetalHost) -> str | None:
    """The cluster that claims `host`, if any."""
    ref = host.spec.consumer_ref
    return ref.name if ref is not None and ref.kind == CONSUMER_KIND else None


def noderole_name(cluster: str, host: str) -> str:
    """The NodeRole the cluster generates for one host."""
    return f"{cluster}-{host}"


def free(host: BareMetalHost) -> bool:
    """Free to be taken: no role of its own and not installed, installing or wiping."""
    state = host.status.provisioning.state if host.status.provisioning else None
    return host.spec.role is None and state not in BUSY


def candidate(cluster: str, host: BareMetalHost, recorded: Mapping[str, HostStatus]) -> Candidate:
    """A host as selection sees it; the role of this cluster's own claim comes from its status.hosts."""
    owner = claimed_by(host)
    role = recorded[host.name].role.value if owner == cluster and host.name in recorded else None
    mine = owner == cluster and (host.spec.role in (None, noderole_name(cluster, host.name)))
    state = host.status.provisioning.state if host.status.provisioning else ProvisioningState.REGISTERING
    inspecting = state in INSPECTION and host.status.error_type is None and host.spec.bmc is not None
    return replace(selection.candidate(host, owner, role), available=free(host) or mine, inspecting=inspecting)


def claim(cluster: str) -> dict[str, Any]:
    return {"spec": {"consumerRef": {"apiVersion": API_VERSION, "kind": CONSUMER_KIND, "name": cluster}}}


def release_to_provision(cluster: str, host: str) -> dict[str, Any]:
    """The roll-out lets the host install: its generated role, and power (the agent runs on it)."""
    return {"spec": {"role": noderole_name(cluster, host), "online": True}}


def unclaim(cluster: str, host: BareMetalHost) -> dict[str, Any]:
    """Give the host back: an installed host is wiped and powered off by its own state machine (the role
    goes); the claim goes at once, so the host is free once it is available again."""
    spec: dict[str, Any] = {"consumerRef": None}
    if host.spec.role == noderole_name(cluster, host.name):
        spec |= {"role": None, "online": False}
    return {"spec": spec}


def needs_claim(cluster: str, host: BareMetalHost) -> bool:
    return claimed_by(host) != cluster
