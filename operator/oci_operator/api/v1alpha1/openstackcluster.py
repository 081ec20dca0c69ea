"""OpenStackCluster: one cloud built from bare-metal hosts, installed by Debian's puppet-module-oci."""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, WithJsonSchema, model_validator

from .meta import AGE, KindInfo, PrinterColumn, Resource, StatusBase, WireModel, condition_column, reason_column

CLUSTER_LABEL = "oci.openstack.org/cluster"
"""Label naming the OpenStackCluster a BareMetalHost belongs to."""
CLOUD_ROLE_LABEL = "oci.openstack.org/cloud-role"
"""Label naming the OCI role (controller, compute, ...) a BareMetalHost plays in its cluster."""
HOSTNAME_ANNOTATION = "oci.openstack.org/hostname"
"""Optional annotation: the host's own FQDN instead of <cluster>-<role>-<N>.<domain>."""
ADDRESS_ANNOTATION = "oci.openstack.org/management-address"
"""Optional annotation: the host's management address instead of one taken from the cluster's range."""
KEEP_HOSTS_ANNOTATION = "oci.openstack.org/keep-hosts"
"""On an OpenStackCluster (any value but "false"): deleting it leaves its hosts installed, with their
NodeRoles and Secrets; only the claims go."""
DATA_DISKS_ANNOTATION = "oci.openstack.org/data-disks"
"""Optional annotation: the disks OSDs, swift or cinder take (e.g. "sdb,sdc"); else inspection's disks but
the first."""


class CloudRole(StrEnum):
    """The roles of OCI's machines this operator installs (one puppet-module-oci class each)."""

    CONTROLLER = "controller"
    COMPUTE = "compute"
    NETWORK = "network"
    MESSAGING = "messaging"
    SQL = "sql"
    VOLUME = "volume"
    CEPHMON = "cephmon"
    CEPHOSD = "cephosd"
    SWIFTPROXY = "swiftproxy"
    SWIFTSTORE = "swiftstore"
    TEMPEST = "tempest"


IPV4 = r"^(\d{1,3}\.){3}\d{1,3}$"
CIDR = r"^(\d{1,3}\.){3}\d{1,3}/\d{1,2}$"
FQDN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"
DNS_DOMAIN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$"

IPv4 = Annotated[str, Field(pattern=IPV4, max_length=15)]


def _check_ip(value: str, what: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(value)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


class AddressRange(WireModel):
    """The management addresses hosts are given, first to last (inclusive)."""

    start: Annotated[str, Field(description="First address hosts may get.", pattern=IPV4)]
    end: Annotated[str, Field(description="Last address hosts may get.", pattern=IPV4)]


class ManagementNetwork(WireModel):
    """The private network OCI calls the management network: puppet, APIs, peers."""

    cidr: Annotated[str, Field(description="Network in CIDR notation, e.g. 10.20.0.0/24.", pattern=CIDR)]
    gateway: Annotated[str, Field(description="Default gateway of the hosts.", pattern=IPV4)]
    address_range: Annotated[AddressRange, Field(description="The range host addresses are taken from.")]
    dns_servers: Annotated[list[IPv4], Field(description="DNS resolvers of the hosts.", min_length=1, max_length=3)]
    ntp_servers: Annotated[
        list[Annotated[str, Field(max_length=253)]],
        Field(description="NTP servers (OCI's time_server_host is the first).", min_length=1, max_length=8),
    ]
    interface: Annotated[
        str, Field(description="Interface the management address lives on (OCI's machine_iface).", max_length=15)
    ] = "eth0"

    @model_validator(mode="after")
    def _consistent(self) -> ManagementNetwork:
        try:
            net = ipaddress.IPv4Network(self.cidr, strict=True)
        except ValueError as exc:
            raise ValueError(f"cidr: {exc}") from None
        for what, value in (
            ("gateway", self.gateway),
            ("addressRange.start", self.address_range.start),
            ("addressRange.end", self.address_range.end),
        ):
            if _check_ip(value, what) not in net:
                raise ValueError(f"{what} {value} is outside {self.cidr}")
        if _check_ip(self.address_range.start, "start") > _check_ip(self.address_range.end, "end"):
            raise ValueError("addressRange.start comes after addressRange.end")
        return self

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.cidr)


class VirtualIP(WireModel):
    """An address corosync moves between controllers (or messaging nodes), and its DNS name."""

    address: Annotated[str, Field(description="The VIP's IPv4 address.", pattern=IPV4)]
    hostname: Annotated[
        str | None, Field(description="The FQDN clients use (the API VIP needs one).", pattern=FQDN, max_length=253)
    ] = None


class CertificateSettings(WireModel):
    """The cluster CA's host and VIP certificates."""

    validity_days: Annotated[int, Field(description="Lifetime of a host or VIP certificate.", ge=2, le=3650)] = 365
    renew_before_days: Annotated[
        int, Field(description="Renew a certificate this many days before it expires.", ge=1, le=3649)
    ] = 30

    @model_validator(mode="after")
    def _renew_inside_validity(self) -> CertificateSettings:
        if self.renew_before_days >= self.validity_days:
            raise ValueError("renewBeforeDays must be shorter than validityDays")
        return self


ParameterMap = Annotated[
    dict[str, dict[str, Any]],
    WithJsonSchema(
        {
            "type": "object",
            "description": "puppet-module-oci class (e.g. oci::controller) -> parameter -> value.",
            "x-kubernetes-preserve-unknown-fields": True,
        }
    ),
]


class Overrides(WireModel):
    """Parameters pasted over the computed ones, like OCI's hiera overlays (all, roles/ROLE, nodes/HOST).
    Each parameter is checked against the class's known parameters: an unknown name is refused."""

    all: Annotated[ParameterMap, Field(default_factory=dict, description="Overrides for every host.")]
    roles: Annotated[
        dict[str, ParameterMap], Field(default_factory=dict, description="Overrides per role (key: role name).")
    ]
    hosts: Annotated[
        dict[str, ParameterMap],
        Field(default_factory=dict, description="Overrides per host (key: BareMetalHost name or its FQDN)."),
    ]

    @model_validator(mode="after")
    def _roles_exist(self) -> Overrides:
        unknown = sorted(set(self.roles) - {r.value for r in CloudRole})
        if unknown:
            raise ValueError(f"overrides.roles: {', '.join(unknown)} is not a role ({', '.join(CloudRole)})")
        return self


class Tunables(WireModel):
    """The per-cluster variables of OCI's variables.json the classes need, with OCI's defaults."""

    admin_email_address: Annotated[str, Field(description="Where the hosts' mail goes.", max_length=253)] = (
        "admin@example.com"
    )
    mail_relay_host: Annotated[str, Field(description="SMTP relay of the hosts.", max_length=253)] = "mail.example.com"
    http_proxy: Annotated[
        str | None, Field(description="HTTP proxy (host:port) the hosts use; none when unset.", max_length=253)
    ] = None
    api_rate_limit_whitelist: Annotated[
        list[Annotated[str, Field(pattern=CIDR)]],
        Field(
            default_factory=lambda: ["10.4.38.0/24"],
            description="Networks haproxy never rate-limits on the API (oci::controller splits it).",
        ),
    ]
    api_disable_rate_limit: Annotated[bool, Field(description="Disable the API rate limit.")] = False
    api_iptables_rate_limit: Annotated[int, Field(description="Connections/s per source at iptables.", ge=1)] = 100
    api_haproxy_rate_limit: Annotated[int, Field(description="Requests/s per source at haproxy.", ge=1)] = 80
    neutron_global_physnet_mtu: Annotated[int, Field(description="MTU of the physical networks.", ge=576)] = 8950
    neutron_path_mtu: Annotated[int, Field(description="MTU of the tunnelled paths.", ge=576)] = 1550
    neutron_dns_domain: Annotated[
        str, Field(description="DNS domain neutron gives ports (trailing dot).", max_length=253)
    ] = "example.com."
    neutron_use_dvr: Annotated[bool, Field(description="Distributed virtual routers.")] = True
    neutron_vxlan_vni_min: Annotated[int, Field(description="First VXLAN VNI.", ge=1)] = 1000
    neutron_vxlan_vni_max: Annotated[int, Field(description="Last VXLAN VNI.", ge=1)] = 9999
    neutron_external_network_name: Annotated[
        str, Field(description="Name of the external (provider) network.", max_length=64)
    ] = "external"
    install_octavia: Annotated[bool, Field(description="Install Octavia (load balancers).")] = True
    install_telemetry: Annotated[bool, Field(description="Install ceilometer, gnocchi, aodh.")] = True
    install_designate: Annotated[bool, Field(description="Install Designate (DNS).")] = False
    install_magnum: Annotated[bool, Field(description="Install Magnum (container clusters).")] = False
    cpu_allocation_ratio: Annotated[float, Field(description="Nova CPU overcommit.", ge=0.01)] = 16.0
    ram_allocation_ratio: Annotated[float, Field(description="Nova RAM overcommit.", ge=0.01)] = 1.5
    disk_allocation_ratio: Annotated[float, Field(description="Nova disk overcommit.", ge=0.01)] = 1.0
    nova_reserved_host_memory_mb: Annotated[int, Field(description="RAM kept for the hypervisor.", ge=0)] = 16384
    haproxy_timeout_client: Annotated[str, Field(description="haproxy client timeout.", max_length=16)] = "1m"
    haproxy_timeout_server: Annotated[str, Field(description="haproxy server timeout.", max_length=16)] = "1m"
    tempest_image_name: Annotated[str, Field(description="Glance image tempest boots.", max_length=255)] = (
        "debian-12-generic-amd64"
    )
    tempest_image_path: Annotated[
        str, Field(description="Where the tempest node finds that image.", max_length=4096)
    ] = "/root/debian-12-generic-amd64.qcow2"
    tempest_image_user: Annotated[str, Field(description="SSH user of that image.", max_length=64)] = "debian"
    tempest_flavor_name: Annotated[str, Field(description="Nova flavor tempest uses.", max_length=255)] = "demo-flavor"
    tempest_floating_network_name: Annotated[
        str, Field(description="Neutron network tempest takes floating IPs from.", max_length=255)
    ] = "ext-floating1"

    @model_validator(mode="after")
    def _vni_order(self) -> Tunables:
        if self.neutron_vxlan_vni_min > self.neutron_vxlan_vni_max:
            raise ValueError("neutronVxlanVniMin is above neutronVxlanVniMax")
        return self


class RoleCounts(WireModel):
    """How many hosts each role has; a role left out has none."""

    controller: Annotated[int, Field(description="Hosts with the controller role.", ge=0, le=10000)] = 0
    compute: Annotated[int, Field(description="Hosts with the compute role.", ge=0, le=10000)] = 0
    network: Annotated[int, Field(description="Hosts with the network role.", ge=0, le=10000)] = 0
    messaging: Annotated[int, Field(description="Hosts with the messaging role.", ge=0, le=10000)] = 0
    sql: Annotated[int, Field(description="Hosts with the sql role.", ge=0, le=10000)] = 0
    volume: Annotated[int, Field(description="Hosts with the volume role.", ge=0, le=10000)] = 0
    cephmon: Annotated[int, Field(description="Hosts with the cephmon role.", ge=0, le=10000)] = 0
    cephosd: Annotated[int, Field(description="Hosts with the cephosd role.", ge=0, le=10000)] = 0
    swiftproxy: Annotated[int, Field(description="Hosts with the swiftproxy role.", ge=0, le=10000)] = 0
    swiftstore: Annotated[int, Field(description="Hosts with the swiftstore role.", ge=0, le=10000)] = 0
    tempest: Annotated[int, Field(description="Hosts with the tempest role.", ge=0, le=10000)] = 0

    def counts(self) -> dict[CloudRole, int]:
        return {role: getattr(self, role.value) for role in CloudRole if getattr(self, role.value)}


PROFILE_NAME = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
LABEL_KEY = r"^([a-z0-9]([a-z0-9.-]*[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$"
LABEL_VALUE = r"^([A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?)?$"


class HardwareProfile(WireModel):
    """What a host must have to take a role, in the spirit of OCI's hardware-profiles.json; matched
    against the host's status.hardware. A limit left out does not apply."""

    name: Annotated[str, Field(description="Profile name, used in explanations.", pattern=PROFILE_NAME, max_length=63)]
    product_names: Annotated[
        list[Annotated[str, Field(max_length=256)]],
        Field(default_factory=list, description="DMI product names accepted (exact); any when empty.", max_length=64),
    ]
    ram_min_gib: Annotated[int | None, Field(description="Least RAM in GiB.", ge=0)] = None
    ram_max_gib: Annotated[int | None, Field(description="Most RAM in GiB.", ge=0)] = None
    cpu_count_min: Annotated[int | None, Field(description="Least logical CPUs.", ge=0)] = None
    cpu_count_max: Annotated[int | None, Field(description="Most logical CPUs.", ge=0)] = None
    disk_count_min: Annotated[int | None, Field(description="Least disks that qualify (size, kind).", ge=0)] = None
    disk_count_max: Annotated[int | None, Field(description="Most disks that qualify (size, kind).", ge=0)] = None
    disk_min_gib: Annotated[int | None, Field(description="A disk qualifies from this size in GiB.", ge=0)] = None
    disk_rotational: Annotated[
        bool | None, Field(description="A disk qualifies only if spinning (true) or solid-state (false).")
    ] = None
    nic_count_min: Annotated[int | None, Field(description="Least NICs that qualify (speed).", ge=0)] = None
    nic_speed_min_mbps: Annotated[int | None, Field(description="A NIC qualifies from this link speed.", ge=0)] = None

    @model_validator(mode="after")
    def _ranges(self) -> HardwareProfile:
        for low, high in (("ram_min_gib", "ram_max_gib"), ("cpu_count_min", "cpu_count_max"),
                          ("disk_count_min", "disk_count_max")):  # fmt: skip
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"profile {self.name}: {low} is above {high}")
        return self


class RoleSelection(WireModel):
    """How a role takes available hosts: labels they must carry and/or hardware profiles (first that
    matches wins; the order is a preference)."""

    match_labels: Annotated[
        dict[str, Annotated[str, Field(pattern=LABEL_VALUE, max_length=63)]],
        Field(default_factory=dict, description="Labels a host must carry (all of them)."),
    ]
    profiles: Annotated[
        list[Annotated[str, Field(pattern=PROFILE_NAME, max_length=63)]],
        Field(default_factory=list, description="Names of spec.hardwareProfiles; any hardware when empty.",
              max_length=32),
    ]  # fmt: skip

    @model_validator(mode="after")
    def _label_keys(self) -> RoleSelection:
        # Checked here: a CRD schema cannot constrain map keys (no patternProperties in structural schemas).
        bad = [k for k in self.match_labels if len(k) > 317 or not re.match(LABEL_KEY, k)]
        if bad:
            raise ValueError(f"matchLabels: {', '.join(sorted(bad))} is not a label key")
        return self


class OpenStackClusterSpec(WireModel):
    """The cloud's desired shape: what OCI's cluster record and its ENC inputs hold."""

    description: Annotated[str | None, Field(description="What this cloud is for.", max_length=1024)] = None
    openstack_release: Annotated[
        str, Field(description="OpenStack release (Debian 12 ships zed).", pattern=r"^[a-z]+$", max_length=32)
    ] = "zed"
    region: Annotated[str, Field(description="Keystone region name.", min_length=1, max_length=64)] = "RegionOne"
    domain: Annotated[str, Field(description="DNS domain of the hosts.", pattern=DNS_DOMAIN, max_length=200)]
    management_network: Annotated[ManagementNetwork, Field(description="The hosts' private network.")]
    api_vip: Annotated[VirtualIP, Field(description="The public API's VIP (address and hostname required).")]
    sql_vip: Annotated[VirtualIP | None, Field(description="A separate VIP for SQL nodes.")] = None
    messaging_vip: Annotated[VirtualIP | None, Field(description="A separate VIP for messaging nodes.")] = None
    roles: Annotated[RoleCounts, Field(description="How many hosts each role has (e.g. controller: 3).")]
    tunables: Annotated[Tunables, Field(default_factory=Tunables, description="OCI's per-cluster variables.")]
    overrides: Annotated[Overrides, Field(description="Class parameters set by hand, per role or host.")] = Overrides()
    certificates: Annotated[
        CertificateSettings, Field(default_factory=CertificateSettings, description="Host and VIP certificates.")
    ]
    hardware_profiles: Annotated[
        list[HardwareProfile],
        Field(default_factory=list, description="Hardware profiles roles select hosts by.", max_length=64),
    ]
    provisioning_limit: Annotated[
        int, Field(description="Most hosts provisioning at once during the roll-out (metal3's default).", ge=1,
                   le=10000)
    ] = 20  # fmt: skip
    selection: Annotated[
        dict[str, RoleSelection],
        Field(
            default_factory=dict,
            description="Per role (key: role name), which available hosts it takes. A role left out takes the "
            "hosts labelled with the cluster and the role.",
        ),
    ]

    @model_validator(mode="after")
    def _vips(self) -> OpenStackClusterSpec:
        if not self.api_vip.hostname:
            # Without it OCI's catalog holds URLs like https://:443/identity and still compiles.
            raise ValueError("apiVip.hostname is required (oci::controller's vip_hostname)")
        names = [p.name for p in self.hardware_profiles]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"hardwareProfiles: {', '.join(twice)} defined twice")
        unknown_roles = sorted(set(self.selection) - {r.value for r in CloudRole})
        if unknown_roles:
            raise ValueError(f"selection: {', '.join(unknown_roles)} is not a role ({', '.join(CloudRole)})")
        for role, chosen in sorted(self.selection.items()):
            missing = [p for p in chosen.profiles if p not in names]
            if missing:
                raise ValueError(f"selection.{role}.profiles: {', '.join(missing)} is not in hardwareProfiles")
        return self


class RoleStatus(WireModel):
    """How far one role is: hosts wanted, taken, installed, converged, failed."""

    desired: Annotated[int, Field(description="Hosts the spec asks for.", ge=0)] = 0
    assigned: Annotated[int, Field(description="Hosts selection gave the role.", ge=0)] = 0
    provisioned: Annotated[int, Field(description="Assigned hosts with Debian installed.", ge=0)] = 0
    converged: Annotated[int, Field(description="Assigned hosts converged for their current desired state.", ge=0)] = 0
    failed: Annotated[int, Field(description="Assigned hosts whose provisioning or convergence failed.", ge=0)] = 0
    short_reason: Annotated[
        str | None, Field(description="Why the role has fewer hosts than desired (selection's summary).",
                          max_length=4096)
    ] = None  # fmt: skip


class HostStatus(WireModel):
    """One host the cluster took: its role, name and address (recorded here so they never move)."""

    role: Annotated[CloudRole, Field(description="The OCI role the host plays.")]
    hostname: Annotated[str | None, Field(description="The host's FQDN.", pattern=FQDN, max_length=253)] = None
    address: Annotated[str | None, Field(description="The host's management address.", pattern=IPV4)] = None
    profile: Annotated[
        str | None, Field(description="The hardware profile that matched.", pattern=PROFILE_NAME, max_length=63)
    ] = None


class RolloutStatus(WireModel):
    """Where OCI's install order stands. Hosts are recorded as released before any of them is touched."""

    step: Annotated[
        str | None, Field(description='Current step and its progress, e.g. "controller 2/3".', max_length=256)
    ] = None
    phase: Annotated[
        Literal["Progressing", "Paused", "Short", "Failed", "Complete"] | None,
        Field(description="Progressing, Paused, Short (a role lacks hosts), Failed or Complete."),
    ] = None
    released: Annotated[
        list[Annotated[str, Field(max_length=253)]],
        Field(default_factory=list, description="Hosts the roll-out let provision (BareMetalHost names)."),
    ]


class OpenStackClusterStatus(StatusBase):
    """Validation, secrets and plan of the cloud."""

    secrets_in_use: Annotated[
        bool | None,
        Field(description="The cluster secrets were handed to hosts: losing them must stop the cluster."),
    ] = None
    planned_hosts: Annotated[int | None, Field(description="Hosts in the last plan.", ge=0)] = None
    initial_setup_done: Annotated[
        bool | None,
        Field(
            description="The controllers' first puppet runs succeeded (OCI's initial_cluster_setup turns false); "
            "recorded by the roll-out."
        ),
    ] = None
    roles: Annotated[
        dict[str, RoleStatus] | None, Field(description="Per role (key: role name): desired, assigned, ... hosts.")
    ] = None
    hosts: Annotated[
        dict[str, HostStatus] | None,
        Field(description="Per BareMetalHost name: its role, hostname and management address."),
    ] = None
    rollout: Annotated[RolloutStatus | None, Field(description="Where OCI's install order stands.")] = None


class OpenStackCluster(Resource):
    """An OpenStack cloud installed onto bare-metal hosts."""

    info: ClassVar[KindInfo] = KindInfo(
        kind="OpenStackCluster",
        plural="openstackclusters",
        short_names=("osc",),
        columns=(
            condition_column("Ready"),
            reason_column("Ready"),
            PrinterColumn("Hosts", ".status.plannedHosts", type="integer", description="Hosts in the last plan."),
            PrinterColumn("Step", ".status.rollout.step", description='Current roll-out step, e.g. "controller 2/3".'),
            AGE,
        ),
    )

    kind: Literal["OpenStackCluster"] = "OpenStackCluster"
    spec: OpenStackClusterSpec
    status: OpenStackClusterStatus = OpenStackClusterStatus()
