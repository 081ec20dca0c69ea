"""A boot job does not poll for its node: the node's report, written by the boot server, reaches the
operator through its watch and wakes the host at once. With the fallback poll set far beyond the test's
timeout, the inspections can only finish in time if the reports wake them."""

from __future__ import annotations

from pathlib import Path

from conftest import FAST_OPERATOR
from support.bootserver import BootServerProcess
from support.cloud import SMALL, cloud_fleet
from support.hosts import ready, status
from support.kube import Kube
from support.operator_process import operator_process
from support.waiting import wait_for

NEVER = "3600"  # longer than the whole test
TIMEOUT = 120


def test_a_nodes_report_wakes_its_boot_job(
    kube: Kube, private_namespace: str, bootserver: BootServerProcess, tmp_path: Path
) -> None:
    namespace = private_namespace
    args = ("--namespace", namespace, *FAST_OPERATOR, "--boot-poll-interval", NEVER, "--power-settle-timeout", NEVER)
    with (
        cloud_fleet(
            tmp_path / "fleet", bootserver.url, [SMALL, SMALL], prefix="wk", first_mac="52:54:00:c5:00:00"
        ) as fleet,
        operator_process(kube.kubeconfig, tmp_path, *args),
    ):
        names = fleet.create_hosts(kube, namespace)
        available = ("True", "Available")
        wait_for(lambda: all(ready(kube, namespace, n) == available for n in names), TIMEOUT, "inspected")
        for name in names:
            assert status(kube, namespace, name)["hardware"]["ramMebibytes"] == SMALL["ramGiB"] * 1024
        # Gone while their operator runs: left to the namespace's deletion, they would keep its finalizer
        # and go on claiming their boot MACs on the shared boot server.
        for name in names:
            kube.delete(namespace, "BareMetalHost", name)
        wait_for(lambda: not any(kube.exists(namespace, "BareMetalHost", n) for n in names), TIMEOUT, "deleted")
