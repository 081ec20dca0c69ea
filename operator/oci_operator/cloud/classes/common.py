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


class Masters(OciClass):
    all_masters: list[Fqdn]
    all_masters_ip: list[Ipv4]


class Notifications(OciClass):
    """The RabbitMQ a node's services send notifications to: the messaging nodes' when there are any."""

    messaging_nodes_for_notifs: bool
    all_rabbits: list[Fqdn] | None = None
    all_rabbits_ips: list[Ipv4] | None = None


class OpenStackPeers(Masters, Notifications):
    """Where a node running OpenStack services finds the controllers, the database and RabbitMQ."""

    sql_vip_ip: Ipv4


class NeutronAgents(OciClass):
    """What the hosts running neutron's agents (computes, network nodes) share."""

    cluster_name: Name
    cluster_domain: Name
    vmnet_ip: Ipv4
    bridge_mapping_list: list[Name]
    external_network_list: list[Name]
    self_signed_api_cert: bool
    bgp_to_the_host: bool
    use_dynamic_routing: bool
    has_subrole_designate: bool


class CephClient(OciClass):
    """What a ceph client or daemon needs to reach the MONs (members comma-joined, as OCI prints them)."""

    ceph_fsid: UuidSecret
    ceph_mon_initial_members: Name
    ceph_mon_host: Name
    ceph_admin_key: CephKey
    ceph_openstack_key: CephKey
