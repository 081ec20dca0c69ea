"""oci::controller: the API services, Galera, RabbitMQ (without messaging nodes), corosync and the VIP."""

from __future__ import annotations

from typing import ClassVar

from .base import Base64Secret, CephKey, Fqdn, HexSecret, Ipv4, Name, Prefix, RndcKey, SshPrivate, SshPublic, UuidSecret
from .common import CephClient, FirstMaster, Machine, Masters, Network, Release, Vip


class Controller(Machine, Release, Vip, Network, FirstMaster, CephClient, Masters):
    oci_class: ClassVar[str] = "oci::controller"

    cluster_name: Name
    machine_iface: Name
    initial_cluster_setup: bool
    is_first_master: bool
    other_masters: list[Fqdn]
    other_masters_ip: list[Ipv4]
    non_first_master_controllers: list[Fqdn]
    non_first_master_controllers_ip: list[Ipv4]
    first_sql: Fqdn
    first_sql_ip: Ipv4
    is_first_sql: bool
    sql_vip_ip: Ipv4
    sql_vip_netmask: Prefix
    sql_vip_iface: Name
    messaging_nodes_for_notifs: bool
    all_rabbits: list[Fqdn] | None = None
    all_rabbits_ips: list[Ipv4] | None = None
    compute_nodes: list[Fqdn]
    compute_nodes_ip: list[Ipv4]
    volume_nodes: list[Fqdn]
    volume_nodes_ip: list[Ipv4]
    all_swiftproxy: list[Fqdn]
    all_swiftproxy_ip: list[Ipv4]
    swiftproxy_hostname: Name
    bridge_mapping_list: list[Name]
    external_network_list: list[Name]
    vmnet_ip: Ipv4
    nameserver_v4_prim: Ipv4
    nameserver_v4_sec: Ipv4 | None = None
    self_signed_api_cert: bool
    bgp_to_the_host: bool
    use_dynamic_routing: bool
    cluster_has_osds: bool
    cluster_has_mons: bool
    cluster_has_cinder_volumes: bool
    glance_backend: Name
    cinder_backup_backend: Name
    has_subrole_db: bool
    has_subrole_glance: bool
    has_subrole_nova: bool
    has_subrole_neutron: bool
    has_subrole_aodh: bool
    has_subrole_octavia: bool
    has_subrole_magnum: bool
    has_subrole_manila: bool
    has_subrole_cinder: bool
    has_subrole_swift: bool
    has_subrole_network_node: bool
    has_subrole_designate: bool

    ceph_bootstrap_osd_key: CephKey
    ceph_mon_key: CephKey
    ceph_mgr_key: CephKey
    ceph_libvirtuuid: UuidSecret

    pass_haproxy_stats: HexSecret
    pass_mysql_rootuser: HexSecret
    pass_mysql_backup: HexSecret
    pass_rabbitmq_cookie: HexSecret
    pass_rabbitmq_monitoring: HexSecret
    pass_redis: HexSecret
    pass_horizon_secretkey: HexSecret
    pass_metadata_proxy_shared_secret: HexSecret
    pass_keystone_adminuser: HexSecret
    pass_keystone_db: HexSecret
    pass_keystone_messaging: HexSecret
    pass_keystone_credkey1: Base64Secret
    pass_keystone_credkey2: Base64Secret
    pass_keystone_fernkey1: Base64Secret
    pass_keystone_fernkey2: Base64Secret
    pass_keystone_ssh_pub: SshPublic
    pass_keystone_ssh_priv: SshPrivate
    pass_nova_db: HexSecret
    pass_nova_apidb: HexSecret
    pass_nova_authtoken: HexSecret
    pass_nova_messaging: HexSecret
    pass_placement_db: HexSecret
    pass_placement_authtoken: HexSecret
    pass_glance_db: HexSecret
    pass_glance_authtoken: HexSecret
    pass_glance_messaging: HexSecret
    pass_glance_ssh_pub: SshPublic
    pass_glance_ssh_priv: SshPrivate
    pass_cinder_db: HexSecret
    pass_cinder_authtoken: HexSecret
    pass_cinder_messaging: HexSecret
    pass_neutron_db: HexSecret
    pass_neutron_authtoken: HexSecret
    pass_neutron_messaging: HexSecret
    pass_neutron_vrrpauth: HexSecret
    pass_heat_db: HexSecret
    pass_heat_authtoken: HexSecret
    pass_heat_messaging: HexSecret
    pass_heat_encryptkey: HexSecret
    pass_heat_keystone_domain: HexSecret
    pass_swift_authtoken: HexSecret
    pass_swift_messaging: HexSecret
    pass_swift_encryption: HexSecret
    pass_barbican_db: HexSecret
    pass_barbican_authtoken: HexSecret
    pass_barbican_messaging: HexSecret
    pass_gnocchi_db: HexSecret
    pass_gnocchi_authtoken: HexSecret
    pass_gnocchi_messaging: HexSecret
    pass_gnocchi_rscuuid: UuidSecret
    pass_ceilometer_db: HexSecret
    pass_ceilometer_authtoken: HexSecret
    pass_ceilometer_messaging: HexSecret
    pass_ceilometer_telemetry: HexSecret
    pass_aodh_db: HexSecret
    pass_aodh_authtoken: HexSecret
    pass_aodh_messaging: HexSecret
    pass_panko_db: HexSecret
    pass_panko_authtoken: HexSecret
    pass_panko_messaging: HexSecret
    pass_cloudkitty_db: HexSecret
    pass_cloudkitty_authtoken: HexSecret
    pass_cloudkitty_messaging: HexSecret
    pass_octavia_db: HexSecret
    pass_octavia_authtoken: HexSecret
    pass_octavia_messaging: HexSecret
    pass_octavia_heatbeatkey: HexSecret
    pass_magnum_db: HexSecret
    pass_magnum_authtoken: HexSecret
    pass_magnum_messaging: HexSecret
    pass_magnum_domain: HexSecret
    pass_manila_db: HexSecret
    pass_manila_authtoken: HexSecret
    pass_manila_messaging: HexSecret
    pass_designate_db: HexSecret
    pass_designate_authtoken: HexSecret
    pass_designate_messaging: HexSecret
    pass_designate_rndckey: RndcKey
    pass_zabbix_authtoken: HexSecret
