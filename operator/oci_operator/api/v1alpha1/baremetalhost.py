"""BareMetalHost: one physical server, its BMC, and where it stands in its life cycle."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field

from .hardware import MAC_PATTERN, BootReport, Convergence, DesiredState, HardwareDetails
from .meta import (
    AGE,
    KindInfo,
    PrinterColumn,
    Resource,
    StatusBase,
    WireModel,
    condition_column,
    reason_column,
)

# Only schemes with a driver are accepted: ipmi://host[:port] and Redfish (metal3's forms), whose
# optional path names the system (without one, the BMC's single system is used).
_BMC_HOST = r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?"
BMC_ADDRESS_PATTERN = (
    rf"^(ipmi://{_BMC_HOST}/?|redfish(\+https?)?://{_BMC_HOST}(/redfish/v1/Systems/[A-Za-z0-9._~%-]+)?/?)$"
)
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SHA256 = r"^[0-9a-f]{64}$"
IPMI_DEFAULT_PORT = 623
DEFAULT_PORTS = {"ipmi": IPMI_DEFAULT_PORT, "redfish": 443, "redfish+https": 443, "redfish+http": 80}

# Annotations users set on a host (metal3's names, in our group).
REBOOT_ANNOTATION = "reboot.oci.openstack.org"  # value: hard (default) or soft; removed once done
PAUSED_ANNOTATION = "paused.oci.openstack.org"  # any value: no BMC call, no status change
INSPECT_ANNOTATION = "inspect.oci.openstack.org"  # "disabled": registration leads straight to available


class BMCDetails(WireModel):
    """How to reach the server's baseboard management controller."""

    address: Annotated[
        str,
        Field(
            description=(
                "BMC address: ipmi://host[:port] (port 623 by default), or Redfish as "
                "redfish://host[:port][/redfish/v1/Systems/ID] (HTTPS; redfish+https:// is the same, "
                "redfish+http:// is plain HTTP). Without a system path the BMC's single system is used."
            ),
            pattern=BMC_ADDRESS_PATTERN,
            max_length=512,
        ),
    ]
    credentials_name: Annotated[
        str,
        Field(
            description="Name of a Secret in the host's namespace holding the keys 'username' and 'password'.",
            pattern=DNS_LABEL_PATTERN,
            min_length=1,
            max_length=253,
        ),
    ]
    disable_certificate_verification: Annotated[
        bool,
        Field(
            description=(
                "Skip TLS verification for HTTPS-based BMC protocols (unused by IPMI). Rather than this, "
                "put the BMC's CA (PEM) under the key 'ca.crt' of the credentials Secret."
            )
        ),
    ] = False

    @property
    def scheme(self) -> str:
        return urlsplit(self.address).scheme

    @property
    def host(self) -> str:
        return urlsplit(self.address).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.address)
        return parts.port or DEFAULT_PORTS.get(parts.scheme, IPMI_DEFAULT_PORT)


class RootDeviceHints(WireModel):
    """Which disk the operating system goes on; every hint given must match."""

    device_name: Annotated[
        str | None, Field(description="Linux device name, e.g. /dev/sda or /dev/disk/by-path/...")
    ] = None
    model: Annotated[str | None, Field(description="Substring of the disk's model string.")] = None
    vendor: Annotated[str | None, Field(description="Substring of the disk's vendor string.")] = None
    serial_number: Annotated[str | None, Field(description="Disk serial number, exact.")] = None
    wwn: Annotated[str | None, Field(description="World Wide Name, exact.")] = None
    min_size_gigabytes: Annotated[int | None, Field(description="Smallest acceptable size in GB.", ge=0)] = None
    rotational: Annotated[bool | None, Field(description="True for spinning disks, false for SSD/NVMe.")] = None
    software_raid: Annotated[
        bool, Field(description="Install on a software RAID1 of the two smallest matching disks.")
    ] = False


class ConsumerRef(WireModel):
    """Who uses the host (metal3's spec.consumerRef): written by the operator when an OpenStackCluster
    claims the host, cleared when it releases it. Users' manifests leave it out (docs/openstackcluster.md:
    GitOps tools compare only the fields a manifest sets, so the claim is not drift)."""

    api_version: Annotated[str, Field(description="API version of the consumer.", max_length=253)]
    kind: Annotated[str, Field(description="Kind of the consumer, e.g. OpenStackCluster.", max_length=63)]
    name: Annotated[str, Field(description="Name of the consumer, in the host's namespace.", max_length=253)]


class Image(WireModel):
    """A disk image the deploy ramdisk streams onto the root device (metal3's spec.image)."""

    url: Annotated[
        str,
        Field(description="http(s) URL the node downloads it from.", pattern=r"^https?://[^\s]+$", max_length=2048),
    ]
    checksum: Annotated[
        str, Field(description="sha256 of the image (64 hex digits), checked while it is written.", pattern=SHA256)
    ]
    format: Annotated[
        str,
        Field(description="Image format: raw, streamed as it is (no conversion on the node).", pattern="^raw$"),
    ] = "raw"


class ImageSource(StrEnum):
    HOST = "host"
    NODE_ROLE = "NodeRole"
    OPERATOR = "operator"


class ChosenImage(Image):
    """The image an install job writes, chosen when the job starts (kept for it, and after it: what is on
    the disk)."""

    source: Annotated[
        ImageSource,
        Field(
            description=(
                "Where it was chosen from, first found wins: the host's spec.image, its NodeRole's spec.image,"
                " the operator's --default-image-url."
            )
        ),
    ]


class BareMetalHostSpec(WireModel):
    """What the operator should make of the server."""

    bmc: Annotated[
        BMCDetails | None,
        Field(description="How to reach the BMC. Absent on discovered hosts, which stay unmanaged until it is set."),
    ] = None
    boot_mac_address: Annotated[
        str,
        Field(
            alias="bootMACAddress",
            description="MAC address of the NIC the host PXE-boots from.",
            pattern=MAC_PATTERN,
        ),
    ]
    online: Annotated[bool, Field(description="Desired power state: true for on.")] = False
    boot_mode: Annotated[Literal["UEFI", "legacy"], Field(description="Firmware boot mode.")] = "UEFI"
    role: Annotated[
        str | None,
        Field(
            description="Name of the NodeRole this host should converge to.",
            pattern=DNS_LABEL_PATTERN,
            max_length=253,
        ),
    ] = None
    root_device_hints: Annotated[
        RootDeviceHints | None, Field(description="Hints selecting the installation disk.")
    ] = None
    consumer_ref: Annotated[
        ConsumerRef | None,
        Field(description="The object that claimed the host (set by the operator for an OpenStackCluster)."),
    ] = None
    image: Annotated[
        Image | None,
        Field(
            description=(
                "Install by writing this image with the deploy ramdisk instead of running the Debian installer"
                " (the boot server needs --deploy-ramdisk). Unset: the NodeRole's spec.image, else the"
                " operator's default image, else the Debian installer (unless the operator requires an image)."
            )
        ),
    ] = None
    power_off_on_delete: Annotated[
        bool, Field(description="Power the server off when this BareMetalHost is deleted.")
    ] = True
    boot_device_control: Annotated[
        bool | None,
        Field(
            description=(
                "Set the boot device through the BMC (PXE for boot jobs, disk after installing). false: the server"
                " boots from the network first and the boot server's answer decides between a boot job and the"
                " local disk. Unset: the operator's --boot-device-control default."
            )
        ),
    ] = None


class ProvisioningState(StrEnum):
    DISCOVERED = "discovered"  # seen on the provisioning network; no BMC details yet
    REGISTERING = "registering"  # credentials being proven against the BMC
    INSPECTING = "inspecting"  # network-booted to report its hardware
    AVAILABLE = "available"  # inspected and managed: power follows spec.online
    PROVISIONING = "provisioning"  # network-booted into the Debian installer
    PROVISIONED = "provisioned"  # Debian on disk, booting from it
    DEPROVISIONING = "deprovisioning"  # network-booted to wipe its disks, then off


class OperationalStatus(StrEnum):
    """metal3's values where the meaning is the same; its `delayed` and `detached` have no counterpart here
    (a pass the BMC governor defers, or a paused host, writes nothing)."""

    OK = "OK"
    DISCOVERED = "discovered"  # seen on the provisioning network, spec.bmc not set yet
    ERROR = "error"


class ErrorType(StrEnum):
    REGISTRATION = "registration error"
    POWER_MANAGEMENT = "power management error"
    INSPECTION = "inspection error"
    PROVISIONING = "provisioning error"


class ProvisioningStatus(WireModel):
    """Where the host is in its life cycle, and the network boot job of that state if it has one."""

    state: Annotated[ProvisioningState, Field(description="Current provisioning state.")]
    boot_id: Annotated[
        str | None,
        Field(description="Current network boot job; its token Secret carries the same id.", max_length=64),
    ] = None
    boot_requested: Annotated[
        datetime | None, Field(description="When the network boot was recorded, before the BMC commands went out.")
    ] = None
    step: Annotated[str | None, Field(description="Last milestone the node reported for this job.")] = None
    root_device: Annotated[
        list[str] | None, Field(description="Disks chosen from rootDeviceHints (two for software RAID1).")
    ] = None
    image: Annotated[
        ChosenImage | None,
        Field(description="The image the install job writes or wrote (none: the Debian installer's install)."),
    ] = None


class CredentialsReference(WireModel):
    """The credentials Secret version last proven to work."""

    name: Annotated[str, Field(description="Secret name.")]
    resource_version: Annotated[str, Field(description="Secret resourceVersion that was validated.")]


class RebootMode(StrEnum):
    HARD = "hard"
    SOFT = "soft"


class RebootPhase(StrEnum):
    CYCLING = "cycling"  # a power cycle was sent (at most once)
    SHUTTING_DOWN = "shuttingDown"  # ACPI soft-off sent, waiting for the OS
    FORCING_OFF = "forcingOff"  # the OS did not stop in time: hard off sent


class PendingReboot(WireModel):
    """A reboot asked for with the reboot annotation, recorded before any command is sent."""

    mode: Annotated[RebootMode, Field(description="hard or soft.")]
    phase: Annotated[RebootPhase, Field(description="What was last sent to the BMC for this reboot.")]
    started: Annotated[datetime, Field(description="When the first command of this reboot was decided.")]


class PowerCommand(WireModel):
    """The last power command sent, recorded before sending so a restart never repeats it too soon."""

    action: Annotated[Literal["on", "off", "soft", "cycle", "reset"], Field(description="Power action.")]
    issued: Annotated[datetime, Field(description="When it was decided and recorded.")]
    resent: Annotated[
        bool, Field(description="Sent a second time because the power had not changed after the settle time.")
    ] = False


class CloudPlacement(WireModel):
    """The host's place in an OpenStackCluster, for `kubectl get bmh -o wide` (written by the cluster)."""

    cluster: Annotated[str, Field(description="The OpenStackCluster that took the host.", max_length=253)]
    role: Annotated[str, Field(description="The OCI role it plays (controller, compute...).", max_length=63)]
    hostname: Annotated[str, Field(description="The FQDN the cloud knows it by.", max_length=253)]
    address: Annotated[str, Field(description="Its management address.", max_length=45)]


class BareMetalHostStatus(StatusBase):
    """What the operator last observed and did."""

    provisioning: Annotated[ProvisioningStatus | None, Field(description="Life-cycle state.")] = None
    powered_on: Annotated[bool | None, Field(description="Power state last read from the BMC.")] = None
    operational_status: Annotated[
        OperationalStatus | None,
        Field(description="OK; discovered while spec.bmc is unset; error when errorType is set."),
    ] = None
    error_type: Annotated[ErrorType | None, Field(description="Class of the last error, empty when healthy.")] = None
    error_message: Annotated[str | None, Field(description="Details of the last error.")] = None
    error_count: Annotated[int, Field(description="Consecutive failed attempts; reset on success.", ge=0)] = 0
    good_credentials: Annotated[
        CredentialsReference | None, Field(description="Credentials Secret version last proven to work.")
    ] = None
    rejected_credentials: Annotated[
        CredentialsReference | None,
        Field(description="Credentials Secret version the BMC rejected (kept on show while the BMC is unheard)."),
    ] = None
    last_updated: Annotated[datetime | None, Field(description="When the operator last wrote this status.")] = None
    pending_reboot: Annotated[
        PendingReboot | None, Field(description="A reboot in progress (from the reboot annotation).")
    ] = None
    last_power_command: Annotated[PowerCommand | None, Field(description="The last power command sent.")] = None
    hardware: Annotated[
        HardwareDetails | None, Field(description="What inspection found (written by the boot server).")
    ] = None
    boot_report: Annotated[
        BootReport | None, Field(description="Last milestone of the current boot job (written by the boot server).")
    ] = None
    desired_state: Annotated[
        DesiredState | None, Field(description="The desired state rendered for the host from its NodeRole.")
    ] = None
    convergence: Annotated[
        Convergence | None, Field(description="The node agent's last run (written by the boot server).")
    ] = None
    selection: Annotated[
        dict[str, Annotated[str, Field(max_length=2048)]] | None,
        Field(description="Per OpenStackCluster of the namespace (key: its name), why it took or left out this host."),
    ] = None
    cloud: Annotated[
        CloudPlacement | None, Field(description="Role, hostname and address in the OpenStackCluster that took it.")
    ] = None


class BareMetalHost(Resource):
    """A physical server managed through its BMC."""

    info: ClassVar[KindInfo] = KindInfo(
        kind="BareMetalHost",
        plural="baremetalhosts",
        # `bmh` as in metal3; `ocibmh` is ours alone, for clusters that run both (kubectl picks one for bmh).
        short_names=("bmh", "ocibmh"),
        columns=(
            PrinterColumn("State", ".status.provisioning.state", description="Provisioning state."),
            condition_column("Ready"),
            reason_column("Ready"),
            PrinterColumn("Online", ".spec.online", type="boolean", description="Desired power state."),
            PrinterColumn("Powered", ".status.poweredOn", type="boolean", description="Observed power state."),
            PrinterColumn("Role", ".spec.role", description="NodeRole the host converges to."),
            PrinterColumn("Consumer", ".spec.consumerRef.name", priority=1, description="Who claimed the host."),
            PrinterColumn("Cloud-Role", ".status.cloud.role", priority=1, description="Its role in the cloud."),
            PrinterColumn("Hostname", ".status.cloud.hostname", priority=1, description="Its FQDN in the cloud."),
            PrinterColumn("Address", ".status.cloud.address", priority=1, description="Its management address."),
            # In the default view, as metal3 shows it: a host in trouble stands out without -o wide.
            PrinterColumn("Error", ".status.errorType", description="Class of the last error, empty when healthy."),
            PrinterColumn("Step", ".status.provisioning.step", priority=1, description="Last boot milestone."),
            condition_column("Converged", priority=1),
            PrinterColumn("BMC", ".spec.bmc.address", priority=1, description="BMC address."),
            PrinterColumn("MAC", ".spec.bootMACAddress", priority=1, description="Boot MAC address."),
            PrinterColumn("Status", ".status.operationalStatus", priority=1, description="OK, discovered or error."),
            AGE,
        ),
    )

    kind: Literal["BareMetalHost"] = "BareMetalHost"
    spec: BareMetalHostSpec
    status: BareMetalHostStatus = BareMetalHostStatus()
