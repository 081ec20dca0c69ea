"""Issue 13 (b): an API server that does not serve our kinds for a while, as a restarted one does until
it has loaded its CRDs (404 for oci.openstack.org), deterministically through a proxy in front of the
real API server. Before oci_operator.supervise, kopf's watch met the 404 on reconnecting and kopf ended
its run: the process stayed up and served nothing; one started during the outage never served."""

from __future__ import annotations

import signal
from pathlib import Path

from conftest import FAST_OPERATOR, PRIVATE_PREFIX
from support.api_proxy import api_proxy
from support.bmcsim import bmc_sim
from support.hosts import create_host, settled
from support.kube import GROUP, Kube
from support.operator_process import operator_process
from support.waiting import wait_for

TIMEOUT = 90


def test_an_operator_started_while_our_kinds_are_not_served_waits_live_then_serves(kube: Kube, tmp_path: Path) -> None:
    namespace = kube.new_namespace(PRIVATE_PREFIX)
    with bmc_sim(tmp_path / "sim", 1) as fleet, api_proxy(kube.kubeconfig, tmp_path) as proxy:
        proxy.hide(GROUP)
        with operator_process(proxy.kubeconfig, tmp_path, "--namespace", namespace, *FAST_OPERATOR) as op:
            # operator_process waited for liveness: it answers while the operator waits for the API
            wait_for(lambda: "waiting for the API server to serve our kinds" in op.log(), TIMEOUT, "the wait said")
            assert "HTTP 404" in op.log()
            [bmc] = fleet.bmcs
            create_host(kube, namespace, bmc.name, bmc, online=True)
            proxy.show(GROUP)
            wait_for(lambda: settled(kube, namespace, bmc.name, True), TIMEOUT, "the host served once the API is")
            assert fleet.count(bmc, "power_on") == 1


def test_our_kinds_gone_mid_run_kopf_is_run_again_and_nothing_is_lost(kube: Kube, tmp_path: Path) -> None:
    namespace = kube.new_namespace(PRIVATE_PREFIX)
    with (
        bmc_sim(tmp_path / "sim", 2) as fleet,
        api_proxy(kube.kubeconfig, tmp_path) as proxy,
        operator_process(proxy.kubeconfig, tmp_path, "--namespace", namespace, *FAST_OPERATOR) as op,
    ):
        for bmc in fleet.bmcs:
            create_host(kube, namespace, bmc.name, bmc)
        for bmc in fleet.bmcs:
            wait_for(lambda b=bmc: settled(kube, namespace, b.name, False), TIMEOUT, f"{bmc.name} settled")

        proxy.hide(GROUP)  # the watches end; reconnecting, they get 404
        wait_for(lambda: "kopf stopped without being asked to" in op.log(), TIMEOUT, "kopf's run to end")
        assert op.process.poll() is None
        proxy.show(GROUP)
        first, second = fleet.bmcs
        kube.patch_spec(namespace, "BareMetalHost", first.name, {"online": True})
        wait_for(lambda: settled(kube, namespace, first.name, True), TIMEOUT, "the operator acting again")
        assert "oci_operator_restarts_total 1.0" in op.metrics()
        assert fleet.count(first, "power_on") == 1
        assert fleet.count(second, "power_on") == 0
        assert settled(kube, namespace, second.name, False)  # its state survived the outage

        op.process.send_signal(signal.SIGTERM)  # a signal still stops it, at once and cleanly
        assert op.process.wait(timeout=30) == 0
