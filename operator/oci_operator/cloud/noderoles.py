"""The NodeRole a cluster generates for each of its hosts, and the host's Secret that goes with it.

One NodeRole per host: every host's parameters differ (its name, address, certificate, first-master
flags), and a NodeRole per host lets `kubectl get noderoles` show each host's convergence. The NodeRole
holds no secret: the puppet hiera data and the key files are references (`<secret:KEY>`) that the
host's desired-state rendering fills from the host's Secret (system namespace), so secrets reach the
node only inside its desired-state Secret. The NodeRole's description carries a digest of that Secret's
data, so any change of parameters or certificates is a new NodeRole generation: the host re-renders
and its agent applies again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import yaml

from ..api.v1alpha1 import API_VERSION
from ..api.v1alpha1.noderole import NodeRoleSpec
from .claims import noderole_name
from .plan import HostPlan

PACKAGES = (
    "puppet",
    "puppet-module-oci",
    # What only OCI's server package pulls in; without them the classes do not compile (oci-puppet.md).
    "puppet-module-camptocamp-systemd",
    "puppet-module-heini-wait-for",
    "puppet-module-icann-quagga",
    "puppet-module-puppetlabs-firewall",
    "puppet-module-puppetlabs-sshkeys-core",
)
PKI_DIR = "/etc/oci-operator/pki"
HIERA, CERT, KEY, CA = "hiera.yaml", "tls.crt", "tls.key", "ca.crt"
GENERATED_LABEL = "oci.openstack.org/generated-by"
CLUSTER_LABEL = "oci.openstack.org/cluster"


def host_secret_name(cluster: str, host: str) -> str:
    """The cluster Secret holding one host's parameters and key (named like the cluster's others)."""
    return f"{cluster}-host-{host}"


def reference(key: str) -> str:
    return f"<secret:{key}>"


def hiera(host: HostPlan) -> str:
    """The host's class parameters as hiera data (`oci::controller::machine_ip: ...`)."""
    data = {f"{cls.oci_class}::{name}": value for cls in host.classes for name, value in cls.parameters().items()}
    return yaml.safe_dump(data, sort_keys=True, default_flow_style=False)


def secret_data(host: HostPlan, cert_pem: str, key_pem: str, ca_pem: str) -> dict[str, str]:
    return {HIERA: hiera(host), CERT: cert_pem, KEY: key_pem, CA: ca_pem}


def digest(data: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(data), sort_keys=True).encode()).hexdigest()


def noderole(cluster: str, uid: str, host: HostPlan, data: Mapping[str, str]) -> dict[str, Any]:
    """The NodeRole for `host`, owned by the cluster (garbage-collected with it)."""
    classes = [cls.oci_class for cls in host.classes]
    resources: list[dict[str, Any]] = [{"type": "package", "name": name} for name in PACKAGES]
    resources += [
        {"type": "file", "name": "host-certificate", "path": f"{PKI_DIR}/host.crt", "mode": "0600",
         "template": reference(CERT)},
        {"type": "file", "name": "host-key", "path": f"{PKI_DIR}/host.key", "mode": "0600",
         "template": reference(KEY)},
        {"type": "file", "name": "cluster-ca", "path": f"/usr/local/share/ca-certificates/oci-{cluster}.crt",
         "mode": "0644", "template": reference(CA)},
        {"type": "puppet", "name": "oci", "classes": classes, "hiera": reference(HIERA)},
    ]  # fmt: skip
    description = (
        f"OCI {host.role} {host.hostname} ({host.address}) of OpenStackCluster {cluster}; "
        f"parameters sha256 {digest(data)[:16]}"
    )
    spec = NodeRoleSpec.model_validate({"description": description, "resources": resources})
    owner = {"apiVersion": API_VERSION, "kind": "OpenStackCluster", "name": cluster, "uid": uid, "controller": True}
    return {
        "apiVersion": API_VERSION,
        "kind": "NodeRole",
        "metadata": {
            "name": noderole_name(cluster, host.name),
            "labels": {CLUSTER_LABEL: cluster, GENERATED_LABEL: "openstackcluster"},
            "ownerReferences": [owner],
        },
        "spec": spec.wire(),
    }
