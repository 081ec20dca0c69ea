"""Deleting a host whose BMC does not answer (issue 17, bug 7): nothing to power off if it never
registered; otherwise the host says why its delete waits, and a pause added to let it go works at once."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import FAST_OPERATOR
from support.bmcsim import SimControl
from support.hosts import create_host, ready, settled
from support.kube import Kube
from support.operator_process import OperatorProcess, operator_process
from support.waiting import wait_for

TIMEOUT = 90
PAUSED = "paused.oci.openstack.org"
# A long BMC backoff, as after a few real failures: kopf's retry delay would follow it.
SLOW_BACKOFF = ("--bmc-backoff-base", "120", "--bmc-backoff-cap", "600")


@pytest.fixture
def slow_operator(kube: Kube, private_namespace: str, tmp_path: Path) -> Iterator[OperatorProcess]:
    args = ("--namespace", private_namespace, *FAST_OPERATOR, *SLOW_BACKOFF)
    with operator_process(kube.kubeconfig, tmp_path, *args) as op:
        yield op


def test_a_host_that_never_registered_is_deleted_without_waiting_for_its_bmc(
    kube: Kube, sim: SimControl, private_namespace: str, slow_operator: OperatorProcess
) -> None:
    namespace, bmc = private_namespace, sim.take()
    sim.faults(bmc, silent=True)
    create_host(kube, namespace, "mute", bmc)
    # One unanswered login is not yet reported on the host (a lost reply is no outage), and the slow backoff
    # holds the second one off for minutes: the operator's own count says the registration failed.
    tried = re.compile(r'oci_bmc_calls_total\{operation="check_credentials",result="(unreachable|timeout)"\} [1-9]')
    wait_for(lambda: tried.search(slow_operator.metrics()), TIMEOUT, "a failed registration")
    assert "goodCredentials" not in (kube.get(namespace, "BareMetalHost", "mute").get("status") or {})  # unproven
    kube.delete(namespace, "BareMetalHost", "mute")
    wait_for(lambda: not kube.exists(namespace, "BareMetalHost", "mute"), 30, "the finalizer to let go")
    assert "never registered" in slow_operator.log()
    sim.faults(bmc, silent=False)
    assert sim.count(bmc, "power_off") == 0


def test_a_delete_waiting_for_the_bmc_says_so_and_a_pause_lets_go_at_once(
    kube: Kube, sim: SimControl, private_namespace: str, slow_operator: OperatorProcess
) -> None:
    namespace, bmc = private_namespace, sim.take()
    create_host(kube, namespace, "gone", bmc, online=True)
    wait_for(lambda: settled(kube, namespace, "gone", True), TIMEOUT, "Available with power on")
    sim.faults(bmc, silent=True)
    kube.delete(namespace, "BareMetalHost", "gone")
    wait_for(
        lambda: ready(kube, namespace, "gone") == ("False", "PoweringOffBeforeDelete"), TIMEOUT, "the reason on status"
    )
    wait_for(lambda: kube.warnings(namespace, "gone", "PoweringOffBeforeDelete") == 1, TIMEOUT, "one Warning")
    conditions = {c["type"]: c for c in kube.get(namespace, "BareMetalHost", "gone")["status"]["conditions"]}
    assert PAUSED in conditions["Ready"]["message"]  # it says how to let go
    assert conditions["Stalled"]["status"] == "True"

    kube.annotate(namespace, "BareMetalHost", "gone", {PAUSED: "BMC dead, server pulled"})
    paused = time.monotonic()
    wait_for(lambda: not kube.exists(namespace, "BareMetalHost", "gone"), 30, "the pause to let the delete go")
    # Far below the BMC's 120 s backoff, which kopf's own retry delay used to follow.
    print(f"deleted {time.monotonic() - paused:.1f}s after the pause annotation")
    assert kube.warnings(namespace, "gone", "PoweringOffBeforeDelete") == 1  # once, not per retry
    sim.faults(bmc, silent=False)
    assert sim.state(bmc)["poweredOn"] is True  # left as it was: paused means hands off
