"""oci::messaging: RabbitMQ (and the telemetry stores) on dedicated nodes."""

from __future__ import annotations

from typing import ClassVar

from .base import CephKey, Fqdn, HexSecret, Ipv4, Name, Prefix, UuidSecret
from .common import CephClient, FirstMaster, Machine, Masters, Release, Vip


class Messaging(Machine, Release, Vip, FirstMaster, CephClient, Masters):
    oci_class: ClassVar[str] = "oci::messaging"

    cluster_name: Name
    machine_iface: Name
    initial_cluster_setup: bool
    first_rabbit: Fqdn
    is_first_rabbit: bool
    all_rabbits: list[Fqdn]
    all_rabbits_ips: list[Ipv4]
    all_rabbits_ids: list[int]
    messaging_other_nodes: list[Fqdn]
    messaging_other_nodes_ips: list[Ipv4]
    # The messaging nodes' own Galera (gnocchi, cloudkitty) is reached on this VIP: without it the
    # catalog compiles with database URLs like mysql+pymysql://gnocchi:...@/gnocchidb.
    messaging_vip_ipaddr: Ipv4
    messaging_vip_network: Ipv4
    messaging_vip_cidr: Prefix
    sql_vip_ip: Ipv4
    sql_vip_netmask: Prefix
    sql_vip_iface: Name
    has_subrole_gnocchi: bool
    has_subrole_ceilometer: bool
    has_subrole_cloudkitty: bool

    ceph_bootstrap_osd_key: CephKey
    ceph_mon_key: CephKey

    pass_rabbitmq_cookie: HexSecret
    pass_rabbitmq_monitoring: HexSecret
    pass_haproxy_stats: HexSecret
    pass_mysql_rootuser: HexSecret
    pass_mysql_backup: HexSecret
    pass_keystone_adminuser: HexSecret
    pass_keystone_messaging: HexSecret
    pass_nova_messaging: HexSecret
    pass_glance_messaging: HexSecret
    pass_cinder_messaging: HexSecret
    pass_neutron_messaging: HexSecret
    pass_heat_messaging: HexSecret
    pass_swift_messaging: HexSecret
    pass_barbican_messaging: HexSecret
    pass_gnocchi_messaging: HexSecret
    pass_gnocchi_db: HexSecret
    pass_gnocchi_authtoken: HexSecret
    pass_gnocchi_rscuuid: UuidSecret
    pass_ceilometer_messaging: HexSecret
    pass_aodh_messaging: HexSecret
    pass_panko_messaging: HexSecret
    pass_cloudkitty_messaging: HexSecret
    pass_cloudkitty_db: HexSecret
    pass_cloudkitty_authtoken: HexSecret
    pass_octavia_messaging: HexSecret
    pass_magnum_messaging: HexSecret
    pass_manila_messaging: HexSecret
    pass_designate_messaging: HexSecret
    pass_zabbix_authtoken: HexSecret
