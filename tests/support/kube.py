"""Thin test-side access to the API server through the kubernetes client."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from .waiting import wait_for

GROUP, VERSION = "oci.openstack.org", "v1alpha1"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Kube:
    kubeconfig: str
    api: client.ApiClient

    @classmethod
    def connect(cls, kubeconfig: str) -> Kube:
        return cls(kubeconfig, config.new_client_from_config(config_file=kubeconfig))

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def apply_crds(self) -> None:
        ext = client.ApiextensionsV1Api(self.api)
        for path in sorted((REPO / "crds").glob("*.yaml")):
            body = yaml.safe_load(path.read_text())
            try:
                current = ext.read_custom_resource_definition(body["metadata"]["name"])
                body["metadata"]["resourceVersion"] = current.metadata.resource_version
                ext.replace_custom_resource_definition(body["metadata"]["name"], body)
            except ApiException as exc:
                if exc.status != 404:
                    raise
                ext.create_custom_resource_definition(body)
        for path in sorted((REPO / "crds").glob("*.yaml")):
            name = yaml.safe_load(path.read_text())["metadata"]["name"]
            wait_for(
                lambda name=name: any(
                    c.type == "Established" and c.status == "True"
                    for c in (ext.read_custom_resource_definition(name).status.conditions or [])
                ),
                30,
                f"CRD {name} to be established",
            )

    def new_namespace(self, prefix: str) -> str:
        name = f"{prefix}{uuid.uuid4().hex[:10]}"
        self.core.create_namespace({"metadata": {"name": name}})
        return name

    def ensure_namespace(self, name: str) -> str:
        try:
            self.core.create_namespace({"metadata": {"name": name}})
        except ApiException as exc:
            if exc.status != 409:
                raise
        return name

    def delete_namespace(self, name: str) -> None:
        try:
            self.core.delete_namespace(name)
        except ApiException as exc:
            if exc.status != 404:
                raise

    # Custom resources -------------------------------------------------------------------------
    def create(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("kind") == "Secret":
            return self.core.create_namespaced_secret(namespace, body).to_dict()  # type: ignore[no-any-return]
        result: dict[str, Any] = self.custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, plural_of(body["kind"]), body
        )
        return result

    def get(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, plural_of(kind), name
        )
        return result

    def patch_spec(self, namespace: str, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, plural_of(kind), name, {"spec": spec}
        )
        return result

    def annotate(self, namespace: str, kind: str, name: str, annotations: dict[str, str | None]) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, plural_of(kind), name, {"metadata": {"annotations": annotations}}
        )

    def delete(self, namespace: str, kind: str, name: str) -> None:
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, plural_of(kind), name)

    def exists(self, namespace: str, kind: str, name: str) -> bool:
        try:
            self.get(namespace, kind, name)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def warnings(self, namespace: str, name: str, reason: str) -> int:
        """How many Warning Events with `reason` the object got (an Event's count included)."""
        return sum(e.count or 1 for e in self.events(namespace, name) if e.type == "Warning" and e.reason == reason)

    def events(self, namespace: str, name: str) -> list[client.CoreV1Event]:
        items = self.core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
        return list(items)


def plural_of(kind: str) -> str:
    return {"BareMetalHost": "baremetalhosts", "NodeRole": "noderoles", "OpenStackCluster": "openstackclusters"}[kind]


def condition(obj: dict[str, Any], cond_type: str) -> dict[str, Any] | None:
    for cond in obj.get("status", {}).get("conditions", []):
        if cond["type"] == cond_type:
            return dict(cond)
    return None


def samples(name: str) -> list[dict[str, Any]]:
    """The documents of config/samples/<name>.yaml, as users apply them."""
    return [doc for doc in yaml.safe_load_all((REPO / "config" / "samples" / name).read_text()) if doc]
