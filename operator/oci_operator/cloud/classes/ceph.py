"""oci::cephmon and oci::cephosd: the ceph cluster's MON/MGR and OSD nodes."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from .base import CephKey, Name
from .common import CephClient, Machine, Masters, Network, Vip


class CephMon(Machine, Vip, Network, CephClient, Masters):
    oci_class: ClassVar[str] = "oci::cephmon"

    self_signed_api_cert: bool
    ceph_bootstrap_osd_key: CephKey
    ceph_mon_key: CephKey
    ceph_mgr_key: CephKey


class CephOsd(Machine, Vip, Network, CephClient, Masters):
    oci_class: ClassVar[str] = "oci::cephosd"

    self_signed_api_cert: bool
    bgp_to_the_host: bool
    ceph_osd_initial_setup: bool
    use_ceph_cluster_net: bool
    block_devices: Annotated[list[Name], Field(min_length=1)]  # the disks that become OSDs
    ceph_bootstrap_osd_key: CephKey
    ceph_mon_key: CephKey
