"""The three topologies of issue 10 (minimal; +ceph; large) as cluster specs and hosts, shared by the
plan's unit tests and the catalog compilation against the real puppet-module-oci; and a fleet of
simulated servers for a cloud: mixed hardware, a Secret and a BareMetalHost per server, a stand-in node
agent with a delay and a fault knob per host::

    with cloud_fleet(workdir, bootserver.url, [CONTROLLER] * 3 + [COMPUTE] * 2 + [SMALL], prefix="c1") as fleet:
        fleet.create_hosts(kube, ns, ["c1-000", ..., "c1-004"], labels={"c1-000": {"rack": "r1"}})
        fleet.fault("c1-003", "nova-compute failed")  # its agent reports this failure from its next run ...
        fleet.heal("c1-003")                          # ... until this
        fleet.agent_delay("c1-001", 5)                # a slow apply
        fleet.create_host(kube, ns, "c1-005")         # a spare joins later (a fleet's size is fixed at start)

Every server PXE-boots from the boot server, reports its profile's hardware when inspected (CONTROLLER,
COMPUTE, STORAGE, SMALL below; the format: oci_operator/bmc/sim/hardware.py) and, once installed, runs the
stand-in node agent (bmc/sim/standin.py): it fetches its desired state over the agents' HTTPS port with
its credential and reports convergence `agent_delay` s later, again every `agent_interval` s (a new
desired state is applied and reported on the next run). BareMetalHosts are named like their BMCs,
online, inspected (not disabled) and carry no role: the cluster's host selection gives them one.
`fleet.control` is the simulator's SimControl (power and command logs, BMC faults)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oci_operator.api.v1alpha1.openstackcluster import CloudRole, OpenStackClusterSpec
from oci_operator.cloud.topology import ClusterHost

from .bmcsim import SimBMC, SimControl, bmc_sim
from .hosts import host_manifest, secret_manifest
from .kube import Kube

CLUSTER = "cloud1"

MINIMAL = {CloudRole.CONTROLLER: 3, CloudRole.COMPUTE: 2}
WITH_CEPH = MINIMAL | {CloudRole.CEPHMON: 3, CloudRole.CEPHOSD: 3}
LARGE = WITH_CEPH | {
    CloudRole.MESSAGING: 3,
    CloudRole.NETWORK: 2,
    CloudRole.VOLUME: 2,
    CloudRole.SWIFTPROXY: 2,
    CloudRole.SWIFTSTORE: 3,
    CloudRole.TEMPEST: 1,
}
TOPOLOGIES = {"minimal": MINIMAL, "ceph": WITH_CEPH, "large": LARGE}


def spec_dict(roles: dict[CloudRole, int], **extra: Any) -> dict[str, Any]:
    vips = {"messagingVip": {"address": "10.20.0.6"}} if roles.get(CloudRole.MESSAGING) else {}
    return vips | {
        "domain": "cloud1.example.net",
        "region": "RegionOne",
        "managementNetwork": {
            "cidr": "10.20.0.0/24",
            "gateway": "10.20.0.1",
            "addressRange": {"start": "10.20.0.10", "end": "10.20.0.200"},
            "dnsServers": ["10.20.0.2", "10.20.0.3"],
            "ntpServers": ["ntp1.example.net"],
        },
        "apiVip": {"address": "10.20.0.5", "hostname": "api.cloud1.example.net"},
        "roles": {str(role): count for role, count in roles.items()},
        **extra,
    }


def spec_for(roles: dict[CloudRole, int], **extra: Any) -> OpenStackClusterSpec:
    return OpenStackClusterSpec.model_validate(spec_dict(roles, **extra))


def hosts_for(roles: dict[CloudRole, int]) -> list[ClusterHost]:
    """BareMetalHosts named in reverse so the plan's own ordering (by hostname) is what is tested."""
    disks = {CloudRole.CEPHOSD, CloudRole.SWIFTSTORE, CloudRole.VOLUME}
    return [
        ClusterHost(f"bmh-{role}-{chr(ord('z') - i)}", role, block_devices=("sdb", "sdc") if role in disks else ())
        for role, count in roles.items()
        for i in range(count)
    ]


# Hardware profiles (oci_operator/bmc/sim/hardware.py) in the spirit of OCI's hardware-profiles.json.
CONTROLLER: dict[str, Any] = {
    "product": "SimServer 1U",
    "ramGiB": 128,
    "cpus": 16,
    "disks": [{"count": 2, "sizeGB": 480}],
    "nics": {"count": 2, "speedMbps": 10000},
}
COMPUTE: dict[str, Any] = {
    "product": "SimServer 2U",
    "ramGiB": 256,
    "cpus": 64,
    "disks": [{"count": 2, "sizeGB": 960}],
    "nics": {"count": 4, "speedMbps": 25000},
}
STORAGE: dict[str, Any] = {
    "product": "SimStorage 4U",
    "ramGiB": 64,
    "cpus": 16,
    "disks": [{"count": 2, "sizeGB": 480}, {"count": 8, "sizeGB": 8000, "rotational": True}],
    "nics": {"count": 2, "speedMbps": 25000},
}
SMALL: dict[str, Any] = {"product": "SimServer 1U", "ramGiB": 32, "cpus": 8,
                         "disks": [{"count": 1, "sizeGB": 240}], "nics": {"count": 1, "speedMbps": 1000}}  # fmt: skip


@dataclass
class CloudFleet:
    control: SimControl
    profiles: list[dict[str, Any]]  # by fleet index

    @property
    def bmcs(self) -> dict[str, SimBMC]:
        return {bmc.name: bmc for bmc in self.control.bmcs}

    def manifests(self, name: str, labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """The Secret and the BareMetalHost (named like the BMC) for one server."""
        bmc = self.bmcs[name]
        host = host_manifest(name, bmc.address, f"{name}-bmc", online=True)
        host["metadata"] = {"name": name, "labels": labels or {}}  # inspected: its hardware is what selects it
        host["spec"]["bootMACAddress"] = bmc.mac
        return [secret_manifest(f"{name}-bmc", bmc.username, bmc.password), host]

    def create_host(self, kube: Kube, namespace: str, name: str, labels: dict[str, str] | None = None) -> None:
        for manifest in self.manifests(name, labels):
            kube.create(namespace, manifest)

    def create_hosts(
        self,
        kube: Kube,
        namespace: str,
        names: list[str] | None = None,
        labels: dict[str, dict[str, str]] | None = None,
    ) -> list[str]:
        """Secrets and BareMetalHosts for `names` (default: every server); `labels` by host name."""
        chosen = list(self.bmcs) if names is None else names
        for name in chosen:
            self.create_host(kube, namespace, name, (labels or {}).get(name))
        return chosen

    def fault(self, name: str, message: str) -> None:
        """The host's agent reports a failed resource with `message` from its next run (which starts now)."""
        self.control.agent(self.bmcs[name], fault=message)

    def heal(self, name: str) -> None:
        self.control.agent(self.bmcs[name], fault="")

    def agent_delay(self, name: str, seconds: float) -> None:
        self.control.agent(self.bmcs[name], delay=seconds)

    def agent_log(self, name: str) -> list[str]:
        """What the host's stand-in agent did: node_agent_* entries of the simulator's log."""
        return [f"{c}: {d}" for c, d in self.control.entries(self.bmcs[name]) if c.startswith("node_agent_")]


@contextmanager
def cloud_fleet(
    workdir: Path,
    boot_server_url: str,
    profiles: list[dict[str, Any]],
    *,
    prefix: str = "cloud",
    first_mac: str = "52:54:00:c2:00:00",
    agent_delay: float = 0.5,
    agent_interval: float = 2.0,
    install_seconds: float = 0.3,
) -> Iterator[CloudFleet]:
    """len(profiles) simulated servers, server i with hardware profiles[i] (named PREFIX-00i), running the
    stand-in agent once installed. Give each fleet its own prefix and first MAC: boot MACs are unique
    across the API server."""
    workdir.mkdir(parents=True, exist_ok=True)
    hardware = workdir / "hardware.json"
    hardware.write_text(json.dumps({f"{prefix}-{i:03d}": profile for i, profile in enumerate(profiles)}))
    args = (
        *("--prefix", prefix, "--first-mac", first_mac, "--boot-server", boot_server_url),
        *("--hardware", str(hardware), "--install-seconds", str(install_seconds), "--stand-in-agent"),
        *("--agent-delay", str(agent_delay), "--agent-interval", str(agent_interval)),
    )
    with bmc_sim(workdir, len(profiles), *args) as control:
        yield CloudFleet(control, profiles)
