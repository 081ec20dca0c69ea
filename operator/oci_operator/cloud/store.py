"""What the cluster reconciler needs from Kubernetes, as a port: k8s/cluster_secrets.py implements it
over the API server; tests may implement it over a dict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Owner:
    """The object a Secret belongs to (deleted with it)."""

    kind: str
    name: str
    uid: str
    api_version: str = "oci.openstack.org/v1alpha1"


@dataclass(frozen=True)
class StoredSecret:
    data: dict[str, str]
    resource_version: str


class ClusterStore(Protocol):
    def read_secret(self, name: str) -> StoredSecret | None: ...

    def create_secret(self, name: str, data: dict[str, str], owner: Owner, kind: str) -> bool:
        """Create; False when it already exists."""
        ...

    def update_keys(self, name: str, data: dict[str, str], resource_version: str) -> None:
        """Set these keys and keep the others, only if the Secret is still at `resource_version`."""
        ...

    def list_hosts(self) -> list[dict[str, Any]]:
        """The BareMetalHosts of the cluster's namespace, as JSON."""
        ...

    def write_secret(self, name: str, data: dict[str, str], owner: Owner, kind: str) -> None:
        """Create the Secret, or replace its data (a host's Secret: derived, so rewriting it is safe)."""
        ...

    def delete_secret(self, name: str) -> None:
        """Delete it; nothing when it is gone already."""
        ...

    def list_noderoles(self, cluster: str) -> list[dict[str, Any]]:
        """The NodeRoles generated for `cluster`, as JSON."""
        ...

    def apply_noderole(self, body: dict[str, Any]) -> None:
        """Create the NodeRole, or replace its labels, owners and spec."""
        ...

    def delete_noderole(self, name: str) -> None: ...

    def patch_host(self, name: str, patch: dict[str, Any]) -> None:
        """JSON merge patch of a BareMetalHost (null deletes a field)."""
        ...

    def patch_host_status(self, name: str, patch: dict[str, Any]) -> None:
        """JSON merge patch of a BareMetalHost's status."""
        ...

    def record_status(self, cluster: str, patch: dict[str, Any]) -> None:
        """JSON merge patch of the cluster's status, written before any host is touched."""
        ...
