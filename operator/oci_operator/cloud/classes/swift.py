"""oci::swiftproxy and oci::swiftstore: object storage."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from .base import Fqdn, HexSecret, Ipv4, Name
from .common import FirstMaster, Machine, Masters, Network, Notifications, Release, Vip


class SwiftRing(Machine, Network):
    """What proxies and stores share: the ring's members and the hash path secrets."""

    region_name: Name
    all_swiftproxy: list[Fqdn]
    all_swiftproxy_ip: list[Ipv4]
    all_swiftstore: list[Fqdn]
    all_swiftstore_ip: list[Ipv4]
    self_signed_api_cert: bool
    swift_storage_allowed_networks: list[Name]
    pass_swift_hashpathprefix: HexSecret
    pass_swift_hashpathsuffix: HexSecret


class SwiftProxy(SwiftRing, Release, Vip, FirstMaster, Masters, Notifications):
    oci_class: ClassVar[str] = "oci::swiftproxy"

    swiftproxy_hostname: Name
    block_devices: list[Name]  # a proxy may store too; none is an empty list, never undef
    pass_swift_authtoken: HexSecret
    pass_swift_messaging: HexSecret
    pass_haproxy_stats: HexSecret


class SwiftStore(SwiftRing):
    oci_class: ClassVar[str] = "oci::swiftstore"

    zoneid: int
    block_devices: Annotated[list[Name], Field(min_length=1)]  # the disks swift formats
