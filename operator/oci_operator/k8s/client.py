"""Kubernetes client set-up and the few reads the reconcilers need."""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException


def load(kubeconfig: str | None) -> None:
    """In-cluster credentials when running in a pod, else the kubeconfig (KUBECONFIG or ~/.kube)."""
    if kubeconfig is None:
        try:
            config.load_incluster_config()
            return
        except config.ConfigException:
            pass
    config.load_kube_config(config_file=kubeconfig)


@dataclass(frozen=True)
class Connection:
    """What kopf needs to talk to the same API server as this client, the same way."""

    server: str
    ca_path: str | None
    insecure: bool
    scheme: str | None
    token: str | None
    certificate_path: str | None
    private_key_path: str | None


def connection(kubeconfig: str | None) -> Connection:
    """Re-load the configuration (rotated in-cluster tokens are re-read) and describe it."""
    load(kubeconfig)
    cfg = client.Configuration.get_default_copy()
    header = cfg.get_api_key_with_prefix("BearerToken") or cfg.get_api_key_with_prefix("authorization")
    scheme, _, token = (header or "").rpartition(" ")
    return Connection(
        server=cfg.host,
        ca_path=cfg.ssl_ca_cert,
        insecure=not cfg.verify_ssl,
        scheme=scheme or ("Bearer" if token else None),
        token=token or None,
        certificate_path=cfg.cert_file,
        private_key_path=cfg.key_file,
    )


def read_secret(namespace: str, name: str) -> tuple[dict[str, str], str] | None:
    """The Secret's decoded data and resourceVersion, or None when it does not exist.

    Undecodable values are left out, so they read as missing keys rather than crash a reconcile."""
    found = read_secret_typed(namespace, name)
    return (found[0], found[1]) if found is not None else None


def read_secret_typed(namespace: str, name: str) -> tuple[dict[str, str], str, str, dict[str, str]] | None:
    """Like read_secret, plus the Secret's type and labels (what marks it for a use)."""
    try:
        secret = client.CoreV1Api().read_namespaced_secret(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    meta = secret.metadata
    labels = {str(k): str(v) for k, v in ((meta.labels if meta else None) or {}).items()}
    return _decoded(secret), str(meta.resource_version if meta else ""), str(secret.type or ""), labels


def _decoded(secret: Any) -> dict[str, str]:
    data: dict[str, str] = {}
    for key, value in (secret.data or {}).items():
        try:
            data[key] = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
    return data


def _custom() -> client.CustomObjectsApi:
    return client.CustomObjectsApi()


def get_object(group: str, version: str, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    """A fresh read (kopf's cached body may lag behind our own last write)."""
    try:
        result: Any = _custom().get_namespaced_custom_object(group, version, namespace, plural, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return dict(result)


# Who writes, in managedFields: each process names itself (oci-bootserver sets its own at start), so
# `kubectl get -o yaml --show-managed-fields` tells the operator's status fields from the boot server's.
FIELD_MANAGER = ["oci-operator"]


def use_field_manager(name: str) -> None:
    FIELD_MANAGER[0] = name


def patch_status(group: str, version: str, plural: str, namespace: str, name: str, patch: dict[str, Any]) -> None:
    """JSON merge patch of the status subresource (null deletes a field)."""
    _custom().patch_namespaced_custom_object_status(
        group,
        version,
        namespace,
        plural,
        name,
        {"status": patch},
        _content_type="application/merge-patch+json",
        field_manager=FIELD_MANAGER[0],
    )


def remove_annotations(group: str, version: str, plural: str, namespace: str, name: str, keys: list[str]) -> None:
    _custom().patch_namespaced_custom_object(
        group,
        version,
        namespace,
        plural,
        name,
        {"metadata": {"annotations": dict.fromkeys(keys)}},
        _content_type="application/merge-patch+json",
        field_manager=FIELD_MANAGER[0],
    )


# Boot tokens ------------------------------------------------------------------------------------
# One Secret per host, replaced at each network boot job; owned by the host so it goes with it.
BOOT_TOKEN_LABEL = "oci.openstack.org/boot-token"  # noqa: S105 - a label name
HOST_ANNOTATION = "oci.openstack.org/host"


def boot_token_secret_name(host: str) -> str:
    return f"{host[:200]}-boot-token"


def ensure_boot_token(namespace: str, host: str, host_uid: str, mac: str, boot_id: str) -> None:
    """Make the host's token Secret belong to `boot_id`, with a new random token if it does not yet."""
    name = boot_token_secret_name(host)
    found = read_secret(namespace, name)
    if found is not None and found[0].get("bootId") == boot_id:
        return  # already made for this job (perhaps by a previous operator process)
    data = {"token": secrets.token_urlsafe(32), "bootId": boot_id, "mac": mac.lower()}
    _put_host_secret(namespace, name, host, host_uid, BOOT_TOKEN_LABEL, {}, data, replace=found is not None)


def _put_host_secret(
    namespace: str,
    name: str,
    host: str,
    host_uid: str,
    label: str,
    annotations: dict[str, str],
    data: dict[str, str],
    replace: bool,
) -> None:
    """Create or replace a Secret that belongs to a host: labelled for the boot server's watch, owned by
    the host (so it is deleted with it)."""
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(
            name=name,
            namespace=namespace,
            labels={label: "true"},
            annotations={HOST_ANNOTATION: host, **annotations},
            owner_references=[_owned_by(host, host_uid)],
        ),
        type="Opaque",
        string_data=data,
    )
    api = client.CoreV1Api()
    if replace:
        api.replace_namespaced_secret(name, namespace, body, field_manager=FIELD_MANAGER[0])
    else:
        api.create_namespaced_secret(namespace, body, field_manager=FIELD_MANAGER[0])


# Desired states ---------------------------------------------------------------------------------
# One Secret per host (templates may hold secrets), replaced when the rendered hash changes.
DESIRED_STATE_LABEL = "oci.openstack.org/desired-state"
HASH_ANNOTATION = "oci.openstack.org/hash"


def desired_state_secret_name(host: str) -> str:
    return f"{host[:200]}-desired-state"


def ensure_desired_state(namespace: str, host: str, host_uid: str, document: str, digest: str) -> None:
    """Store the host's rendered desired state unless the stored one already has this hash."""
    name = desired_state_secret_name(host)
    api = client.CoreV1Api()
    try:
        current = api.read_namespaced_secret(name, namespace)
    except ApiException as exc:
        if exc.status != 404:
            raise
        current = None
    stored = (current.metadata.annotations or {}) if current is not None and current.metadata else {}
    if current is not None and stored.get(HASH_ANNOTATION) == digest:
        return
    annotations = {HASH_ANNOTATION: digest}
    data = {"desired.json": document}
    _put_host_secret(namespace, name, host, host_uid, DESIRED_STATE_LABEL, annotations, data, current is not None)


def _owned_by(host: str, host_uid: str) -> client.V1OwnerReference:
    return client.V1OwnerReference(
        api_version="oci.openstack.org/v1alpha1",
        kind="BareMetalHost",
        name=host,
        uid=host_uid,
        block_owner_deletion=False,
    )


def list_objects(group: str, version: str, plural: str, namespace: str) -> list[dict[str, Any]]:
    result: Any = _custom().list_namespaced_custom_object(group, version, namespace, plural)
    return list(result.get("items") or [])
