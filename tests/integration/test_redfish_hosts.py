"""BareMetalHosts with Redfish BMCs: the operator process, a real API server, and sushy-tools' redfish."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from conftest import FAST_OPERATOR
from support.bootserver import BootServerProcess
from support.hosts import host_manifest, ready, secret_manifest, settled, state, status
from support.kube import Kube, condition
from support.operator_process import OperatorProcess, free_port, operator_process
from support.redfish_emulator import RedfishEmulator
from support.redfish_node import redfish_node
from support.waiting import wait_for

TIMEOUT = 90  # the emulator applies a power change 1-11 s after the command
REBOOT = "reboot.oci.openstack.org"


def create_redfish_host(
    kube: Kube,
    namespace: str,
    name: str,
    address: str,
    password: str,
    online: bool = False,
    secret_data: dict[str, str] | None = None,
    inspect_with_mac: str = "",
    **bmc: Any,
) -> None:
    """Inspection is disabled (straight to available) unless `inspect_with_mac` names the boot NIC."""
    secret = secret_manifest(f"{name}-bmc", "admin", password)
    secret["stringData"].update(secret_data or {})
    kube.create(namespace, secret)
    manifest = host_manifest(name, address, f"{name}-bmc", online)
    manifest["spec"]["bmc"].update(bmc)
    if inspect_with_mac:
        manifest["metadata"]["annotations"] = {}
        manifest["spec"]["bootMACAddress"] = inspect_with_mac
    kube.create(namespace, manifest)


def test_online_true_then_false_drives_the_emulated_power(
    kube: Kube, operator: OperatorProcess, redfish: RedfishEmulator, namespace: str
) -> None:
    system = redfish.take()
    create_redfish_host(kube, namespace, "r1", redfish.address(system), redfish.password)
    wait_for(lambda: settled(kube, namespace, "r1", False), TIMEOUT, "Available, off")
    assert redfish.requests(system, "POST") == []  # off already: nothing sent

    kube.patch_spec(namespace, "BareMetalHost", "r1", {"online": True})
    wait_for(lambda: redfish.powered_on(system), TIMEOUT, "the emulated system powered on")
    wait_for(lambda: settled(kube, namespace, "r1", True), TIMEOUT, "status poweredOn true")
    kube.patch_spec(namespace, "BareMetalHost", "r1", {"online": False})
    wait_for(lambda: not redfish.powered_on(system), TIMEOUT, "the emulated system powered off")
    wait_for(lambda: settled(kube, namespace, "r1", False), TIMEOUT, "status poweredOn false")
    # One command each, although each took seconds to show (the settle timeout holds the repeat back).
    assert len(redfish.requests(system, "POST")) == 2


def test_reboot_annotation_resets_exactly_once(
    kube: Kube, operator: OperatorProcess, redfish: RedfishEmulator, namespace: str
) -> None:
    system = redfish.take()
    create_redfish_host(kube, namespace, "r2", redfish.address(system), redfish.password, online=True)
    wait_for(lambda: settled(kube, namespace, "r2", True), TIMEOUT, "Available, on")
    before = len(redfish.requests(system, "POST"))
    kube.annotate(namespace, "BareMetalHost", "r2", {REBOOT: "hard"})
    wait_for(
        lambda: REBOOT not in kube.get(namespace, "BareMetalHost", "r2")["metadata"].get("annotations", {}),
        TIMEOUT,
        "the reboot annotation removed once done",
    )
    wait_for(lambda: any(e.reason == "Rebooted" for e in kube.events(namespace, "r2")), TIMEOUT, "a Rebooted Event")
    wait_for(lambda: settled(kube, namespace, "r2", True), TIMEOUT, "Available again")
    wait_for(lambda: redfish.powered_on(system), TIMEOUT, "the emulated system on again")
    assert len(redfish.requests(system, "POST")) == before + 1  # one ForceRestart, not an off and an on
    assert "pendingReboot" not in status(kube, namespace, "r2")


def test_wrong_password_is_rejected_with_one_warning_and_heals(
    kube: Kube, operator: OperatorProcess, redfish: RedfishEmulator, namespace: str
) -> None:
    system = redfish.take()
    create_redfish_host(kube, namespace, "r3", redfish.address(system), "not-the-password")
    wait_for(lambda: ready(kube, namespace, "r3") == ("False", "CredentialsRejected"), TIMEOUT, "CredentialsRejected")
    assert status(kube, namespace, "r3")["errorType"] == "registration error"
    wait_for(lambda: status(kube, namespace, "r3")["errorCount"] >= 3, TIMEOUT, "three rejected attempts")
    assert kube.warnings(namespace, "r3", "CredentialsRejected") == 1
    assert "not-the-password" not in operator.log()

    kube.core.patch_namespaced_secret("r3-bmc", namespace, {"stringData": {"password": redfish.password}})
    wait_for(lambda: settled(kube, namespace, "r3", False), TIMEOUT, "healed after the Secret was fixed")
    assert status(kube, namespace, "r3")["errorCount"] == 0


def test_unreachable_redfish_bmc_is_tried_at_growing_intervals(
    kube: Kube, private_namespace: str, tmp_path: Path
) -> None:
    namespace, base = private_namespace, 3.0
    address = f"redfish+http://127.0.0.1:{free_port()}/redfish/v1/Systems/1"  # nobody listens there
    seen: dict[int, float] = {}

    def error_counts() -> bool:
        count = status(kube, namespace, "r4").get("errorCount", 0)
        seen.setdefault(count, time.monotonic())
        return count >= 4

    args = ("--namespace", namespace, *FAST_OPERATOR, "--bmc-backoff-base", str(base), "--bmc-backoff-cap", "30")
    with operator_process(kube.kubeconfig, tmp_path, *args) as op:
        create_redfish_host(kube, namespace, "r4", address, "pw")
        wait_for(error_counts, 180, "four failed attempts", interval=0.1)
        assert ready(kube, namespace, "r4") == ("False", "BMCUnreachable")
        gaps = [b - a for a, b in itertools.pairwise(seen[n] for n in range(1, 5))]
        assert gaps == sorted(gaps), f"intervals between attempts should grow: {gaps}"
        for failures, gap in enumerate(gaps, start=1):  # at least the backoff's lower bound (-20 % jitter)
            assert gap >= 0.8 * base * 2 ** (failures - 1), gaps
        assert kube.warnings(namespace, "r4", "BMCUnreachable") == 1
        assert "oci_bmc_breakers_open 1.0" in op.metrics()
    print(f"intervals between attempts: {[round(g, 1) for g in gaps]} s")


def test_tls_verified_with_the_secret_ca_refused_without_it_or_skipped_when_disabled(
    kube: Kube, operator: OperatorProcess, redfish_tls: RedfishEmulator, namespace: str
) -> None:
    emu = redfish_tls
    verified, unknown, insecure = emu.take(), emu.take(), emu.take()
    create_redfish_host(
        kube, namespace, "tls-ca", emu.address(verified), emu.password, secret_data={"ca.crt": emu.ca_pem}
    )
    create_redfish_host(kube, namespace, "tls-none", emu.address(unknown), emu.password)
    create_redfish_host(
        kube, namespace, "tls-off", emu.address(insecure), emu.password, disableCertificateVerification=True
    )
    wait_for(lambda: settled(kube, namespace, "tls-ca", False), TIMEOUT, "verified with the CA from the Secret")
    wait_for(lambda: settled(kube, namespace, "tls-off", False), TIMEOUT, "verification disabled")
    wait_for(lambda: ready(kube, namespace, "tls-none") == ("False", "BMCUnreachable"), TIMEOUT, "refused without CA")
    cond = condition(kube.get(namespace, "BareMetalHost", "tls-none"), "Ready")
    assert cond is not None
    assert "certificate" in cond["message"]
    assert emu.requests(unknown) == []  # the handshake failed: no request reached the BMC

    kube.core.patch_namespaced_secret("tls-none-bmc", namespace, {"stringData": {"ca.crt": emu.ca_pem}})
    wait_for(lambda: settled(kube, namespace, "tls-none", False), TIMEOUT, "verified once the CA was given")


def test_boot_device_is_pxe_for_inspection_and_disk_once_installed(
    kube: Kube,
    operator: OperatorProcess,
    bootserver: BootServerProcess,
    redfish: RedfishEmulator,
    namespace: str,
) -> None:
    system, mac = redfish.take(), "52:54:00:7f:00:01"
    with redfish_node(redfish, system, mac, bootserver.url) as steps:
        address = redfish.address(system)
        create_redfish_host(kube, namespace, "r5", address, redfish.password, online=True, inspect_with_mac=mac)
        wait_for(lambda: ready(kube, namespace, "r5") == ("True", "Available"), TIMEOUT, "inspected over Redfish")
        assert status(kube, namespace, "r5")["hardware"]["nics"][0]["mac"] == mac
        inspection = steps[: steps.index("node_report") + 1]
        assert "boot_from" in inspection
        assert "node_pxe_script" in inspection
        assert redfish.boot(system)["BootSourceOverrideTarget"] == "Pxe"  # set before the inspection boot

        kube.patch_spec(namespace, "BareMetalHost", "r5", {"role": "compute", "rootDeviceHints": {"rotational": True}})
        wait_for(lambda: state(kube, namespace, "r5") == "provisioned", TIMEOUT, "provisioned over Redfish")
        wait_for(lambda: redfish.boot(system)["BootSourceOverrideTarget"] == "Hdd", TIMEOUT, "the disk as boot device")
        assert redfish.boot(system)["BootSourceOverrideEnabled"] == "Continuous"
        # The emulator kept the one-time PXE override, so the installer's reboot netbooted again: the boot
        # server's "exit" sent it to the disk all the same.
        wait_for(lambda: "node_os_running" in steps, TIMEOUT, f"Debian booted from the disk; steps: {steps}")
