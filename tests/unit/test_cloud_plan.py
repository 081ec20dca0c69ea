"""The plan function on issue 10's three topologies: peers, first master and first rabbit, the choices
that follow from the roles present, every value the class models require; and the refusals."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from oci_operator.api.v1alpha1.openstackcluster import CloudRole, OpenStackClusterSpec
from oci_operator.cloud import secrets
from oci_operator.cloud.classes import ROLE_CLASS, known_parameters
from oci_operator.cloud.pki import References
from oci_operator.cloud.plan import Plan, PlanError, plan
from oci_operator.cloud.topology import ClusterHost, TopologyError
from support.cloud import CLUSTER, LARGE, MINIMAL, WITH_CEPH, hosts_for, spec_dict, spec_for

DOMAIN = "cloud1.example.net"


def fqdn(role: str, n: int) -> str:
    return f"{CLUSTER}-{role}-{n}.{DOMAIN}"


def make(roles: dict[CloudRole, int], hosts: list[ClusterHost] | None = None, **extra: Any) -> Plan:
    return plan(
        CLUSTER,
        spec_for(roles, **extra),
        hosts_for(roles) if hosts is None else hosts,
        secrets.references(),
        References(),
        initial_cluster_setup=True,
    )


def params(the_plan: Plan, hostname: str, cls: str | None = None) -> dict[str, Any]:
    host = next(h for h in the_plan.hosts if h.hostname == hostname)
    classes = host.enc()["classes"]
    return classes[cls or ROLE_CLASS[host.role].oci_class]


def test_minimal_peers_first_master_and_choices() -> None:
    p = make(MINIMAL)
    assert [h.hostname for h in p.hosts] == sorted(h.hostname for h in p.hosts)
    masters = [fqdn("controller", n) for n in (1, 2, 3)]
    c1, c2 = params(p, masters[0]), params(p, masters[1])
    assert c1["all_masters"] == masters
    assert c1["all_masters_ip"] == ["10.20.0.10", "10.20.0.11", "10.20.0.12"]
    assert c1["first_master"] == masters[0]
    assert (c1["is_first_master"], c2["is_first_master"]) == (True, False)
    assert c2["other_masters"] == [masters[0], masters[2]]
    assert c1["non_first_master_controllers"] == masters[1:]
    # No messaging nodes: RabbitMQ on the controllers, no notification rabbits.
    assert c1["messaging_nodes_for_notifs"] is False
    assert "all_rabbits" not in c1
    # No network nodes: controllers do SNAT through br-ex, computes run DHCP agents.
    assert c1["has_subrole_network_node"] is True
    assert c1["machine_iface"] == "br-ex"
    compute = params(p, fqdn("compute", 1))
    assert compute["has_subrole_dhcp_agent"] is True
    # No ceph OSDs: glance on files, the controllers would be the MONs.
    assert c1["cluster_has_osds"] is False
    assert c1["glance_backend"] == "file"
    assert c1["ceph_mon_host"] == "10.20.0.10,10.20.0.11,10.20.0.12"
    assert c1["ceph_mon_initial_members"] == "cloud1-controller-1,cloud1-controller-2,cloud1-controller-3"
    assert c1["initial_cluster_setup"] is True
    assert c1["vip_hostname"] == "api.cloud1.example.net"
    assert compute["pass_nova_ssh_priv"] == "<secret:nova_ssh_priv>"
    assert params(p, masters[0], "oci::generic")["machine_role"] == "controller"


def test_with_ceph_mons_and_osds() -> None:
    p = make(WITH_CEPH)
    c1 = params(p, fqdn("controller", 1))
    mons = [fqdn("cephmon", n) for n in (1, 2, 3)]
    mon_ips = [params(p, m)["machine_ip"] for m in mons]
    assert c1["ceph_mon_host"] == ",".join(mon_ips)
    assert c1["ceph_mon_initial_members"] == ",".join(m.split(".")[0] for m in mons)
    assert c1["cluster_has_osds"] is True
    assert c1["cluster_has_mons"] is True
    assert c1["glance_backend"] == "ceph"
    assert c1["cinder_backup_backend"] == "ceph"
    assert c1["has_subrole_cinder"] is True
    osd = params(p, fqdn("cephosd", 1))
    assert osd["block_devices"] == ["sdb", "sdc"]
    assert osd["ceph_fsid"] == "<secret:ceph_fsid>"
    assert params(p, fqdn("compute", 2))["use_ceph_if_available"] is True


def test_large_first_rabbit_and_dedicated_roles() -> None:
    p = make(LARGE)
    rabbits = [fqdn("messaging", n) for n in (1, 2, 3)]
    m1, m2 = params(p, rabbits[0]), params(p, rabbits[1])
    assert m1["first_rabbit"] == m2["first_rabbit"] == rabbits[0]
    assert (m1["is_first_rabbit"], m2["is_first_rabbit"]) == (True, False)
    assert m1["all_rabbits"] == rabbits
    assert m1["all_rabbits_ids"] == [1, 2, 3]
    assert m2["messaging_other_nodes"] == [rabbits[0], rabbits[2]]
    assert m1["messaging_vip_ipaddr"] == "10.20.0.6"
    c1 = params(p, fqdn("controller", 1))
    assert c1["messaging_nodes_for_notifs"] is True
    assert c1["all_rabbits"] == rabbits
    # Network nodes present: controllers keep eth0 and no SNAT, computes run no DHCP agent.
    assert c1["has_subrole_network_node"] is False
    assert c1["machine_iface"] == "eth0"
    assert params(p, fqdn("compute", 1))["has_subrole_dhcp_agent"] is False
    # Swift present: cinder-backup prefers swift, glance prefers ceph (OCI's defaults).
    assert c1["cinder_backup_backend"] == "swift"
    assert c1["glance_backend"] == "ceph"
    assert c1["has_subrole_swift"] is True
    assert c1["all_swiftproxy"] == [fqdn("swiftproxy", 1), fqdn("swiftproxy", 2)]
    stores = [params(p, fqdn("swiftstore", n)) for n in (1, 2, 3)]
    assert [s["zoneid"] for s in stores] == [1, 2, 3]
    assert stores[0]["all_swiftstore"] == [fqdn("swiftstore", n) for n in (1, 2, 3)]
    assert params(p, fqdn("tempest", 1))["cluster_has_swift"] is True
    assert {h.role for h in p.hosts} == set(LARGE)


@pytest.mark.parametrize("roles", [MINIMAL, WITH_CEPH, LARGE], ids=["minimal", "ceph", "large"])
def test_every_required_value_is_present_and_known_to_the_module(roles: dict[CloudRole, int]) -> None:
    p = make(roles)
    assert len(p.hosts) == sum(roles.values())
    known = known_parameters()
    for host in p.hosts:
        classes = host.enc()["classes"]
        assert set(classes) == {"oci::generic", "oci::filebeat", ROLE_CLASS[host.role].oci_class}
        for cls in host.classes:
            values = cls.parameters()
            required = {n for n, f in type(cls).model_fields.items() if f.is_required()}
            assert required <= set(values), f"{host.hostname} {cls.oci_class}: {required - set(values)}"
            assert None not in values.values()
            assert set(values) <= known[cls.oci_class], set(values) - known[cls.oci_class]


def test_hostnames_and_addresses_come_from_the_role_blocks() -> None:
    p = make(WITH_CEPH)
    placed = {h.hostname: h.address for h in p.hosts}
    # Blocks in role order, sized by the declared counts: controllers .10-.12, computes .13-.14, ...
    assert placed[fqdn("controller", 1)] == "10.20.0.10"
    assert placed[fqdn("compute", 2)] == "10.20.0.14"
    assert placed[fqdn("cephmon", 1)] == "10.20.0.15"
    assert placed[fqdn("cephosd", 3)] == "10.20.0.20"
    # The host named bmh-controller-z sorts last, so it is controller 3.
    assert p.host("bmh-controller-z").hostname == fqdn("controller", 3)


def test_a_host_keeps_its_own_name_and_address() -> None:
    hosts = hosts_for(MINIMAL)
    hosts[0] = ClusterHost(hosts[0].name, hosts[0].role, hostname="alpha.cloud1.example.net", address="10.20.0.150")
    p = make(MINIMAL, hosts)
    own = p.host(hosts[0].name)
    assert (own.hostname, own.address) == ("alpha.cloud1.example.net", "10.20.0.150")
    assert params(p, own.hostname)["is_first_master"] is True  # alpha sorts first


def test_overrides_apply_per_role_and_host_in_order() -> None:
    overrides = {
        "all": {"oci::generic": {"use_http_proxy": True, "http_proxy_addr": "proxy:3128"}},
        "roles": {"compute": {"oci::compute": {"nested_virt": True}}},
        "hosts": {fqdn("compute", 2): {"oci::compute": {"nested_virt": False}}},
    }
    p = make(MINIMAL, overrides=overrides)
    assert params(p, fqdn("compute", 1))["nested_virt"] is True
    assert params(p, fqdn("compute", 2))["nested_virt"] is False
    assert params(p, fqdn("controller", 1), "oci::generic")["http_proxy_addr"] == "proxy:3128"


def test_tunables_reach_the_role_class_with_oci_defaults() -> None:
    p = make(MINIMAL, tunables={"apiRateLimitWhitelist": ["10.0.0.0/8", "192.168.0.0/16"]})
    c1 = params(p, fqdn("controller", 1))
    assert c1["api_rate_limit_whitelist"] == "10.0.0.0/8 192.168.0.0/16"  # the class splits on spaces
    assert c1["neutron_vxlan_vni_min"] == 1000
    assert c1["install_octavia"] is True
    compute = params(p, fqdn("compute", 1))
    assert compute["cpu_allocation_ratio"] == 16.0
    assert "api_rate_limit_whitelist" not in compute


# Refusals: each names what to fix.


def test_two_controllers_is_an_invalid_topology() -> None:
    roles = {CloudRole.CONTROLLER: 2, CloudRole.COMPUTE: 1}
    with pytest.raises(TopologyError, match="role controller needs at least 3 hosts, the cluster declares 2"):
        make(roles)


def test_more_hosts_than_addresses() -> None:
    spec = spec_dict(MINIMAL)
    spec["managementNetwork"]["addressRange"] = {"start": "10.20.0.10", "end": "10.20.0.13"}
    with pytest.raises(TopologyError, match="the roles declare 5 hosts but addressRange holds 4 addresses"):
        plan(CLUSTER, OpenStackClusterSpec.model_validate(spec), [], secrets.references(), References(), True)


def test_more_hosts_than_the_role_declares_names_the_extra_host() -> None:
    hosts = [*hosts_for(MINIMAL), ClusterHost("bmh-compute-a", CloudRole.COMPUTE)]
    with pytest.raises(TopologyError, match=r"role compute declares 2 hosts but 3 carry it \(extra: bmh-compute-z\)"):
        make(MINIMAL, hosts)


def test_quorum_roles_and_swift_pairs() -> None:
    with pytest.raises(TopologyError) as caught:
        make(MINIMAL | {CloudRole.CEPHMON: 2, CloudRole.SWIFTSTORE: 3})
    assert "role cephmon forms a quorum: declare none or at least 3, not 2" in caught.value.problems
    assert "swift needs both swiftproxy and swiftstore hosts (or neither)" in caught.value.problems


def test_messaging_nodes_need_their_vip() -> None:
    spec = spec_dict(LARGE)
    del spec["messagingVip"]
    with pytest.raises(TopologyError, match="messagingVip"):
        plan(CLUSTER, OpenStackClusterSpec.model_validate(spec), [], secrets.references(), References(), True)


def test_unknown_override_parameter_is_refused_with_its_name() -> None:
    overrides = {"roles": {"compute": {"oci::compute": {"nested_virtualisation": True}}}}
    with pytest.raises(
        PlanError, match=r"overrides.roles.compute.oci::compute: nested_virtualisation is not a parameter"
    ):
        make(MINIMAL, overrides=overrides)


def test_override_of_an_unknown_class_or_role_is_refused() -> None:
    with pytest.raises(PlanError, match="'oci::nova' is not a class the operator feeds"):
        make(MINIMAL, overrides={"all": {"oci::nova": {"x": 1}}})
    with pytest.raises(ValidationError, match=r"overrides.roles: computes is not a role"):
        spec_for(MINIMAL, overrides={"roles": {"computes": {}}})


def test_wrong_type_is_refused_naming_the_parameter_and_host() -> None:
    overrides = {"hosts": {"bmh-controller-z": {"oci::controller": {"initial_cluster_setup": "yes"}}}}
    with pytest.raises(PlanError) as caught:
        make(MINIMAL, overrides=overrides)
    message = str(caught.value)
    assert "host bmh-controller-z" in message
    assert "oci::controller" in message
    assert "parameter initial_cluster_setup: Input should be a valid boolean" in message


def test_a_list_given_as_a_string_is_refused() -> None:
    overrides = {"roles": {"controller": {"oci::controller": {"all_masters_ip": "10.20.0.10"}}}}
    with pytest.raises(PlanError, match="parameter all_masters_ip: Input should be a valid list"):
        make(MINIMAL, overrides=overrides)


def test_missing_secret_is_refused_naming_the_parameter_and_host() -> None:
    partial = {k: v for k, v in secrets.references().items() if k != "rabbitmq_cookie"}
    with pytest.raises(PlanError) as caught:
        plan(CLUSTER, spec_for(MINIMAL), hosts_for(MINIMAL), partial, References(), True)
    message = str(caught.value)
    assert "oci::controller" in message
    assert "secret pass_rabbitmq_cookie: Field required" in message
    assert "host bmh-controller-" in message


def test_missing_value_through_override_is_refused() -> None:
    overrides = {"roles": {"compute": {"oci::compute": {"vip_hostname": None}}}}
    with pytest.raises(PlanError, match="parameter vip_hostname: Field required"):
        make(MINIMAL, overrides=overrides)


def test_api_vip_needs_a_hostname() -> None:
    spec = spec_dict(MINIMAL)
    del spec["apiVip"]["hostname"]
    with pytest.raises(ValidationError, match="vip_hostname"):
        OpenStackClusterSpec.model_validate(spec)


def test_no_hosts_is_an_empty_plan_and_computes_alone_are_refused() -> None:
    assert make(MINIMAL, []).hosts == ()
    with pytest.raises(TopologyError, match="first master is unknown"):
        make(MINIMAL, [ClusterHost("bmh-compute-a", CloudRole.COMPUTE)])
