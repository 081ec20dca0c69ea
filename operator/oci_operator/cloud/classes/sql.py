"""oci::sql: a dedicated Galera cluster (otherwise the controllers run it)."""

from __future__ import annotations

from typing import ClassVar

from .base import Fqdn, HexSecret, Ipv4, Name, Prefix
from .common import Machine, Network


class Sql(Machine, Network):
    oci_class: ClassVar[str] = "oci::sql"

    cluster_name: Name
    first_sql: Fqdn
    first_sql_ip: Ipv4
    is_first_sql: bool
    all_sql: list[Fqdn]
    all_sql_ip: list[Ipv4]
    non_master_sql: list[Fqdn]
    non_master_sql_ip: list[Ipv4]
    sql_vip_ip: Ipv4
    sql_vip_netmask: Prefix
    sql_vip_iface: Name
    self_signed_api_cert: bool

    pass_mysql_rootuser: HexSecret
    pass_mysql_backup: HexSecret
    pass_keystone_db: HexSecret
    pass_nova_db: HexSecret
    pass_nova_apidb: HexSecret
    pass_placement_db: HexSecret
    pass_glance_db: HexSecret
    pass_cinder_db: HexSecret
    pass_neutron_db: HexSecret
    pass_heat_db: HexSecret
    pass_barbican_db: HexSecret
    pass_gnocchi_db: HexSecret
    pass_ceilometer_db: HexSecret
    pass_aodh_db: HexSecret
    pass_panko_db: HexSecret
    pass_cloudkitty_db: HexSecret
    pass_octavia_db: HexSecret
