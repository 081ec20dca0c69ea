"""oci::volume: cinder-volume on LVM (and cinder-backup)."""

from __future__ import annotations

from typing import ClassVar

from .base import Fqdn, HexSecret, Ipv4, Name, UuidSecret
from .common import CephClient, FirstMaster, Machine, Network, Release, Vip


class Volume(Machine, Release, Vip, Network, FirstMaster, CephClient):
    oci_class: ClassVar[str] = "oci::volume"

    all_masters: list[Fqdn]
    all_masters_ip: list[Ipv4]
    messaging_nodes_for_notifs: bool
    all_rabbits: list[Fqdn] | None = None
    all_rabbits_ips: list[Ipv4] | None = None
    sql_vip_ip: Ipv4
    self_signed_api_cert: bool
    cluster_has_osds: bool
    backup_backend: Name
    vgname: Name
    block_devices: list[Name]  # the disks of cinder's LVM volume group

    ceph_libvirtuuid: UuidSecret

    pass_cinder_db: HexSecret
    pass_cinder_authtoken: HexSecret
    pass_cinder_messaging: HexSecret
    pass_nova_authtoken: HexSecret
