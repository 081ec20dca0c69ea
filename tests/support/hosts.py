"""BareMetalHosts wired to simulated BMCs, and how tests read them."""

from __future__ import annotations

import base64
import itertools
import os
import urllib.request
from typing import Any

from oci_operator.agent import oci_agent
from oci_operator.api.v1alpha1 import INSPECT_ANNOTATION
from oci_operator.bmc.credentials import CREDENTIALS_TYPE
from oci_operator.config import DEFAULT_SYSTEM_NAMESPACE
from oci_operator.k8s.client import host_secret_name

from .bmcsim import SimBMC
from .bootserver import BootServerProcess
from .debian_root import DebianRoot
from .kube import Kube, condition
from .waiting import wait_for

# Every host gets a boot MAC of its own: two hosts claiming one MAC, in any watched namespace (a deleted
# test's hosts may linger behind their finalizer), are both refused (DuplicateBootMAC). The process id
# keeps parallel pytest sessions against one cluster apart too.
_MACS = (f"52:54:{os.getpid() % 256:02x}:aa:{n // 256 % 256:02x}:{n % 256:02x}" for n in itertools.count(1))


def host_manifest(
    name: str, address: str, secret: str, online: bool = False, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    """A host for power tests: inspection is disabled (metal3's way), so it goes straight to available."""
    return {
        "apiVersion": "oci.openstack.org/v1alpha1",
        "kind": "BareMetalHost",
        "metadata": {"name": name, "annotations": {INSPECT_ANNOTATION: "disabled", **(annotations or {})}},
        "spec": {
            "bmc": {"address": address, "credentialsName": secret},
            "bootMACAddress": next(_MACS),
            "online": online,
        },
    }


def secret_manifest(name: str, username: str, password: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": CREDENTIALS_TYPE,  # only Secrets marked for it are used as BMC credentials
        "stringData": {"username": username, "password": password},
    }


def create_host(
    kube: Kube, namespace: str, name: str, bmc: SimBMC, online: bool = False, password: str | None = None
) -> None:
    kube.create(namespace, secret_manifest(f"{name}-bmc", bmc.username, password or bmc.password))
    kube.create(namespace, host_manifest(name, bmc.address, f"{name}-bmc", online))


def ready(kube: Kube, namespace: str, name: str) -> tuple[str, str] | None:
    cond = condition(kube.get(namespace, "BareMetalHost", name), "Ready")
    return (cond["status"], cond["reason"]) if cond else None


def status(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    result: dict[str, Any] = kube.get(namespace, "BareMetalHost", name).get("status", {})
    return result


def settled(kube: Kube, namespace: str, name: str, powered_on: bool) -> bool:
    """Available, Ready, and the recorded power state is the one wanted."""
    current = status(kube, namespace, name)
    return ready(kube, namespace, name) == ("True", "Available") and current.get("poweredOn") is powered_on


def create_booting_host(
    kube: Kube, namespace: str, name: str, bmc: SimBMC, mac: str, online: bool = False, **spec: Any
) -> None:
    """A host that goes through inspection (and provisioning once it has a role)."""
    kube.create(namespace, secret_manifest(f"{name}-bmc", bmc.username, bmc.password))
    manifest = host_manifest(name, bmc.address, f"{name}-bmc", online)
    manifest["metadata"]["annotations"] = {}
    manifest["spec"].update(bootMACAddress=mac, **spec)
    kube.create(namespace, manifest)


def state(kube: Kube, namespace: str, name: str) -> str | None:
    prov = status(kube, namespace, name).get("provisioning") or {}
    return prov.get("state")


def host_secret(
    kube: Kube, namespace: str, name: str, kind: str, system: str = DEFAULT_SYSTEM_NAMESPACE
) -> dict[str, str] | None:
    """The decoded data of one of the host's Secrets in the operator's system namespace."""
    uid = kube.get(namespace, "BareMetalHost", name)["metadata"]["uid"]
    try:
        secret = kube.core.read_namespaced_secret(host_secret_name(uid, kind), system)
    except Exception:
        return None
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def job_tokens(kube: Kube, namespace: str, name: str, system: str = DEFAULT_SYSTEM_NAMESPACE) -> dict[str, str] | None:
    """The host's current boot job's Secret data (token: the iPXE one; jobToken: the preseed's), once issued."""
    boot_id = (status(kube, namespace, name).get("provisioning") or {}).get("bootId")
    data = host_secret(kube, namespace, name, "boot-token", system)
    return data if data is not None and boot_id and data.get("bootId") == boot_id else None


def boot_token(kube: Kube, namespace: str, name: str) -> str | None:
    """The iPXE token of the host's current boot job, once the operator has issued it."""
    data = job_tokens(kube, namespace, name)
    return data["token"] if data else None


def provisioned_host(kube: Kube, namespace: str, name: str, bmc: SimBMC, role: str) -> None:
    """A simulated server installed with `role` through the boot server (a few seconds)."""
    create_booting_host(kube, namespace, name, bmc, bmc.mac, online=True, role=role)


def token_of(kube: Kube, namespace: str, name: str, system: str = DEFAULT_SYSTEM_NAMESPACE) -> str:
    """The credential the installation handed the node's agent."""
    data = host_secret(kube, namespace, name, "agent", system)
    assert data is not None, f"{name} has no agent credential"
    return data["token"]


def converged(kube: Kube, namespace: str, name: str) -> tuple[str, str, str] | None:
    cond = condition(kube.get(namespace, "BareMetalHost", name), "Converged")
    return (cond["status"], cond["reason"], cond["message"]) if cond else None


def noderole_ready(kube: Kube, namespace: str, name: str) -> tuple[str, str, dict[str, int]] | None:
    """A NodeRole's Ready status, reason and host counts, once it has judged its current generation."""
    obj = kube.get(namespace, "NodeRole", name)
    cond = condition(obj, "Ready")
    if cond is None or obj["status"].get("observedGeneration") != obj["metadata"]["generation"]:
        return None
    return cond["status"], cond["reason"], obj["status"].get("hosts", {})


def desired_state_served(base_url: str, mac: str, token: str, certificate: str = "") -> bool:
    """The boot server has the host's rendered desired state (its cache follows the API by a moment);
    over HTTPS, trusting `certificate` only, as the agent does."""
    request = urllib.request.Request(  # noqa: S310 - loopback test URL
        f"{base_url}/v1/hosts/{mac.replace(':', '-')}/desired-state", headers={"Authorization": f"Bearer {token}"}
    )
    context = oci_agent.pinned(certificate) if certificate else None
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def agent_installed(
    kube: Kube,
    namespace: str,
    name: str,
    mac: str,
    server: BootServerProcess,
    root: DebianRoot,
    system: str = DEFAULT_SYSTEM_NAMESPACE,
) -> None:
    """What the installer leaves on a provisioned host, put into `root`: the agent, its settings and the
    credential handed to it (with the boot server's certificate); returns once the boot server can hand
    the agent its desired state over HTTPS."""
    wait_for(lambda: state(kube, namespace, name) == "provisioned", 90, f"{name} provisioned")
    token = token_of(kube, namespace, name, system)
    certificate = boot_server_certificate(kube, system)
    https = f"https://{server.agent_address}"
    wait_for(lambda: desired_state_served(https, mac, token, certificate), 90, f"{name}'s desired state served")
    root.install_agent(server.agent_address, mac, name, token, certificate)


def boot_server_certificate(kube: Kube, system: str = DEFAULT_SYSTEM_NAMESPACE) -> str:
    secret = kube.core.read_namespaced_secret("boot-server-tls", system)
    return base64.b64decode((secret.data or {})["tls.crt"]).decode()
