"""The cluster controller's store port over dicts, for unit tests, plus a tiny stand-in for what the
hosts' own state machine and agent do between two cluster passes (install on release, converge to the
rendered role, wipe on release). The real thing runs in tests/integration; this one keeps the pure
decisions fast to test."""

from __future__ import annotations

import copy
from typing import Any

from oci_operator.api.v1alpha1 import BareMetalHost, NodeRole
from oci_operator.cloud.store import Owner, StoredSecret
from oci_operator.reconcilers.desired_state import render_desired_state


def merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """RFC 7386 in place."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def bmh(name: str, labels: dict[str, str] | None = None, hardware: dict[str, Any] | None = None,
        state: str = "available") -> dict[str, Any]:  # fmt: skip
    status: dict[str, Any] = {"provisioning": {"state": state}}
    if hardware is not None:
        status["hardware"] = hardware
    return {
        "apiVersion": "oci.openstack.org/v1alpha1",
        "kind": "BareMetalHost",
        "metadata": {"name": name, "namespace": "ns", "labels": labels or {}},
        "spec": {
            "bmc": {"address": "ipmi://127.0.0.1:9", "credentialsName": "x"},
            "bootMACAddress": "52:54:00:00:00:01",
        },
        "status": status,
    }


class MemoryStore:
    def __init__(self, hosts: list[dict[str, Any]] | None = None) -> None:
        self.secrets: dict[str, StoredSecret] = {}
        self.owners: dict[str, Owner] = {}
        self.hosts: dict[str, dict[str, Any]] = {h["metadata"]["name"]: h for h in hosts or []}
        self.noderoles: dict[str, dict[str, Any]] = {}
        self.cluster_status: dict[str, Any] = {}
        self.writes = 0
        self.log: list[tuple[str, str, Any]] = []  # (what, name, detail): the order writes happened in
        self.applied: dict[str, tuple[int, str, bool]] = {}  # host -> (role generation, Secret version, failing)

    def _wrote(self, what: str, name: str, detail: Any = None) -> None:
        self.writes += 1
        self.log.append((what, name, detail))

    # secrets
    def read_secret(self, name: str) -> StoredSecret | None:
        return self.secrets.get(name)

    def create_secret(self, name: str, data: dict[str, str], owner: Owner, kind: str) -> bool:
        if name in self.secrets:
            return False
        self._wrote("secret", name)
        self.secrets[name] = StoredSecret(dict(data), str(self.writes))
        self.owners[name] = owner
        return True

    def update_keys(self, name: str, data: dict[str, str], resource_version: str) -> None:
        current = self.secrets[name]
        assert current.resource_version == resource_version
        self._wrote("secret", name)
        self.secrets[name] = StoredSecret(current.data | data, str(self.writes))

    def write_secret(self, name: str, data: dict[str, str], owner: Owner, kind: str) -> None:
        self._wrote("secret", name)
        self.secrets[name] = StoredSecret(dict(data), str(self.writes))
        self.owners[name] = owner

    def delete_secret(self, name: str) -> None:
        if self.secrets.pop(name, None) is not None:
            self._wrote("delete-secret", name)

    # hosts
    def list_hosts(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(h) for h in self.hosts.values()]

    def patch_host(self, name: str, patch: dict[str, Any]) -> None:
        self._wrote("host", name, patch)
        merge(self.hosts[name], patch)

    def patch_host_status(self, name: str, patch: dict[str, Any]) -> None:
        self._wrote("host-status", name, patch)
        merge(self.hosts[name].setdefault("status", {}), patch)

    # noderoles
    def list_noderoles(self, cluster: str) -> list[dict[str, Any]]:
        mine = [
            r for r in self.noderoles.values() if r["metadata"]["labels"].get("oci.openstack.org/cluster") == cluster
        ]
        return copy.deepcopy(mine)

    def apply_noderole(self, body: dict[str, Any]) -> None:
        name = body["metadata"]["name"]
        old = self.noderoles.get(name)
        generation = 1 if old is None else old["metadata"]["generation"] + (old["spec"] != body["spec"])
        self._wrote("noderole", name)
        self.noderoles[name] = copy.deepcopy(body) | {"metadata": {**body["metadata"], "generation": generation}}

    def delete_noderole(self, name: str) -> None:
        if self.noderoles.pop(name, None) is not None:
            self._wrote("delete-noderole", name)

    def record_status(self, cluster: str, patch: dict[str, Any]) -> None:
        self._wrote("cluster-status", cluster, patch)
        merge(self.cluster_status, patch)

    # what the hosts do on their own between passes
    def settle(self, failing: frozenset[str] = frozenset()) -> None:
        """One step of every host: a released available host installs; an installed one renders its
        role with its Secret and converges (or fails when named in `failing`); a host whose role was
        taken away is wiped, powered off and available."""
        for name, raw in self.hosts.items():
            spec, status = raw["spec"], raw.setdefault("status", {})
            state = status.get("provisioning", {}).get("state")
            role = spec.get("role")
            if state == "available" and role:
                status["provisioning"] = {"state": "provisioned"}
                self.log.append(("installed", name, None))
            elif state == "provisioned" and not role:
                status["provisioning"] = {"state": "available"}
                for key in ("desiredState", "conditions", "convergence"):
                    status.pop(key, None)
                self.log.append(("wiped", name, None))
            elif state == "provisioned" and role in self.noderoles:
                node_role = NodeRole.model_validate(self.noderoles[role])
                cluster = node_role.metadata_labels()["oci.openstack.org/cluster"]
                found = self.secrets.get(f"{cluster}-host-{name}")
                seen = (node_role.generation, found.resource_version if found else "", name in failing)
                if self.applied.get(name) == seen:
                    continue  # nothing new to apply: the agent's last report stands
                self.applied[name] = seen
                host = BareMetalHost.model_validate(raw)
                rendered = render_desired_state(host, node_role, found.data if found else {})
                assert not isinstance(rendered, str), rendered
                status["desiredState"] = {"hash": rendered.hash, "role": role, "roleGeneration": node_role.generation}
                ok = name not in failing
                status["conditions"] = [{
                    "type": "Converged", "status": "True" if ok else "False",
                    "reason": "Converged" if ok else "ResourcesFailed",
                    "message": "applied" if ok else "1 resource(s) failed: oci: puppet apply exit 6",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }]  # fmt: skip
                self.log.append(("converged" if ok else "failed", name, rendered.document))
