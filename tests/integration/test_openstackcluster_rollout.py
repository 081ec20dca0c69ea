"""Issue 11 end to end on the real API server, boot server and operator, with simulated servers that
PXE-boot, get inspected (mixed hardware), install, and then run a stand-in node agent: a cloud of 3
controllers, 2 computes, 1 messaging, 3 cephmon and 3 cephosd goes from `kubectl apply` to Ready in
OCI's order (recorded by a watch), with the controllers' initial_cluster_setup flip; a role short of
hosts stalls until a matching host comes; a failing compute shows on the host, its NodeRole and the
cluster and heals; a compute taken away is wiped and powered off once, its address freed and its
peers re-rendered; deleting the cluster gives every host back (one wipe and one power-off each)."""

from __future__ import annotations

import base64
import itertools
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import watch

from oci_operator.config import DEFAULT_SYSTEM_NAMESPACE
from oci_operator.k8s.cluster_secrets import stored_name
from support.bootserver import BootServerProcess
from support.cloud import COMPUTE, CONTROLLER, SMALL, STORAGE, CloudFleet, cloud_fleet, spec_dict
from support.kube import Kube, condition
from support.operator_process import OperatorProcess
from support.waiting import wait_for

ROLLOUT = 900  # a whole cloud, step after step, on a loaded machine
TIMEOUT = 300
NAME = "c1"
ORDER = ["cephmon", "cephosd", "messaging", "controller", "compute"]
ROLES = {"controller": 3, "compute": 2, "messaging": 1, "cephmon": 3, "cephosd": 3}
# Fleet index -> hardware: 0-5 controller-class (controllers, then cephmons), 6-7 computes (7 joins
# late), 8-10 storage, 11 a small host labelled for messaging, 12 a small host nothing wants.
PROFILES = [CONTROLLER] * 6 + [COMPUTE] * 2 + [STORAGE] * 3 + [SMALL] * 2


def cluster_manifest() -> dict[str, Any]:
    profiles = [
        {"name": "ctl", "productNames": ["SimServer 1U"], "ramMinGib": 128, "cpuCountMin": 16},
        {"name": "compute", "ramMinGib": 256, "nicCountMin": 4, "nicSpeedMinMbps": 25000},
        {"name": "storage", "diskRotational": True, "diskCountMin": 4},
    ]
    selection = {
        "controller": {"profiles": ["ctl"]},
        "cephmon": {"profiles": ["ctl"]},
        "compute": {"profiles": ["compute"]},
        "cephosd": {"profiles": ["storage"]},
        "messaging": {"matchLabels": {"rack": "msg"}},
    }
    spec = spec_dict({}, hardwareProfiles=profiles, selection=selection) | {"roles": ROLES}
    spec["messagingVip"] = {"address": "10.20.0.6"}
    return {"apiVersion": "oci.openstack.org/v1alpha1", "kind": "OpenStackCluster", "metadata": {"name": NAME},
            "spec": spec}  # fmt: skip


class Recorder:
    """From a watch on the namespace's hosts: when each host was first seen provisioning, and every
    (time, desired-state hash) at which it was seen Converged=True."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.started: dict[str, float] = {}
        self.converged: dict[str, list[tuple[float, str]]] = {}
        self._watch = watch.Watch()
        own = Kube.connect(kube.kubeconfig)  # its own connections: a watch must not share the test's pool
        self._thread = threading.Thread(target=self._run, args=(own, namespace), daemon=True)
        self._thread.start()

    def _run(self, kube: Kube, namespace: str) -> None:
        stream = self._watch.stream(kube.custom.list_namespaced_custom_object, "oci.openstack.org", "v1alpha1",
                                    namespace, "baremetalhosts", timeout_seconds=3600)  # fmt: skip
        try:
            for event in stream:
                self._record(event["object"], time.monotonic())
        except Exception:  # the watch ends with the test (stop) or the API server
            return

    def _record(self, obj: dict[str, Any], now: float) -> None:
        name, status = obj["metadata"]["name"], obj.get("status") or {}
        if ((status.get("provisioning") or {}).get("state")) == "provisioning":
            self.started.setdefault(name, now)
        cond = condition(obj, "Converged")
        digest = (status.get("desiredState") or {}).get("hash", "")
        runs = self.converged.setdefault(name, [])
        if cond and cond["status"] == "True" and (not runs or runs[-1][1] != digest):
            runs.append((now, digest))

    def stop(self) -> None:
        self._watch.stop()


def cluster(kube: Kube, namespace: str) -> dict[str, Any]:
    return kube.get(namespace, "OpenStackCluster", NAME)


def ready(kube: Kube, namespace: str) -> tuple[str, str, str] | None:
    obj = cluster(kube, namespace)
    cond = condition(obj, "Ready")
    return (cond["status"], cond["reason"], cond["message"]) if cond else None


def role_of(obj: dict[str, Any], host: str) -> str:
    return str(obj["status"]["hosts"][host]["role"])


def host_secret(kube: Kube, namespace: str, host: str) -> dict[str, str]:
    found = kube.core.read_namespaced_secret(stored_name(namespace, f"{NAME}-host-{host}"), DEFAULT_SYSTEM_NAMESPACE)
    return {k: base64.b64decode(v).decode() for k, v in found.data.items()}


def given_back(kube: Kube, namespace: str, host: str) -> bool:
    """Wiped, available, off and unclaimed."""
    obj = kube.get(namespace, "BareMetalHost", host)
    status = obj.get("status") or {}
    return (
        (status.get("provisioning") or {}).get("state") == "available"
        and status.get("poweredOn") is False
        and "consumerRef" not in obj["spec"]
    )


def bmc_counts(fleet: CloudFleet, host: str, since: int) -> tuple[int, int]:
    """(wipes reported, power-offs) in the host's simulated BMC log after entry `since`."""
    entries = fleet.control.entries(fleet.bmcs[host])[since:]
    return (sum(c == "node_report" and d.startswith("wiped") for c, d in entries),
            sum(c == "power_off" for c, _ in entries))  # fmt: skip


@pytest.mark.timeout(2400)  # thirteen servers installed step after step, healed, given back: beyond the default
def test_a_cloud_from_apply_to_ready_in_ocis_order_then_heal_scale_down_and_delete(
    kube: Kube, namespace: str, bootserver: BootServerProcess, operator: OperatorProcess, tmp_path: Path
) -> None:
    with cloud_fleet(tmp_path / "fleet", bootserver.url, PROFILES, prefix="oc", first_mac="52:54:00:c4:00:00") as fleet:
        names = list(fleet.bmcs)
        late_compute, spare = names[7], names[12]
        recorder = Recorder(kube, namespace)
        fleet.create_hosts(
            kube, namespace, [n for n in names if n != late_compute], labels={names[11]: {"rack": "msg"}}
        )
        kube.create(namespace, cluster_manifest())

        # One compute only: the roll-out goes as far as it can and stalls on the compute step, saying why.
        # (Until inspection reports the hardware, every profile-selected role is short too.)
        short = wait_for(
            lambda: (r := ready(kube, namespace)) and r[2].startswith("compute 1/2") and r, ROLLOUT, "compute short"
        )
        assert short[:2] == ("False", "RoleShort"), short
        assert short[2].startswith("compute 1/2: 1 host(s) short of 2"), short
        obj = cluster(kube, namespace)
        assert condition(obj, "Stalled")["status"] == "True"
        assert obj["status"]["roles"]["compute"]["shortReason"]
        why = kube.get(namespace, "BareMetalHost", spare)["status"]["selection"][NAME]
        assert "RAM 32 GiB < 128 GiB required by profile ctl" in why, why
        assert "RAM 32 GiB < 256 GiB required by profile compute" in why, why
        assert {h: role_of(obj, h) for h in obj["status"]["hosts"]} == {
            **{n: "controller" for n in names[0:3]}, **{n: "cephmon" for n in names[3:6]}, names[6]: "compute",
            **{n: "cephosd" for n in names[8:11]}, names[11]: "messaging",
        }  # fmt: skip

        # A matching host joins: the roll-out resumes and the cloud becomes Ready.
        fleet.create_host(kube, namespace, late_compute)
        done = wait_for(lambda: (r := ready(kube, namespace)) and r[0] == "True" and r, ROLLOUT, "cluster Ready")
        assert done[1] == "Converged"
        obj = cluster(kube, namespace)
        assert obj["status"]["rollout"]["phase"] == "Complete"
        assert obj["status"]["initialSetupDone"] is True
        assert all(r["converged"] == r["desired"] for r in obj["status"]["roles"].values()), obj["status"]["roles"]
        addresses = {h: v["address"] for h, v in obj["status"]["hosts"].items()}
        assert len(set(addresses.values())) == 13 - 1  # every host taken but the spare
        # `kubectl get bmh -o wide` shows each taken host's place (status.cloud) as the cluster records it.
        for host, placed in obj["status"]["hosts"].items():
            shown = kube.get(namespace, "BareMetalHost", host)["status"]["cloud"]
            assert shown == {"cluster": NAME} | {k: placed[k] for k in ("role", "hostname", "address")}, shown

        # The watch: each step started provisioning only after every earlier step had converged.
        by_role: dict[str, list[str]] = {}
        for host in obj["status"]["hosts"]:
            by_role.setdefault(role_of(obj, host), []).append(host)
        started = {r: min(recorder.started[h] for h in hs) for r, hs in by_role.items()}
        converged = {r: max(recorder.converged[h][0][0] for h in hs) for r, hs in by_role.items()}
        assert sorted(started, key=started.__getitem__) == ORDER, started
        for earlier, later in itertools.pairwise(ORDER):
            assert converged[earlier] <= started[later], (earlier, later, converged, started)
        # The controllers converged twice: initial_cluster_setup true, then false; computes came after.
        for host in by_role["controller"]:
            runs = recorder.converged[host]
            assert len(runs) >= 2, runs
            assert yaml.safe_load(host_secret(kube, namespace, host)["hiera.yaml"])[
                "oci::controller::initial_cluster_setup"] is False  # fmt: skip
        second = max(recorder.converged[h][1][0] for h in by_role["controller"])
        assert second <= started["compute"]

        # A compute fails convergence: on the host, its NodeRole and the cluster; healed, all three recover.
        failing = names[6]
        fleet.fault(failing, "nova-compute did not start")
        host_cond = wait_for(
            lambda: (c := condition(kube.get(namespace, "BareMetalHost", failing), "Converged")) and
            c["reason"] == "ResourcesFailed" and c, TIMEOUT, "the compute failing")  # fmt: skip
        assert "nova-compute did not start" in host_cond["message"]
        role_name = f"{NAME}-{failing}"
        wait_for(lambda: (condition(kube.get(namespace, "NodeRole", role_name), "Ready") or {}).get("reason")
                 == "HostsFailed", TIMEOUT, "its NodeRole failing")  # fmt: skip
        failed = wait_for(lambda: (r := ready(kube, namespace)) and r[1] == "HostFailed" and r, TIMEOUT, "cluster")
        assert failing in failed[2]
        assert "nova-compute did not start" in failed[2]
        assert condition(cluster(kube, namespace), "Stalled")["status"] == "True"
        fleet.heal(failing)
        wait_for(lambda: (condition(kube.get(namespace, "NodeRole", role_name), "Ready") or {}).get("status")
                 == "True", TIMEOUT, "its NodeRole healed")  # fmt: skip
        wait_for(lambda: (r := ready(kube, namespace)) and r[0] == "True", TIMEOUT, "cluster healed")

        # Scale-down: the compute that goes is wiped and powered off once; its address is freed and
        # its peers get a new NodeRole generation (their /etc/hosts no longer lists it).
        gone = max(by_role["compute"])
        peer = by_role["controller"][0]
        peer_generation = kube.get(namespace, "NodeRole", f"{NAME}-{peer}")["metadata"]["generation"]
        mark = len(fleet.control.entries(fleet.bmcs[gone]))
        kube.patch_spec(namespace, "OpenStackCluster", NAME, {"roles": ROLES | {"compute": 1}})
        wait_for(lambda: given_back(kube, namespace, gone), TIMEOUT, "the compute given back")
        assert bmc_counts(fleet, gone, mark) == (1, 1)
        spec = kube.get(namespace, "BareMetalHost", gone)["spec"]
        assert "consumerRef" not in spec
        assert "role" not in spec
        obj = wait_for(lambda: (o := cluster(kube, namespace)) and gone not in o["status"]["hosts"] and o, TIMEOUT,
                       "its address released")  # fmt: skip
        assert addresses[gone] not in {v["address"] for v in obj["status"]["hosts"].values()}
        # kopf holds a NodeRole (its timer's finalizer) until it stopped the timer: deleted, then gone.
        wait_for(lambda: not kube.exists(namespace, "NodeRole", f"{NAME}-{gone}"), TIMEOUT, "its NodeRole deleted")
        wait_for(lambda: kube.get(namespace, "NodeRole", f"{NAME}-{peer}")["metadata"]["generation"] > peer_generation,
                 TIMEOUT, "peers re-rendered")  # fmt: skip
        wait_for(lambda: (r := ready(kube, namespace)) and r[0] == "True", ROLLOUT, "Ready after the scale-down")

        # Deletion: every host given back (one wipe, one power-off each), NodeRoles and Secrets gone.
        taken = [h for h in cluster(kube, namespace)["status"]["hosts"]]
        marks = {h: len(fleet.control.entries(fleet.bmcs[h])) for h in taken}
        kube.delete(namespace, "OpenStackCluster", NAME)
        wait_for(lambda: not kube.exists(namespace, "OpenStackCluster", NAME), TIMEOUT, "the cluster deleted")

        wait_for(lambda: all(given_back(kube, namespace, h) for h in taken), ROLLOUT, "every host given back")
        assert {h: bmc_counts(fleet, h, marks[h]) for h in taken} == {h: (1, 1) for h in taken}
        wait_for(
            lambda: (
                not kube.custom.list_namespaced_custom_object("oci.openstack.org", "v1alpha1", namespace, "noderoles")[
                    "items"
                ]
            ),
            TIMEOUT,
            "every NodeRole deleted",
        )
        left = kube.core.list_namespaced_secret(DEFAULT_SYSTEM_NAMESPACE).items
        assert not [s.metadata.name for s in left if s.metadata.name.startswith(f"{namespace}.{NAME}-")]
        recorder.stop()
        assert operator.process.poll() is None
