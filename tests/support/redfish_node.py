"""A simulated server behind one of the Redfish emulator's systems.

The emulator only keeps a power state and a boot override; this watches the system over Redfish, as
firmware would feel it, and when it powers on boots the simulated node (the same one the IPMI simulator
drives: PXE chain over HTTP, installer callbacks) from the device the override names.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from oci_operator.bmc.sim.node import SimulatedNode, hardware_for

from .redfish_emulator import RedfishEmulator

# A PXE override whose iPXE script says "exit" falls through to the next boot entry, the disk, as UEFI
# firmware does (the IPMI simulator's "network" would stop there): "default" is network, then disk.
_DEVICES = {"Pxe": "default", "Hdd": "hd"}


class _RedfishFirmware:
    """What SimulatedNode needs of its BMC: a name, a log, and the boot device to use now."""

    def __init__(self, emulator: RedfishEmulator, system: str) -> None:
        self.emulator, self.system, self.name = emulator, system, f"redfish-{system[:8]}"
        self.steps: list[str] = []

    def record(self, command: str, detail: str = "") -> None:
        self.steps.append(command)

    def take_boot_device(self) -> str:
        boot = self.emulator.boot(self.system)
        device = _DEVICES.get(str(boot.get("BootSourceOverrideTarget")), "default")
        self.record("boot_from", device)
        return device


@contextmanager
def redfish_node(emulator: RedfishEmulator, system: str, mac: str, boot_server_url: str) -> Iterator[list[str]]:
    """Runs the node while the block runs; yields its log of steps (node_pxe_script, node_report, ...)."""
    firmware = _RedfishFirmware(emulator, system)
    node = SimulatedNode(firmware, mac, f"{boot_server_url}/boot.ipxe", hardware_for(7, mac), 0.3)  # type: ignore[arg-type]
    stop = threading.Event()

    def watch() -> None:
        was_on = False
        while not stop.wait(0.3):
            try:
                on = emulator.powered_on(system)
            except OSError:
                continue
            if on != was_on:
                firmware.record("power_on" if on else "power_off")
                node.power_changed(on)
                was_on = on

    watcher = threading.Thread(target=watch, name=f"watch-{firmware.name}", daemon=True)
    watcher.start()
    try:
        yield firmware.steps
    finally:
        stop.set()
        watcher.join()
        node.power_changed(False)
