"""Kubernetes I/O of an OpenStackCluster: its Secrets (passwords, CA, certificates), owned by the
cluster, and the BareMetalHosts of its namespace. Secrets are only created or extended (update with the
read resourceVersion, so a concurrent writer makes this fail rather than lose keys), never rewritten
from scratch."""

from __future__ import annotations

import base64
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..cloud.store import Owner, StoredSecret
from . import client as k8s

CLUSTER_SECRET_LABEL = "oci.openstack.org/cluster-secret"  # noqa: S105 - a label key, not a password


class KubeClusterStore:
    """The cloud/reconcile.py store port over the kubernetes client, for one namespace."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def read_secret(self, name: str) -> StoredSecret | None:
        found = k8s.read_secret(self.namespace, name)
        return None if found is None else StoredSecret(*found)

    def create_secret(self, name: str, data: dict[str, str], owner: Owner, kind: str) -> bool:
        """Create the Secret; False when it already exists (someone else created it first)."""
        body = client.V1Secret(
            metadata=client.V1ObjectMeta(
                name=name,
                namespace=self.namespace,
                labels={CLUSTER_SECRET_LABEL: kind},
                owner_references=[
                    client.V1OwnerReference(
                        api_version=owner.api_version,
                        kind=owner.kind,
                        name=owner.name,
                        uid=owner.uid,
                        block_owner_deletion=False,
                    )
                ],
            ),
            type="Opaque",
            data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        )
        try:
            client.CoreV1Api().create_namespaced_secret(self.namespace, body)
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def update_keys(self, name: str, data: dict[str, str], resource_version: str) -> None:
        """Set these keys, keep the others; fails (409) if the Secret changed since it was read."""
        api = client.CoreV1Api()
        current: Any = api.read_namespaced_secret(name, self.namespace)
        if str(current.metadata.resource_version) != resource_version:
            raise ApiException(status=409, reason=f"Secret {name} changed since it was read")
        merged = dict(current.data or {})
        merged.update({k: base64.b64encode(v.encode()).decode() for k, v in data.items()})
        current.data = merged
        api.replace_namespaced_secret(name, self.namespace, current)

    def list_hosts(self) -> list[dict[str, Any]]:
        return k8s.list_objects("oci.openstack.org", "v1alpha1", "baremetalhosts", self.namespace)
