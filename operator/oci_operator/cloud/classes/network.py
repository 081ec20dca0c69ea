"""oci::network: dedicated neutron network nodes (L3, DHCP, metadata agents)."""

from __future__ import annotations

from typing import ClassVar

from .base import HexSecret
from .common import FirstMaster, Machine, Network, NeutronAgents, OpenStackPeers, Release, Vip


class NetworkNode(Machine, Release, Vip, Network, FirstMaster, OpenStackPeers, NeutronAgents):
    oci_class: ClassVar[str] = "oci::network"

    pass_keystone_adminuser: HexSecret
    pass_metadata_proxy_shared_secret: HexSecret
    pass_neutron_authtoken: HexSecret
    pass_neutron_messaging: HexSecret
    pass_neutron_vrrpauth: HexSecret
    pass_nova_authtoken: HexSecret
