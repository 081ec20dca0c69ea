"""oci::network: dedicated neutron network nodes (L3, DHCP, metadata agents)."""

from __future__ import annotations

from typing import ClassVar

from .base import Fqdn, HexSecret, Ipv4, Name
from .common import FirstMaster, Machine, Network, Release, Vip


class NetworkNode(Machine, Release, Vip, Network, FirstMaster):
    oci_class: ClassVar[str] = "oci::network"

    cluster_name: Name
    cluster_domain: Name
    all_masters: list[Fqdn]
    all_masters_ip: list[Ipv4]
    messaging_nodes_for_notifs: bool
    all_rabbits: list[Fqdn] | None = None
    all_rabbits_ips: list[Ipv4] | None = None
    sql_vip_ip: Ipv4
    vmnet_ip: Ipv4
    bridge_mapping_list: list[Name]
    external_network_list: list[Name]
    self_signed_api_cert: bool
    bgp_to_the_host: bool
    use_dynamic_routing: bool
    has_subrole_designate: bool

    pass_keystone_adminuser: HexSecret
    pass_metadata_proxy_shared_secret: HexSecret
    pass_neutron_authtoken: HexSecret
    pass_neutron_messaging: HexSecret
    pass_neutron_vrrpauth: HexSecret
    pass_nova_authtoken: HexSecret
