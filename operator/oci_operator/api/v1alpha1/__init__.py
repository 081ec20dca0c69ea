"""oci.openstack.org/v1alpha1."""

from .baremetalhost import (
    INSPECT_ANNOTATION,
    PAUSED_ANNOTATION,
    REBOOT_ANNOTATION,
    BareMetalHost,
    BareMetalHostSpec,
    BareMetalHostStatus,
    BMCDetails,
    ErrorType,
    OperationalStatus,
    PendingReboot,
    PowerCommand,
    ProvisioningState,
    ProvisioningStatus,
    RebootMode,
    RebootPhase,
)
from .meta import API_VERSION, CATEGORY, GROUP, VERSION, Condition, Resource
from .noderole import NodeRole, NodeRoleSpec, NodeRoleStatus
from .openstackcluster import OpenStackCluster, OpenStackClusterSpec, OpenStackClusterStatus

KINDS: tuple[type[Resource], ...] = (BareMetalHost, NodeRole, OpenStackCluster)

__all__ = [
    "API_VERSION",
    "CATEGORY",
    "GROUP",
    "INSPECT_ANNOTATION",
    "KINDS",
    "PAUSED_ANNOTATION",
    "REBOOT_ANNOTATION",
    "VERSION",
    "BMCDetails",
    "BareMetalHost",
    "BareMetalHostSpec",
    "BareMetalHostStatus",
    "Condition",
    "ErrorType",
    "NodeRole",
    "NodeRoleSpec",
    "NodeRoleStatus",
    "OpenStackCluster",
    "OpenStackClusterSpec",
    "OpenStackClusterStatus",
    "OperationalStatus",
    "PendingReboot",
    "PowerCommand",
    "ProvisioningState",
    "ProvisioningStatus",
    "RebootMode",
    "RebootPhase",
    "Resource",
]
