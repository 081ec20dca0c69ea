"""oci::compute: nova-compute, the neutron agents, ceph client (and OSDs when it is one)."""

from __future__ import annotations

from typing import ClassVar

from .base import CephKey, HexSecret, Name, SshPrivate, SshPublic, UuidSecret
from .common import CephClient, FirstMaster, Machine, Network, NeutronAgents, OpenStackPeers, Release, Vip


class Compute(Machine, Release, Vip, Network, FirstMaster, CephClient, OpenStackPeers, NeutronAgents):
    oci_class: ClassVar[str] = "oci::compute"

    cluster_has_osds: bool
    use_ceph_if_available: bool
    backup_backend: Name
    has_subrole_dhcp_agent: bool
    has_subrole_ceilometer: bool
    block_devices: list[Name]  # OSD disks when the compute node is also a ceph OSD

    ceph_bootstrap_osd_key: CephKey
    ceph_mon_key: CephKey
    ceph_libvirtuuid: UuidSecret

    pass_nova_ssh_pub: SshPublic
    pass_nova_ssh_priv: SshPrivate
    pass_nova_authtoken: HexSecret
    pass_nova_messaging: HexSecret
    pass_placement_authtoken: HexSecret
    pass_neutron_authtoken: HexSecret
    pass_neutron_messaging: HexSecret
    pass_neutron_vrrpauth: HexSecret
    pass_metadata_proxy_shared_secret: HexSecret
    pass_glance_authtoken: HexSecret
    pass_cinder_db: HexSecret
    pass_cinder_authtoken: HexSecret
    pass_cinder_messaging: HexSecret
    pass_ceilometer_authtoken: HexSecret
    pass_ceilometer_messaging: HexSecret
    pass_ceilometer_telemetry: HexSecret
    pass_haproxy_stats: HexSecret
