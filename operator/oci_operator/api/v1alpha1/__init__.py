"""oci.openstack.org/v1alpha1."""

from .baremetalhost import (
    BareMetalHost,
    BareMetalHostSpec,
    BareMetalHostStatus,
    BMCDetails,
    ErrorType,
    OperationalStatus,
    ProvisioningState,
    ProvisioningStatus,
)
from .meta import API_VERSION, CATEGORY, GROUP, VERSION, Condition, Resource
from .noderole import NodeRole, NodeRoleSpec, NodeRoleStatus
from .openstackcluster import OpenStackCluster, OpenStackClusterSpec, OpenStackClusterStatus

KINDS: tuple[type[Resource], ...] = (BareMetalHost, NodeRole, OpenStackCluster)

__all__ = [
    "API_VERSION",
    "CATEGORY",
    "GROUP",
    "KINDS",
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
    "ProvisioningState",
    "ProvisioningStatus",
    "Resource",
]
