"""oci::volume: cinder-volume on LVM (and cinder-backup)."""

from __future__ import annotations

from typing import ClassVar

from .base import HexSecret, Name, UuidSecret
from .common import CephClient, FirstMaster, Machine, Network, OpenStackPeers, Release, Vip


class Volume(Machine, Release, Vip, Network, FirstMaster, CephClient, OpenStackPeers):
    oci_class: ClassVar[str] = "oci::volume"

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
