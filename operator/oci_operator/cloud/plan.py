"""The plan: (cluster, hosts, secrets, certificates, initial_cluster_setup) -> per host the
puppet-module-oci classes and their typed parameters. Pure; the operator and `oci-operator cluster plan`
both call it. Values are computed once per host as OCI's ENC would print them ("facts"); each class model
then takes the parameters it declares, and overrides are checked against the class's real parameters."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import yaml
from pydantic import ValidationError

from ..api.v1alpha1.openstackcluster import CloudRole, OpenStackClusterSpec
from .classes import BASE_CLASSES, ROLE_CLASS, OciClass, known_parameters
from .classes.base import secret_name
from .topology import ClusterHost, Member, Topology, topology
from .tunables import for_role


class PlanError(ValueError):
    """A parameter a class needs is missing or wrong, or an override names no real parameter. The message
    names the host, the class and the OCI parameter."""


class Pki(Protocol):
    """The cluster CA's material the plan hands to hosts (PEM text)."""

    def ca_pem(self) -> str: ...

    def host_pair(self, fqdn: str) -> tuple[str, str]:
        """(certificate PEM, key PEM) of one host."""
        ...

    def api_pair(self) -> tuple[str, str]:
        """(certificate PEM, key PEM) of the API VIP's hostname."""
        ...


@dataclass(frozen=True)
class HostPlan:
    name: str
    role: CloudRole
    hostname: str
    address: str
    classes: tuple[OciClass, ...]

    def enc(self) -> dict[str, Any]:
        """The ENC document puppet reads for this host."""
        return {"classes": {c.oci_class: c.parameters() for c in self.classes}, "parameters": {}}


@dataclass(frozen=True)
class Plan:
    hosts: tuple[HostPlan, ...]

    def host(self, name: str) -> HostPlan:
        return next(h for h in self.hosts if h.name == name)


def _b64(text: str) -> str:
    """Base64 as the classes decode it; a reference (`<secret:...>`, in a plan shown to people) stays
    readable."""
    if text.startswith("<") and text.endswith(">") and "\n" not in text:
        return text
    return base64.b64encode(text.encode()).decode()


def _names(members: Iterable[Member]) -> list[str]:
    return [m.hostname for m in members]


def _ips(members: Iterable[Member]) -> list[str]:
    return [m.address for m in members]


def _etc_hosts(topo: Topology, spec: OpenStackClusterSpec) -> str:
    lines = ["127.0.0.1 localhost"]
    lines += [f"{m.address} {m.hostname} {m.hostname.split('.')[0]}" for m in topo.members]
    lines.append(f"{spec.api_vip.address} {spec.api_vip.hostname}")
    return "\n".join(lines) + "\n"


def _cluster_facts(cluster: str, spec: OpenStackClusterSpec, topo: Topology, initial: bool) -> dict[str, Any]:
    """What is the same for every host of the cluster."""
    net = spec.management_network
    sql_vip = spec.sql_vip or spec.api_vip
    controllers, rabbits, sql, mons = topo.controllers, topo.rabbits, topo.sql_nodes, topo.ceph_mons
    has = topo.has
    ext = spec.tunables.neutron_external_network_name
    backend = topo.backend()
    messaging_vip = spec.messaging_vip
    return {
        "cluster_name": cluster,
        "cluster_domain": spec.domain,
        "region_name": spec.region,
        "openstack_release": spec.openstack_release,
        "initial_cluster_setup": initial,
        "admin_email_address": spec.tunables.admin_email_address,
        "mail_relay_host": spec.tunables.mail_relay_host,
        "use_http_proxy": spec.tunables.http_proxy is not None,
        "http_proxy_addr": spec.tunables.http_proxy,
        "time_server_host": net.ntp_servers[0],
        "generate_root_ssh_keys": False,
        "filebeat_enable": False,
        "nameserver_v4_prim": net.dns_servers[0],
        "nameserver_v4_sec": net.dns_servers[1] if len(net.dns_servers) > 1 else None,
        "vip_hostname": spec.api_vip.hostname,
        "vip_ipaddr": spec.api_vip.address,
        "vip_netmask": net.network.prefixlen,
        "sql_vip_ip": sql_vip.address,
        "sql_vip_netmask": net.network.prefixlen,
        "sql_vip_iface": net.interface,
        "messaging_vip_ipaddr": messaging_vip.address if messaging_vip else None,
        "messaging_vip_cidr": net.network.prefixlen if messaging_vip else None,
        "messaging_vip_network": str(net.network.network_address) if messaging_vip else None,
        "network_ipaddr": str(net.network.network_address),
        "network_cidr": net.network.prefixlen,
        "self_signed_api_cert": True,
        "bgp_to_the_host": False,
        "use_dynamic_routing": False,
        "first_master": topo.first_master.hostname,
        "first_master_ip": topo.first_master.address,
        "all_masters": _names(controllers),
        "all_masters_ip": _ips(controllers),
        "first_sql": sql[0].hostname,
        "first_sql_ip": sql[0].address,
        "all_sql": _names(sql),
        "all_sql_ip": _ips(sql),
        "non_master_sql": _names(sql[1:]),
        "non_master_sql_ip": _ips(sql[1:]),
        "non_first_master_controllers": _names(controllers[1:]),
        "non_first_master_controllers_ip": _ips(controllers[1:]),
        "messaging_nodes_for_notifs": has(CloudRole.MESSAGING),
        "all_rabbits": _names(rabbits) if has(CloudRole.MESSAGING) else None,
        "all_rabbits_ips": _ips(rabbits) if has(CloudRole.MESSAGING) else None,
        "all_rabbits_ids": [m.index for m in rabbits],
        "first_rabbit": rabbits[0].hostname,
        "compute_nodes": _names(topo.of(CloudRole.COMPUTE)),
        "compute_nodes_ip": _ips(topo.of(CloudRole.COMPUTE)),
        "volume_nodes": _names(topo.of(CloudRole.VOLUME)),
        "volume_nodes_ip": _ips(topo.of(CloudRole.VOLUME)),
        "all_swiftproxy": _names(topo.of(CloudRole.SWIFTPROXY)),
        "all_swiftproxy_ip": _ips(topo.of(CloudRole.SWIFTPROXY)),
        "all_swiftstore": _names(topo.of(CloudRole.SWIFTSTORE)),
        "all_swiftstore_ip": _ips(topo.of(CloudRole.SWIFTSTORE)),
        "swiftproxy_hostname": "none",
        "swift_storage_allowed_networks": [net.cidr],
        "bridge_mapping_list": [f"{ext}:br-ex"],
        "external_network_list": [ext],
        "neutron_external_network_name": ext,
        "neutron_floating_network_name": spec.tunables.tempest_floating_network_name,
        "glance_image_name": spec.tunables.tempest_image_name,
        "glance_image_path": spec.tunables.tempest_image_path,
        "glance_image_user": spec.tunables.tempest_image_user,
        "nova_flavor_name": spec.tunables.tempest_flavor_name,
        "ceph_mon_initial_members": ",".join(m.hostname.split(".")[0] for m in mons),
        "ceph_mon_host": ",".join(m.address for m in mons),
        "cluster_has_osds": topo.has_osds,
        "cluster_has_mons": has(CloudRole.CEPHMON),
        "cluster_has_cinder_volumes": has(CloudRole.VOLUME) or topo.has_osds,
        "cluster_has_ceph": topo.has_osds,
        "cluster_has_cinder": has(CloudRole.VOLUME) or topo.has_osds,
        "cluster_has_compute": has(CloudRole.COMPUTE),
        "cluster_has_swift": has(CloudRole.SWIFTSTORE),
        "glance_backend": backend or "file",
        "cinder_backup_backend": topo.backend(prefer_ceph=False) or "none",
        "backup_backend": topo.backend(prefer_ceph=False) or "none",
        "use_ceph_if_available": topo.has_osds,
        "ceph_osd_initial_setup": initial,
        "use_ceph_cluster_net": False,
        "vgname": "ftvol",
        # Controllers run what no dedicated role does (OCI's has_subrole_* flags).
        "has_subrole_db": not has(CloudRole.SQL),
        "has_subrole_glance": has(CloudRole.COMPUTE),
        "has_subrole_nova": has(CloudRole.COMPUTE),
        "has_subrole_neutron": has(CloudRole.COMPUTE),
        "has_subrole_aodh": has(CloudRole.COMPUTE) and spec.tunables.install_telemetry,
        "has_subrole_octavia": has(CloudRole.COMPUTE) and spec.tunables.install_octavia,
        "has_subrole_magnum": has(CloudRole.COMPUTE) and spec.tunables.install_magnum,
        "has_subrole_manila": False,
        "has_subrole_cinder": has(CloudRole.COMPUTE) and (has(CloudRole.VOLUME) or topo.has_osds),
        "has_subrole_swift": has(CloudRole.SWIFTSTORE),
        "has_subrole_network_node": not has(CloudRole.NETWORK),
        "has_subrole_dhcp_agent": not has(CloudRole.NETWORK),
        "has_subrole_designate": spec.tunables.install_designate,
        "has_subrole_gnocchi": spec.tunables.install_telemetry,
        "has_subrole_ceilometer": spec.tunables.install_telemetry,
        "has_subrole_cloudkitty": spec.tunables.install_telemetry,
    }


def _host_facts(cluster: str, member: Member, topo: Topology, spec: OpenStackClusterSpec, pki: Pki) -> dict[str, Any]:
    cert, key = pki.host_pair(member.hostname)
    ca = _b64(pki.ca_pem())
    facts: dict[str, Any] = {
        "machine_hostname": member.hostname,
        "machine_ip": member.address,
        "machine_role": str(member.role),
        "vmnet_ip": member.address,
        # Without network nodes the controllers do SNAT through br-ex.
        "machine_iface": "br-ex"
        if member.role == CloudRole.CONTROLLER and not topo.has(CloudRole.NETWORK) and topo.has(CloudRole.COMPUTE)
        else spec.management_network.interface,
        "ssh_listen_ips": ["127.0.0.1", member.address],
        "etc_hosts": _b64(_etc_hosts(topo, spec)),
        "oci_facts": _b64(yaml.safe_dump({"oci_role": str(member.role), "oci_cluster": cluster})),
        "ssl_cert_snakeoil_pem": _b64(cert),
        "ssl_cert_snakeoil_key": _b64(key),
        "oci_pki_root_ca": ca,
        "oci_pki_oci_ca": ca,
        "oci_pki_oci_ca_chain": ca,
        "is_first_master": member == topo.first_master,
        "is_first_sql": member == topo.sql_nodes[0],
        "is_first_rabbit": member == topo.rabbits[0],
        "messaging_other_nodes": [m.hostname for m in topo.rabbits if m != member],
        "messaging_other_nodes_ips": [m.address for m in topo.rabbits if m != member],
        "other_masters": [m.hostname for m in topo.controllers if m != member],
        "other_masters_ip": [m.address for m in topo.controllers if m != member],
        "zoneid": member.index,
        "block_devices": list(member.block_devices),
    }
    if member.role in (CloudRole.CONTROLLER, CloudRole.SWIFTPROXY):
        api_cert, api_key = pki.api_pair()
        facts |= {"oci_pki_api_pem": _b64(api_cert + api_key), "oci_pki_api_key": _b64(api_key)}
        facts["oci_pki_api_crt"] = _b64(api_cert)
    return facts


def _overrides_for(spec: OpenStackClusterSpec, member: Member) -> list[tuple[str, dict[str, dict[str, Any]]]]:
    """(where, class -> parameters) in the order they apply: all, the role, the host."""
    layers = [("overrides.all", spec.overrides.all)]
    if member.role in spec.overrides.roles:
        layers.append((f"overrides.roles.{member.role}", spec.overrides.roles[str(member.role)]))
    for key in (member.name, member.hostname):
        if key in spec.overrides.hosts:
            layers.append((f"overrides.hosts.{key}", spec.overrides.hosts[key]))
    return layers


def check_overrides(spec: OpenStackClusterSpec) -> None:
    """Every override names a class the operator feeds and one of that class's real parameters."""
    known = known_parameters()
    layers = [("overrides.all", spec.overrides.all)]
    layers += [(f"overrides.roles.{r}", m) for r, m in spec.overrides.roles.items()]
    layers += [(f"overrides.hosts.{h}", m) for h, m in spec.overrides.hosts.items()]
    for where, classes in layers:
        for cls, params in classes.items():
            if cls not in known:
                raise PlanError(f"{where}: {cls!r} is not a class the operator feeds ({', '.join(sorted(known))})")
            if not isinstance(params, Mapping):
                raise PlanError(f"{where}.{cls}: expected a mapping of parameter to value")
            unknown = sorted(set(params) - known[cls])
            if unknown:
                raise PlanError(f"{where}.{cls}: {', '.join(unknown)} is not a parameter of {cls}")


def _build(
    model: type[OciClass],
    member: Member,
    facts: Mapping[str, Any],
    secrets: Mapping[str, str],
    extra: Mapping[str, Any],
    layers: list[tuple[str, dict[str, dict[str, Any]]]],
) -> OciClass:
    values: dict[str, Any] = {name: facts[name] for name in model.model_fields if name in facts}
    for parameter in model.secret_fields():
        name = secret_name(parameter)
        if name in secrets:
            values[parameter] = secrets[name]
    values |= extra
    for _, classes in layers:
        values |= classes.get(model.oci_class, {})
    values = {k: v for k, v in values.items() if v is not None or k not in model.model_fields}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            parameter = ".".join(str(p) for p in err["loc"])
            where = "secret" if parameter in model.secret_fields() else "parameter"
            problems.append(f"{where} {parameter}: {err['msg']}")
        raise PlanError(f"host {member.name} ({member.hostname}), {model.oci_class}: {'; '.join(problems)}") from None


def plan(
    cluster: str,
    spec: OpenStackClusterSpec,
    hosts: Iterable[ClusterHost],
    secrets: Mapping[str, str],
    pki: Pki,
    initial_cluster_setup: bool,
) -> Plan:
    """Every host's classes and parameters. Raises TopologyError or PlanError with what to fix."""
    check_overrides(spec)
    topo = topology(cluster, spec, hosts)
    if not topo.members:
        return Plan(())
    shared = _cluster_facts(cluster, spec, topo, initial_cluster_setup)
    planned = []
    for member in topo.members:
        facts = shared | _host_facts(cluster, member, topo, spec, pki)
        layers = _overrides_for(spec, member)
        role_class = ROLE_CLASS[member.role]
        classes = [_build(model, member, facts, secrets, {}, layers) for model in BASE_CLASSES]
        classes.append(_build(role_class, member, facts, secrets, for_role(member.role, spec.tunables), layers))
        planned.append(HostPlan(member.name, member.role, member.hostname, member.address, tuple(classes)))
    return Plan(tuple(planned))
