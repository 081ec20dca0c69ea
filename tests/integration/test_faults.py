"""Issue 13 in the integration tier: a lost boot command, a BMC refusing a command, reply loss across a
fleet, a role on a host that was never inspected. Real API server, operator process, IPMI simulator."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from conftest import FAST_OPERATOR, PRIVATE_PREFIX
from oci_operator.config import DEFAULT_SYSTEM_NAMESPACE
from support.apiserver_restart import start_apiserver, stop_apiserver
from support.bmcsim import SimControl, bmc_sim
from support.bootserver import BootServerProcess
from support.cluster import api_server
from support.hosts import (
    create_booting_host,
    create_host,
    host_manifest,
    ready,
    secret_manifest,
    settled,
    state,
    status,
)
from support.kube import Kube
from support.operator_process import OperatorProcess, operator_process
from support.waiting import wait_for

TIMEOUT = 90
SETTLE = 15.0  # FAST_OPERATOR's --power-settle-timeout


def between(log: list[str], first: str, second: str) -> list[str]:
    start = log.index(first)
    return log[start + 1 : log.index(second, start + 1)]


def test_a_lost_boot_power_on_is_sent_again_once_and_waiting_does_not_poll_the_bmc(
    kube: Kube, namespace: str, nodes: SimControl, bootserver: BootServerProcess, operator: OperatorProcess
) -> None:
    """The boot's power on is acknowledged but never done (as when the operator that recorded it was
    killed before sending it): after the settle time the observed "off" wins, and it is sent once more."""
    bmc = nodes.take()
    nodes.faults(bmc, lose={"power_on": 1})
    create_booting_host(kube, namespace, "lost", bmc, bmc.mac, online=False)
    wait_for(lambda: ready(kube, namespace, "lost") == ("True", "Available"), TIMEOUT * 2, "inspected after a resend")
    assert kube.warnings(namespace, "lost", "PowerCommandResent") == 1
    log = nodes.log(bmc)
    assert log.count("lost") == 1  # the first power on
    assert log.count("power_on") == 1  # the one sent again; nothing more
    # While the job waited for the settle time it read the BMC once (the check), not every 0.5 s poll;
    # the boot device read back as PXE still, so it was not set again.
    waiting = between(log, "lost", "power_on")
    assert waiting == ["get_power", "get_boot_device"], waiting
    assert "node_report" in log


def test_a_bmc_that_cannot_set_the_boot_device_warns_once_and_boots_without_it(
    kube: Kube, namespace: str, nodes: SimControl, bootserver: BootServerProcess, operator: OperatorProcess
) -> None:
    """An outside BMC answers "chassis bootdev pxe" with 0xCC (Invalid data field in request)."""
    bmc = nodes.take()
    nodes.faults(bmc, refuse={"set_boot_device": 0xCC})
    create_booting_host(kube, namespace, "nobootdev", bmc, bmc.mac, online=False)
    wait_for(lambda: ready(kube, namespace, "nobootdev") == ("False", "BMCCommandUnsupported"), TIMEOUT, "refusal")
    got = status(kube, namespace, "nobootdev")
    assert got["errorType"] == "power management error"
    assert got["errorCount"] >= 1
    assert "set boot device pxe" in got["errorMessage"]
    assert "0xCC" in got["errorMessage"]
    assert "bootDeviceControl: false" in got["errorMessage"]
    kube.patch_spec(namespace, "BareMetalHost", "nobootdev", {"bootDeviceControl": False})  # the advice
    wait_for(lambda: ready(kube, namespace, "nobootdev") == ("True", "Available"), TIMEOUT, "inspected without it")
    assert nodes.log(bmc).count("refused") == 1  # not retried while the spec asked for it
    assert kube.warnings(namespace, "nobootdev", "BMCCommandUnsupported") == 1
    assert not [e for e in kube.events(namespace, "nobootdev") if e.reason == "NetworkBoot"][1:]


def test_a_refused_power_command_counts_backs_off_and_warns_once(
    kube: Kube, namespace: str, sim: SimControl, operator: OperatorProcess
) -> None:
    bmc = sim.take()
    sim.faults(bmc, refuse={"power_on": 0xC0})  # Node Busy: worth retrying, after a backoff
    create_host(kube, namespace, "busy", bmc, online=True)
    wait_for(lambda: status(kube, namespace, "busy").get("errorCount", 0) >= 3, TIMEOUT, "three refused attempts")
    got = status(kube, namespace, "busy")
    assert ready(kube, namespace, "busy") == ("False", "PowerCommandFailed")
    assert got["errorType"] == "power management error"
    assert "power on" in got["errorMessage"]
    assert "0xC0" in got["errorMessage"]
    assert kube.warnings(namespace, "busy", "PowerCommandFailed") == 1
    times = [e["time"] for e in sim.entries_with_time(bmc) if e["command"] == "refused"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[-1] > gaps[0], gaps  # the breaker's backoff grows
    sim.faults(bmc, refuse={})
    wait_for(lambda: ready(kube, namespace, "busy") == ("True", "Available"), TIMEOUT, "healed")
    assert status(kube, namespace, "busy")["errorCount"] == 0


def test_a_role_on_a_host_whose_inspection_is_disabled_says_why(
    kube: Kube, namespace: str, sim: SimControl, operator: OperatorProcess
) -> None:
    bmc = sim.take()
    create_host(kube, namespace, "noinspect", bmc)
    wait_for(lambda: ready(kube, namespace, "noinspect") == ("True", "Available"), TIMEOUT, "available")
    kube.patch_spec(namespace, "BareMetalHost", "noinspect", {"role": "compute"})
    wait_for(lambda: ready(kube, namespace, "noinspect") == ("False", "InspectionRequired"), TIMEOUT, "the reason")
    assert "inspect.oci.openstack.org" in status(kube, namespace, "noinspect")["errorMessage"]
    assert state(kube, namespace, "noinspect") == "available"


def test_reply_loss_across_a_fleet_healthy_hosts_come_up_faulty_ones_say_why(
    kube: Kube, private_namespace: str, tmp_path: Path
) -> None:
    """40 BMCs, every one losing 20 % of its replies; two of them dead, two with a wrong password. With
    12 BMCs this passed while 100 stalled (no healthy host Ready): past ~30 BMCs the re-logins that loss
    causes came often enough to end the other BMCs' sessions faster than they were used (see
    test_ipmi_driver's test_a_new_login_to_one_bmc_leaves_the_sessions_of_other_bmcs_alive)."""
    namespace = private_namespace
    with bmc_sim(tmp_path / "sim", 40) as fleet:
        for bmc in fleet.bmcs:
            fleet.faults(bmc, drop=0.2)
        dead, wrong, healthy = fleet.bmcs[:2], fleet.bmcs[2:4], fleet.bmcs[4:]
        for bmc in dead:
            fleet.faults(bmc, silent=True)
        with operator_process(kube.kubeconfig, tmp_path, "--namespace", namespace, *FAST_OPERATOR):
            started = time.monotonic()
            for bmc in fleet.bmcs:
                password = "not-the-password" if bmc in wrong else bmc.password
                kube.create(namespace, secret_manifest(f"{bmc.name}-bmc", bmc.username, password))
                kube.create(namespace, host_manifest(bmc.name, bmc.address, f"{bmc.name}-bmc", online=True))
            for bmc in healthy:
                wait_for(lambda b=bmc: ready(kube, namespace, b.name) == ("True", "Available"), 180, f"{bmc.name}")
            healthy_s = time.monotonic() - started
            expected = [*((b, "BMCUnreachable") for b in dead), *((b, "CredentialsRejected") for b in wrong)]
            for bmc, reason in expected:
                wait_for(lambda b=bmc, r=reason: ready(kube, namespace, b.name) == ("False", r), 120, bmc.name)
            print(f"{len(healthy)} healthy hosts Ready under 20 % reply loss in {healthy_s:.0f}s")
            for bmc in healthy:
                assert fleet.count(bmc, "power_on") == 1, bmc.name  # every one powered on once, no more
            for bmc in fleet.bmcs:
                warnings = [e for e in kube.events(namespace, bmc.name) if e.type == "Warning"]
                reasons = [e.reason for e in warnings]
                assert len(reasons) == len(set(reasons)), (bmc.name, reasons)  # one per distinct error


def test_an_api_server_restart_mid_run_loses_nothing_and_the_operator_resumes(tmp_path: Path) -> None:
    """An API server of its own (the shared one serves other tests): killed and started again while the
    operator runs; afterwards a spec change is acted on within 30 s and no host lost its state."""
    with api_server(tmp_path / "api") as kubeconfig, bmc_sim(tmp_path / "sim", 3) as fleet:
        kube = Kube.connect(kubeconfig)
        kube.apply_crds()
        kube.ensure_namespace(DEFAULT_SYSTEM_NAMESPACE)
        namespace = kube.new_namespace(PRIVATE_PREFIX)
        with operator_process(kubeconfig, tmp_path, "--namespace", namespace, *FAST_OPERATOR):
            for bmc in fleet.bmcs:
                create_host(kube, namespace, bmc.name, bmc)
            for bmc in fleet.bmcs:
                wait_for(lambda b=bmc: settled(kube, namespace, b.name, False), TIMEOUT, f"{bmc.name} settled")
            argv = stop_apiserver(tmp_path / "api")
            start_apiserver(tmp_path / "api", argv)
            first = fleet.bmcs[0]
            wait_for(lambda: _patched(kube, namespace, first.name), 120, "the API server back, taking a change")
            back = time.monotonic()
            wait_for(lambda: settled(kube, namespace, first.name, True), 30, "the operator acting again")
            print(f"acted on a spec change {time.monotonic() - back:.1f}s after the API server came back")
            for bmc in fleet.bmcs:
                assert state(kube, namespace, bmc.name) == "available"
            assert fleet.count(first, "power_on") == 1
            assert sum(fleet.count(b, "power_on") for b in fleet.bmcs[1:]) == 0


def _patched(kube: Kube, namespace: str, name: str) -> bool:
    """spec.online set to true, once the restarted API server serves our resources again."""
    try:
        kube.patch_spec(namespace, "BareMetalHost", name, {"online": True})
    except Exception:  # refused connection, 503 "server is starting"
        return False
    return True
