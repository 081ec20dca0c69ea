"""Parameter groups many classes share (OCI's ENC prints them to most roles)."""

from __future__ import annotations

from .base import CephKey, Fqdn, Ipv4, Name, OciClass, Prefix, UuidSecret


class Machine(OciClass):
    machine_hostname: Fqdn
    machine_ip: Ipv4


class Release(OciClass):
    region_name: Name
    openstack_release: Name


class Vip(OciClass):
    vip_hostname: Fqdn
    vip_ipaddr: Ipv4
    vip_netmask: Prefix


class Network(OciClass):
    network_ipaddr: Ipv4
    network_cidr: Prefix


class FirstMaster(OciClass):
    first_master: Fqdn
    first_master_ip: Ipv4


class CephClient(OciClass):
    """What a ceph client or daemon needs to reach the MONs (members comma-joined, as OCI prints them)."""

    ceph_fsid: UuidSecret
    ceph_mon_initial_members: Name
    ceph_mon_host: Name
    ceph_admin_key: CephKey
    ceph_openstack_key: CephKey
