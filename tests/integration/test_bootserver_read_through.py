"""The boot server answers a boot script from its watches, which may lag the operator's last write: the
operator records the job and its token, then powers the server on, and a server that boots at once
asked before the watches delivered them (hack/chaos at N=100: 62 of 100 simulated servers were told
"disk" and their inspections timed out). A "disk" or "wait" answer is checked against a fresh read.
Here the watches are not even started, so the lag is certain; the API server is real."""

from __future__ import annotations

import threading
from typing import Any

from oci_operator.api.v1alpha1 import BareMetalHost
from oci_operator.bootserver import scripts
from oci_operator.bootserver.directory import TOKEN_SELECTOR, Directory
from oci_operator.k8s import client as k8s
from oci_operator.k8s import informer
from support.hosts import host_manifest
from support.kube import GROUP, VERSION, Kube
from support.waiting import wait_for


def test_a_fresh_read_finds_the_job_the_watches_have_not_delivered(kube: Kube, private_namespace: str) -> None:
    k8s.load(kube.kubeconfig)
    system = kube.new_namespace("p-")
    try:
        host: dict[str, Any] = kube.create(private_namespace, host_manifest("fast", "ipmi://127.0.0.1:9", "fast-bmc"))
        mac, uid = host["spec"]["bootMACAddress"].lower(), host["metadata"]["uid"]
        hosts = informer.Informer(
            "baremetalhosts", informer.custom_objects(GROUP, VERSION, "baremetalhosts", private_namespace)
        )
        tokens = informer.Informer("boot-tokens", informer.secrets(system), TOKEN_SELECTOR)
        desired = informer.Informer("desired-states", informer.secrets(system))
        directory = Directory(hosts, tokens, desired, system_namespace=system)
        for source in (hosts, tokens, desired):
            source.on_change = directory.rebuild

        def answer() -> tuple[str, str | None]:
            known = directory.by_mac(mac)
            assert known is not None
            token = directory.job_token(known)
            return scripts.boot_mode(known, token), token.boot_id if token else None

        directory.read_through(BareMetalHost.model_validate(host))  # what the watch had: no job
        assert answer() == ("disk", None)

        # The operator records the job and its token (then it would power the server on).
        k8s.patch_status(GROUP, VERSION, "baremetalhosts", private_namespace, "fast",
                         {"provisioning": {"state": "inspecting", "bootId": "job-1"}})  # fmt: skip
        k8s.ensure_boot_token(system, private_namespace, "fast", uid, mac, "job-1", install=False)
        assert answer() == ("disk", None)  # the stale view: what the server was told before

        known = directory.by_mac(mac)
        assert known is not None
        directory.read_through(known)
        assert answer() == ("inspect", "job-1")
    finally:
        kube.delete_namespace(system)


def test_a_lagging_watch_does_not_undo_a_fresher_read(kube: Kube, private_namespace: str) -> None:
    """The watch replays older versions of the host after a fresh read took the newest: each is ignored
    (before, the replayed version replaced the fresh one and the boot script said "disk" again)."""
    k8s.load(kube.kubeconfig)
    created = kube.create(private_namespace, host_manifest("lag", "ipmi://127.0.0.1:9", "lag-bmc"))
    where = (GROUP, VERSION, "baremetalhosts", private_namespace, "lag")
    for count in (1, 2):
        k8s.patch_status(*where, {"errorCount": count})
    hosts = informer.Informer(
        "baremetalhosts", informer.custom_objects(GROUP, VERSION, "baremetalhosts", private_namespace)
    )
    held: list[tuple[int, int]] = []  # (resourceVersion, errorCount) after each change the informer applied

    def note() -> None:
        [item] = hosts.items()
        held.append((int(item["metadata"]["resourceVersion"]), item.get("status", {}).get("errorCount", 0)))

    hosts.on_change = note
    hosts.refresh(private_namespace, "lag")
    assert held[-1][1] == 2
    watcher = threading.Thread(target=hosts._watch, args=(created["metadata"]["resourceVersion"],), daemon=True)
    watcher.start()  # replays errorCount 1 and 2, both no newer than what the fresh read holds
    kube.annotate(private_namespace, "BareMetalHost", "lag", {"a": "1"})  # a newer change: applied
    wait_for(lambda: len(held) >= 2, 30, "the newer change through the watch")
    hosts._stop.set()
    kube.annotate(private_namespace, "BareMetalHost", "lag", {"a": "2"})  # ends the watch at its next event
    watcher.join(30)
    versions = [version for version, _ in held]
    assert versions == sorted(versions), held
    assert [count for _, count in held][:2] == [2, 2], held  # never back to errorCount 1
