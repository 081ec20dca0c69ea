"""Kubernetes I/O of an OpenStackCluster: its Secrets (passwords, CA, certificates) and the BareMetalHosts
of its namespace. Secrets are only created or extended (update with the read resourceVersion, so a
concurrent writer makes this fail rather than lose keys), never rewritten from scratch.

The Secrets live in the operator's system namespace, like the hosts' (docs/bootserver.md, trust model):
tenants cannot write there, and the operator's RBAC needs no Secret writes in tenant namespaces. They are
named `<namespace>.<secret>` (a namespace has no dots, so names never collide) and labelled with the
cluster's UID; an owner reference cannot cross namespaces, so deleting the cluster keeps them (a running
cloud's passwords are never thrown away by accident; docs/openstackcluster.md says how to remove them)."""

from __future__ import annotations

import base64
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..cloud.store import Owner, StoredSecret
from . import client as k8s

CLUSTER_SECRET_LABEL = "oci.openstack.org/cluster-secret"  # noqa: S105 - a label key, not a password
CLUSTER_UID_LABEL = "oci.openstack.org/cluster-uid"
CLUSTER_ANNOTATION = "oci.openstack.org/cluster"


def stored_name(namespace: str, name: str) -> str:
    """The name in the system namespace of the cluster Secret `name` of a cluster in `namespace`."""
    return f"{namespace}.{name}"


class KubeClusterStore:
    """The cloud/reconcile.py store port over the kubernetes client, for the clusters of one namespace."""

    def __init__(self, namespace: str, system_namespace: str) -> None:
        self.namespace, self.system_namespace = namespace, system_namespace

    def read_secret(self, name: str) -> StoredSecret | None:
        found = k8s.read_secret(self.system_namespace, stored_name(self.namespace, name))
        return None if found is None else StoredSecret(*found)

    def create_secret(self, name: str, data: dict[str, str], owner: Owner, kind: str) -> bool:
        """Create the Secret; False when it already exists (someone else created it first)."""
        body = client.V1Secret(
            metadata=client.V1ObjectMeta(
                name=stored_name(self.namespace, name),
                namespace=self.system_namespace,
                labels={CLUSTER_SECRET_LABEL: kind, CLUSTER_UID_LABEL: owner.uid},
                annotations={CLUSTER_ANNOTATION: f"{self.namespace}/{owner.name}"},
            ),
            type="Opaque",
            data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        )
        try:
            client.CoreV1Api().create_namespaced_secret(self.system_namespace, body)
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def update_keys(self, name: str, data: dict[str, str], resource_version: str) -> None:
        """Set these keys, keep the others; fails (409) if the Secret changed since it was read."""
        api = client.CoreV1Api()
        stored = stored_name(self.namespace, name)
        current: Any = api.read_namespaced_secret(stored, self.system_namespace)
        if str(current.metadata.resource_version) != resource_version:
            raise ApiException(status=409, reason=f"Secret {name} changed since it was read")
        merged = dict(current.data or {})
        merged.update({k: base64.b64encode(v.encode()).decode() for k, v in data.items()})
        current.data = merged
        api.replace_namespaced_secret(stored, self.system_namespace, current)

    def list_hosts(self) -> list[dict[str, Any]]:
        return k8s.list_objects("oci.openstack.org", "v1alpha1", "baremetalhosts", self.namespace)
