"""The offline plan (`oci-operator cluster plan`): cluster and host manifests from files, no API server,
every secret shown as a reference. It calls the same plan function the operator does."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from ..api.v1alpha1 import BareMetalHost, OpenStackCluster
from . import secrets
from .hosts import cluster_hosts
from .pki import References
from .plan import Plan, plan


class ManifestError(ValueError):
    """The files do not hold exactly one valid OpenStackCluster, or a host manifest is invalid."""


def _problem(kind: str, name: str, exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{kind} {name or '?'}: {where}: {first['msg']}"


def read(documents: Iterable[dict[str, Any]]) -> tuple[OpenStackCluster, list[BareMetalHost]]:
    clusters, hosts = [], []
    for doc in documents:
        kind = doc.get("kind")
        name = str((doc.get("metadata") or {}).get("name", ""))
        try:
            if kind == "OpenStackCluster":
                clusters.append(OpenStackCluster.model_validate(doc))
            elif kind == "BareMetalHost":
                hosts.append(BareMetalHost.model_validate(doc))
        except ValidationError as exc:
            raise ManifestError(_problem(str(kind), name, exc)) from None
    if len(clusters) != 1:
        raise ManifestError(f"expected one OpenStackCluster in the files, found {len(clusters)}")
    return clusters[0], hosts


def offline_plan(documents: Iterable[dict[str, Any]], initial_cluster_setup: bool = True) -> tuple[str, Plan]:
    cluster, hosts = read(documents)
    members = cluster_hosts(cluster.name, hosts)
    return cluster.name, plan(
        cluster.name, cluster.spec, members, secrets.references(), References(), initial_cluster_setup
    )


def report(cluster: str, the_plan: Plan) -> dict[str, Any]:
    """What a reviewer reads: per host its role, hostname, address, classes and parameters."""
    return {
        "cluster": cluster,
        "hosts": [
            {
                "name": h.name,
                "role": str(h.role),
                "hostname": h.hostname,
                "address": h.address,
                "classes": h.enc()["classes"],
            }
            for h in the_plan.hosts
        ],
    }
