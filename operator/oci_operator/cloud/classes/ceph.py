"""oci::cephmon and oci::cephosd: the ceph cluster's MON/MGR and OSD nodes."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from .base import CephKey, Fqdn, Ipv4, Name
from .common import CephClient, Machine, Network, Vip


class CephMon(Machine, Vip, Network, CephClient):
    oci_class: ClassVar[str] = "oci::cephmon"

    all_masters: list[Fqdn]
    all_masters_ip: list[Ipv4]
    self_signed_api_cert: bool
    ceph_bootstrap_osd_key: CephKey
    ceph_mon_key: CephKey
    ceph_mgr_key: CephKey


class CephOsd(Machine, Vip, Network, CephClient):
    oci_class: ClassVar[str] = "oci::cephosd"

    all_masters: list[Fqdn]
    all_masters_ip: list[Ipv4]
    self_signed_api_cert: bool
    bgp_to_the_host: bool
    ceph_osd_initial_setup: bool
    use_ceph_cluster_net: bool
    block_devices: Annotated[list[Name], Field(min_length=1)]  # the disks that become OSDs
    ceph_bootstrap_osd_key: CephKey
    ceph_mon_key: CephKey
