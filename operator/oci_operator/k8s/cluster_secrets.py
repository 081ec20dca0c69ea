"""Kubernetes I/O of an OpenStackCluster: its Secrets (passwords, CA, certificates, one per host), the
BareMetalHosts of its namespace (claims, releases, explanations) and the NodeRoles it generates. The
cluster's own Secrets are only created or extended (update with the read resourceVersion, so a
concurrent writer makes this fail rather than lose keys), never rewritten from scratch; a host's Secret
is derived from them and rewritten whole.

The Secrets live in the operator's system namespace, like the hosts' (docs/bootserver.md, trust model):
tenants cannot write there, and the operator's RBAC needs no Secret writes in tenant namespaces. They are
named `<namespace>.<secret>` (a namespace has no dots, so names never collide) and labelled with the
cluster's UID; an owner reference cannot cross namespaces, so the cluster's finalizer deletes them
(docs/openstackcluster.md, "Scaling down and deletion")."""

from __future__ import annotations

import base64
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..api.v1alpha1 import GROUP, VERSION
from ..cloud.noderoles import CLUSTER_LABEL as NODEROLE_CLUSTER_LABEL
from ..cloud.noderoles import GENERATED_LABEL
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
        return k8s.list_objects(GROUP, VERSION, "baremetalhosts", self.namespace)

    def write_secret(self, name: str, data: dict[str, str], owner: Owner, kind: str) -> None:
        """A host's Secret: created, or its data replaced (it is derived from the cluster's)."""
        if self.create_secret(name, data, owner, kind):
            return
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        stored = stored_name(self.namespace, name)
        api = client.CoreV1Api()
        current: Any = api.read_namespaced_secret(stored, self.system_namespace)
        current.data = encoded
        api.replace_namespaced_secret(stored, self.system_namespace, current, field_manager=k8s.FIELD_MANAGER[0])

    def delete_secret(self, name: str) -> None:
        try:
            client.CoreV1Api().delete_namespaced_secret(stored_name(self.namespace, name), self.system_namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def list_noderoles(self, cluster: str) -> list[dict[str, Any]]:
        result: Any = client.CustomObjectsApi().list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "noderoles", label_selector=f"{NODEROLE_CLUSTER_LABEL}={cluster}"
        )
        return [i for i in result.get("items") or [] if (i["metadata"].get("labels") or {}).get(GENERATED_LABEL)]

    def apply_noderole(self, body: dict[str, Any]) -> None:
        api = client.CustomObjectsApi()
        name = body["metadata"]["name"]
        try:
            api.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, "noderoles", body, field_manager=k8s.FIELD_MANAGER[0]
            )
            return
        except ApiException as exc:
            if exc.status != 409:
                raise
        current: Any = api.get_namespaced_custom_object(GROUP, VERSION, self.namespace, "noderoles", name)
        meta = current["metadata"]
        meta["labels"] = {**(meta.get("labels") or {}), **body["metadata"].get("labels", {})}
        meta["ownerReferences"] = body["metadata"].get("ownerReferences", [])
        current["spec"] = body["spec"]
        api.replace_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "noderoles", name, current, field_manager=k8s.FIELD_MANAGER[0]
        )

    def delete_noderole(self, name: str) -> None:
        try:
            client.CustomObjectsApi().delete_namespaced_custom_object(GROUP, VERSION, self.namespace, "noderoles", name)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def patch_host(self, name: str, patch: dict[str, Any]) -> None:
        client.CustomObjectsApi().patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "baremetalhosts", name, patch,
            _content_type="application/merge-patch+json", field_manager=k8s.FIELD_MANAGER[0],
        )  # fmt: skip

    def patch_host_status(self, name: str, patch: dict[str, Any]) -> None:
        try:
            k8s.patch_status(GROUP, VERSION, "baremetalhosts", self.namespace, name, patch)
        except ApiException as exc:
            if exc.status != 404:  # deleted meanwhile: nothing to explain
                raise

    def record_status(self, cluster: str, patch: dict[str, Any]) -> None:
        k8s.patch_status(GROUP, VERSION, "openstackclusters", self.namespace, cluster, patch)
