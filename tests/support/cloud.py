"""The three topologies of issue 10 (minimal; +ceph; large) as cluster specs and hosts, shared by the
plan's unit tests and the catalog compilation against the real puppet-module-oci."""

from __future__ import annotations

from typing import Any

from oci_operator.api.v1alpha1.openstackcluster import CloudRole, OpenStackClusterSpec
from oci_operator.cloud.topology import ClusterHost

CLUSTER = "cloud1"

MINIMAL = {CloudRole.CONTROLLER: 3, CloudRole.COMPUTE: 2}
WITH_CEPH = MINIMAL | {CloudRole.CEPHMON: 3, CloudRole.CEPHOSD: 3}
LARGE = WITH_CEPH | {
    CloudRole.MESSAGING: 3,
    CloudRole.NETWORK: 2,
    CloudRole.VOLUME: 2,
    CloudRole.SWIFTPROXY: 2,
    CloudRole.SWIFTSTORE: 3,
    CloudRole.TEMPEST: 1,
}
TOPOLOGIES = {"minimal": MINIMAL, "ceph": WITH_CEPH, "large": LARGE}


def spec_dict(roles: dict[CloudRole, int], **extra: Any) -> dict[str, Any]:
    vips = {"messagingVip": {"address": "10.20.0.6"}} if roles.get(CloudRole.MESSAGING) else {}
    return vips | {
        "domain": "cloud1.example.net",
        "region": "RegionOne",
        "managementNetwork": {
            "cidr": "10.20.0.0/24",
            "gateway": "10.20.0.1",
            "addressRange": {"start": "10.20.0.10", "end": "10.20.0.200"},
            "dnsServers": ["10.20.0.2", "10.20.0.3"],
            "ntpServers": ["ntp1.example.net"],
        },
        "apiVip": {"address": "10.20.0.5", "hostname": "api.cloud1.example.net"},
        "roles": {str(role): count for role, count in roles.items()},
        **extra,
    }


def spec_for(roles: dict[CloudRole, int], **extra: Any) -> OpenStackClusterSpec:
    return OpenStackClusterSpec.model_validate(spec_dict(roles, **extra))


def hosts_for(roles: dict[CloudRole, int]) -> list[ClusterHost]:
    """BareMetalHosts named in reverse so the plan's own ordering (by hostname) is what is tested."""
    disks = {CloudRole.CEPHOSD, CloudRole.SWIFTSTORE, CloudRole.VOLUME}
    return [
        ClusterHost(f"bmh-{role}-{chr(ord('z') - i)}", role, block_devices=("sdb", "sdc") if role in disks else ())
        for role, count in roles.items()
        for i in range(count)
    ]
