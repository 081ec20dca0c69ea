"""A host's life through the boot server, with a simulated server behind a simulated BMC: it follows
the PXE chain over HTTP (boot script, kernel, initrd, preseed) and makes the installer's callbacks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.bmcsim import SimControl
from support.bootserver import BootServerProcess
from support.hosts import create_booting_host, ready, state, status
from support.kube import Kube
from support.operator_process import OperatorProcess, http_get, operator_process
from support.waiting import wait_for
from support.watching import StateRecorder

TIMEOUT = 60


@pytest.fixture
def recorder(kube: Kube, namespace: str) -> Iterator[StateRecorder]:
    rec = StateRecorder(kube, namespace, "srv")
    yield rec
    rec.stop()


def node_steps(nodes: SimControl, bmc: object) -> list[str]:
    return [c for c, _ in nodes.entries(bmc) if c.startswith("node_") or c.startswith("set_boot")]  # type: ignore[arg-type]


def test_registering_inspecting_available_provisioning_provisioned_then_back(
    kube: Kube,
    namespace: str,
    nodes: SimControl,
    bootserver: BootServerProcess,
    operator: OperatorProcess,
    recorder: StateRecorder,
) -> None:
    bmc = nodes.take()
    create_booting_host(kube, namespace, "srv", bmc, bmc.mac, online=True)
    wait_for(lambda: ready(kube, namespace, "srv") == ("True", "Available"), TIMEOUT, "inspection to finish")
    hardware = status(kube, namespace, "srv")["hardware"]
    assert hardware["cpu"]["count"] == 8
    assert [d["name"] for d in hardware["disks"]] == ["/dev/sda", "/dev/sdb"]
    assert hardware["nics"][0]["mac"] == bmc.mac
    assert hardware["nics"][0]["lldp"]["switch"] == "sim-tor-1"

    kube.patch_spec(namespace, "BareMetalHost", "srv", {"role": "compute", "rootDeviceHints": {"rotational": True}})
    wait_for(lambda: state(kube, namespace, "srv") == "provisioned", TIMEOUT, "provisioned")
    wait_for(lambda: ready(kube, namespace, "srv") == ("True", "Available"), TIMEOUT, "Ready after provisioning")
    assert recorder.states[:5] == ["registering", "inspecting", "available", "provisioning", "provisioned"]
    assert status(kube, namespace, "srv")["provisioning"]["rootDevice"] == ["/dev/sdb"]  # the hinted disk

    steps = node_steps(nodes, bmc)
    install = steps[steps.index("node_report") + 1 :]  # after the inspection's report
    assert install[:3] == ["set_boot_device", "node_pxe_script", "node_pxe_images"]
    assert "node_preseed" in install
    assert install.count("node_report") == 2  # installing, installed
    # The installer reboots; the boot server now says "local disk", and the BMC is told so too.
    assert "node_pxe_exit" in install
    assert "node_os_running" in install
    script = http_get(f"{bootserver.url}/v1/boot/{bmc.mac.replace(':', '-')}.ipxe") or ""
    assert "\nexit" in script
    assert "kernel" not in script
    wait_for(lambda: nodes.state(bmc)["bootDevice"] == "hd" and nodes.state(bmc)["bootPersistent"], 10, "disk boot")

    # Removing the role deprovisions: the disks are wiped and the host is available again.
    kube.patch_spec(namespace, "BareMetalHost", "srv", {"role": None})
    wait_for(lambda: state(kube, namespace, "srv") == "available", TIMEOUT, "available after deprovisioning")
    assert recorder.states[-3:] == ["provisioned", "deprovisioning", "available"]
    assert nodes.state(bmc)["osInstalled"] is False
    events = {e.reason for e in kube.events(namespace, "srv")}
    assert {"Inspected", "ProvisioningStarted", "Provisioned", "DeprovisioningStarted", "Deprovisioned"} <= events


def test_a_host_whose_server_never_boots_gets_an_inspection_error_with_the_last_step(
    kube: Kube, private_namespace: str, sim: SimControl, tmp_path: Path
) -> None:
    """No server behind this BMC: nothing ever fetches the boot script, and the job times out."""
    fast = ("--namespace", private_namespace, "--boot-poll-interval", "0.5", "--inspect-timeout", "3")
    with operator_process(kube.kubeconfig, tmp_path, *fast):
        bmc = sim.take()
        create_booting_host(kube, private_namespace, "mute", bmc, "52:54:00:b0:07:ff")
        wait_for(
            lambda: status(kube, private_namespace, "mute").get("errorType") == "inspection error",
            TIMEOUT,
            "an inspection error",
        )
        got = status(kube, private_namespace, "mute")
        assert ready(kube, private_namespace, "mute") == ("False", "InspectingFailed")
        # The job started (the network boot went out) and timed out before any step: exactly that message.
        message = got["errorMessage"]
        assert re.fullmatch(r"inspect did not finish in \d+s; waiting for the node to fetch its boot script", message)
        log = sim.log(bmc)
        assert "set_boot_device" in log
        assert "power_on" in log
        assert log.index("set_boot_device") < log.index("power_on")
        assert got["provisioning"]["state"] == "inspecting"
