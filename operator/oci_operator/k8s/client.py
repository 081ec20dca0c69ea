"""Kubernetes client set-up and the few reads the reconcilers need."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

# Connections one process keeps open to the API server: every call shares one client (a new ApiClient
# per call used to mean a new TLS connection per request, most of a request's CPU at fleet scale).
POOL_SIZE = 32
_shared: list[client.ApiClient] = []


def load(kubeconfig: str | None) -> None:
    """In-cluster credentials when running in a pod, else the kubeconfig (KUBECONFIG or ~/.kube)."""
    _shared.clear()  # the next call builds its client from the configuration loaded now
    if kubeconfig is None:
        try:
            config.load_incluster_config()
            return
        except config.ConfigException:
            pass
    config.load_kube_config(config_file=kubeconfig)


def api_client() -> client.ApiClient:
    """The process's one client (thread-safe: urllib3 pools its connections)."""
    if not _shared:
        configuration = client.Configuration.get_default_copy()
        configuration.connection_pool_maxsize = POOL_SIZE
        _shared.append(client.ApiClient(configuration))
    return _shared[0]


class StaleObject(RuntimeError):
    """A write made on the condition that the object had not changed found that it had (HTTP 409)."""


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
    secret = _get_secret(namespace, name)
    if secret is None:
        return None
    return _decoded(secret), str(secret.get("metadata", {}).get("resourceVersion", ""))


def read_secret_typed(namespace: str, name: str) -> tuple[dict[str, str], str, str, dict[str, str]] | None:
    """Like read_secret, plus the Secret's type and labels (what marks it for a use)."""
    secret = _get_secret(namespace, name)
    if secret is None:
        return None
    meta = secret.get("metadata") or {}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    return _decoded(secret), str(meta.get("resourceVersion", "")), str(secret.get("type") or ""), labels


def _get_secret(namespace: str, name: str) -> dict[str, Any] | None:
    """The Secret as plain JSON (the client's model objects cost more CPU than the request itself)."""
    try:
        response: Any = client.CoreV1Api(api_client()).read_namespaced_secret(name, namespace, _preload_content=False)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    found: dict[str, Any] = json.loads(response.data)
    return found


def _decoded(secret: dict[str, Any]) -> dict[str, str]:
    data: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            data[key] = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
    return data


def _custom() -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client())


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


def patch_status(
    group: str,
    version: str,
    plural: str,
    namespace: str,
    name: str,
    patch: dict[str, Any],
    resource_version: str | None = None,
) -> dict[str, Any]:
    """JSON merge patch of the status subresource (null deletes a field); the object as now stored.

    With `resource_version`, only if the object is still at that version (else StaleObject): a
    decision made on a cached view is written only while that view is still the truth."""
    body: dict[str, Any] = {"status": patch}
    if resource_version:
        body["metadata"] = {"resourceVersion": resource_version}
    try:
        result: Any = _custom().patch_namespaced_custom_object_status(
            group,
            version,
            namespace,
            plural,
            name,
            body,
            _content_type="application/merge-patch+json",
            field_manager=FIELD_MANAGER[0],
        )
    except ApiException as exc:
        if exc.status == 409 and resource_version:
            raise StaleObject(f"{plural} {namespace}/{name} changed since version {resource_version}") from exc
        raise
    return dict(result)


def remove_annotations(
    group: str, version: str, plural: str, namespace: str, name: str, keys: list[str]
) -> dict[str, Any]:
    """The object as now stored."""
    result: Any = _custom().patch_namespaced_custom_object(
        group,
        version,
        namespace,
        plural,
        name,
        {"metadata": {"annotations": dict.fromkeys(keys)}},
        _content_type="application/merge-patch+json",
        field_manager=FIELD_MANAGER[0],
    )
    return dict(result)


# Host Secrets ------------------------------------------------------------------------------------
# Every Secret the project writes for a host (boot token, agent credential, desired state) lives in
# the operator's system namespace, where tenants cannot write, named by the host's UID (unique and
# never reused, so two hosts never share one, whatever their names). Owner references cannot cross
# namespaces: the operator deletes them when the host goes (delete_host_secrets, behind its finalizer).
HOST_UID_LABEL = "oci.openstack.org/host-uid"
HOST_ANNOTATION = "oci.openstack.org/host"  # namespace/name, for people reading the namespace
BOOT_TOKEN_LABEL = "oci.openstack.org/boot-token"  # noqa: S105 - a label name
AGENT_CREDENTIAL_LABEL = "oci.openstack.org/agent-credential"
DESIRED_STATE_LABEL = "oci.openstack.org/desired-state"
HASH_ANNOTATION = "oci.openstack.org/hash"
# On a BareMetalHost (any value): rotate its agent's credential; removed once the successor is offered.
ROTATE_AGENT_CREDENTIAL = "rotate-agent-credential.oci.openstack.org"
KINDS = {"boot-token": BOOT_TOKEN_LABEL, "agent": AGENT_CREDENTIAL_LABEL, "desired-state": DESIRED_STATE_LABEL}


class NotOurSecret(RuntimeError):
    """A Secret of the name we need exists but is not this host's: it is never overwritten."""


def host_secret_name(host_uid: str, kind: str) -> str:
    """`host-<uid>-<kind>`: at most 5 + 36 + 14 characters, far below the API's 253."""
    if kind not in KINDS:
        raise ValueError(f"unknown host Secret kind {kind!r}")
    return f"host-{host_uid}-{kind}"


def is_host_secret(secret: dict[str, Any], host_uid: str, kind: str) -> bool:
    """Name, label and UID label all agree: what the boot server checks before it trusts a Secret."""
    meta = secret.get("metadata") or {}
    labels = meta.get("labels") or {}
    return (
        bool(host_uid)
        and meta.get("name") == host_secret_name(host_uid, kind)
        and labels.get(HOST_UID_LABEL) == host_uid
        and labels.get(KINDS[kind]) == "true"
    )


def ensure_boot_token(
    system_namespace: str, namespace: str, host: str, host_uid: str, mac: str, boot_id: str, install: bool
) -> None:
    """Make the host's boot Secret belong to `boot_id`, with new random tokens if it does not yet.

    `token` is the one the iPXE script shows (it opens the preseed, once); `jobToken` travels only in
    the preseed (reports, and the agent credential handover). An installation also gets a new agent
    credential, so a reinstalled node never keeps the credential of the previous one."""
    name = host_secret_name(host_uid, "boot-token")
    found = _read_own(system_namespace, name, host_uid)
    if found is not None and found[0].get("bootId") == boot_id:
        return  # already made for this job (perhaps by a previous operator process)
    if install:
        rotate_agent_credential(system_namespace, namespace, host, host_uid)
    data = {
        "token": secrets.token_urlsafe(32),
        "jobToken": secrets.token_urlsafe(32),
        "bootId": boot_id,
        "mac": mac.lower(),
    }
    _put_host_secret(system_namespace, namespace, host, host_uid, "boot-token", {}, data, found is not None)


def rotate_agent_credential(system_namespace: str, namespace: str, host: str, host_uid: str) -> None:
    """A new agent credential: the old one stops opening anything as soon as the boot server sees this."""
    name = host_secret_name(host_uid, "agent")
    found = _read_own(system_namespace, name, host_uid)
    data = {"token": secrets.token_urlsafe(32)}
    _put_host_secret(system_namespace, namespace, host, host_uid, "agent", {}, data, found is not None)


def offer_agent_credential(system_namespace: str, namespace: str, host: str, host_uid: str) -> bool:
    """Rotation of a running node's credential: a successor (`next`) beside the current one. The boot
    server hands it to the agent over HTTPS and, when the agent first uses it, makes it the only one
    (promote_agent_credential). False when the host has no credential to rotate."""
    name = host_secret_name(host_uid, "agent")
    found = _read_own(system_namespace, name, host_uid)
    if found is None or not found[0].get("token"):
        return False
    if found[0].get("next"):
        return True  # already offered
    data = {"token": found[0]["token"], "next": secrets.token_urlsafe(32)}
    _put_host_secret(system_namespace, namespace, host, host_uid, "agent", {}, data, replace=True)
    return True


def promote_agent_credential(system_namespace: str, host_uid: str, successor: str) -> None:
    """The agent has used its successor credential: it becomes the only one, the old one dies. The
    resourceVersion precondition makes a concurrent change (a new installation) win."""
    name = host_secret_name(host_uid, "agent")
    found = _read_own(system_namespace, name, host_uid)
    if found is None or found[0].get("next") != successor:
        return
    encoded = base64.b64encode(successor.encode()).decode()
    patch = {"metadata": {"resourceVersion": found[1]}, "data": {"token": encoded, "next": None}}
    client.CoreV1Api(api_client()).patch_namespaced_secret(name, system_namespace, patch)


def ensure_desired_state(
    system_namespace: str, namespace: str, host: str, host_uid: str, document: str, digest: str
) -> None:
    """Store the host's rendered desired state unless the stored one already has this hash."""
    name = host_secret_name(host_uid, "desired-state")
    found = _read_own(system_namespace, name, host_uid)
    if found is not None and found[2].get(HASH_ANNOTATION) == digest:
        return
    annotations = {HASH_ANNOTATION: digest}
    data = {"desired.json": document}
    _put_host_secret(system_namespace, namespace, host, host_uid, "desired-state", annotations, data, found is not None)


def delete_host_secrets(system_namespace: str, host_uid: str) -> None:
    """The host is gone: so are its tokens, credential and desired state (a missing one is fine)."""
    api = client.CoreV1Api(api_client())
    for kind in KINDS:
        name = host_secret_name(host_uid, kind)
        if _read_own(system_namespace, name, host_uid) is None:
            continue
        try:
            api.delete_namespaced_secret(name, system_namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise


def _read_own(system_namespace: str, name: str, host_uid: str) -> tuple[dict[str, str], str, dict[str, str]] | None:
    """The Secret's data, resourceVersion and annotations; None when missing; NotOurSecret when a
    Secret of that name belongs to something else."""
    secret = _get_secret(system_namespace, name)
    if secret is None:
        return None
    meta = secret.get("metadata") or {}
    if (meta.get("labels") or {}).get(HOST_UID_LABEL) != host_uid:
        raise NotOurSecret(f"Secret {system_namespace}/{name} exists and is not this host's: left alone")
    return _decoded(secret), str(meta.get("resourceVersion") or ""), dict(meta.get("annotations") or {})


def _put_host_secret(
    system_namespace: str,
    namespace: str,
    host: str,
    host_uid: str,
    kind: str,
    annotations: dict[str, str],
    data: dict[str, str],
    replace: bool,
) -> None:
    """Create or replace a host's Secret in the system namespace, labelled for the boot server's watch."""
    name = host_secret_name(host_uid, kind)
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(
            name=name,
            namespace=system_namespace,
            labels={KINDS[kind]: "true", HOST_UID_LABEL: host_uid},
            annotations={HOST_ANNOTATION: f"{namespace}/{host}", **annotations},
        ),
        type="Opaque",
        string_data=data,
    )
    api = client.CoreV1Api(api_client())
    if replace:
        api.replace_namespaced_secret(name, system_namespace, body, field_manager=FIELD_MANAGER[0])
    else:
        api.create_namespaced_secret(system_namespace, body, field_manager=FIELD_MANAGER[0])


# The boot server's certificate (agents pin it): one Secret in the system namespace, made once.
BOOT_SERVER_TLS = "boot-server-tls"
BOOT_SERVER_TLS_LABEL = "oci.openstack.org/boot-server-tls"


def ensure_boot_server_tls(system_namespace: str, make: Callable[[], tuple[str, str]]) -> bool:
    """Create the boot server's certificate Secret with `make()` (certificate, key) unless it exists.
    True when it was made now. Never replaced: every installed agent pins it."""
    api = client.CoreV1Api(api_client())
    try:
        api.read_namespaced_secret(BOOT_SERVER_TLS, system_namespace)
        return False
    except ApiException as exc:
        if exc.status != 404:
            raise
    certificate, key = make()
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(
            name=BOOT_SERVER_TLS, namespace=system_namespace, labels={BOOT_SERVER_TLS_LABEL: "true"}
        ),
        type="kubernetes.io/tls",
        string_data={"tls.crt": certificate, "tls.key": key},
    )
    try:
        api.create_namespaced_secret(system_namespace, body)
    except ApiException as exc:
        if exc.status == 409:
            return False  # made by another operator process a moment ago
        raise
    return True


def list_objects(group: str, version: str, plural: str, namespace: str) -> list[dict[str, Any]]:
    result: Any = _custom().list_namespaced_custom_object(group, version, namespace, plural)
    return list(result.get("items") or [])
