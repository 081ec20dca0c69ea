"""oci::tempest: a node that runs OpenStack's test suite against the cloud."""

from __future__ import annotations

from typing import ClassVar

from .base import Fqdn, HexSecret, Ipv4, Name, OciClass


class Tempest(OciClass):
    oci_class: ClassVar[str] = "oci::tempest"

    machine_hostname: Fqdn
    machine_ip: Ipv4
    region_name: Name
    openstack_release: Name
    cluster_name: Name
    vip_hostname: Fqdn
    self_signed_api_cert: bool
    cluster_has_ceph: bool
    cluster_has_cinder: bool
    cluster_has_compute: bool
    cluster_has_swift: bool
    neutron_external_network_name: Name
    neutron_floating_network_name: Name
    glance_image_name: Name
    glance_image_path: Name
    glance_image_user: Name
    nova_flavor_name: Name
    pass_keystone_adminuser: HexSecret
