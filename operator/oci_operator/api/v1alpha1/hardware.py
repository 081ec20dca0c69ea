"""What a host reports about itself during a network boot: its hardware, and how far a boot job got.

Written by the boot server from node callbacks (status.hardware, status.bootReport); the operator
reads them and never writes them, so the two writers never touch the same status field.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field

from .meta import WireModel

MAC_PATTERN = r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$"
# What a node reports is untrusted (anyone holding a boot job's token can send it) and some of it
# reaches preseeds and shell commands: device paths are /dev/ paths whose components never start
# with a dot (so never ".."), and no reported text holds control characters (no new preseed lines).
DEVICE_PATH_PATTERN = r"^/dev/[A-Za-z0-9_:+-][A-Za-z0-9_.:+-]*(/[A-Za-z0-9_:+-][A-Za-z0-9_.:+-]*)*$"
INTERFACE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$"
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"


def _text(description: str, max_length: int = 256) -> Any:
    return Field(description=description, max_length=max_length, pattern=TEXT_PATTERN)


class CPU(WireModel):
    arch: Annotated[str, _text("Architecture, e.g. x86_64.", 64)] = ""
    model: Annotated[str, _text("Model name of the first CPU.")] = ""
    count: Annotated[int, Field(description="Logical CPUs.", ge=0)] = 0


class Disk(WireModel):
    name: Annotated[
        str, Field(description="Linux device path, e.g. /dev/sda.", max_length=128, pattern=DEVICE_PATH_PATTERN)
    ]
    size_bytes: Annotated[int, Field(description="Size in bytes.", ge=0)] = 0
    model: Annotated[str, _text("Model string.")] = ""
    vendor: Annotated[str, _text("Vendor string.")] = ""
    serial_number: Annotated[str, _text("Serial number.")] = ""
    wwn: Annotated[str, _text("World Wide Name.")] = ""
    rotational: Annotated[bool, Field(description="True for spinning disks.")] = False


class LLDPNeighbour(WireModel):
    switch: Annotated[str, _text("Chassis name or ID of the switch.")] = ""
    port: Annotated[str, _text("Port ID or description on the switch.")] = ""
    chassis_id: Annotated[str, _text("Chassis ID the switch sent (a MAC address, a name: its subtype's form).")] = ""
    port_id: Annotated[str, _text("Port ID the switch sent (an interface name, a MAC: its subtype's form).")] = ""
    system_name: Annotated[str, _text("System name the switch sent, when it sent one.")] = ""


class NIC(WireModel):
    name: Annotated[str, Field(description="Interface name.", max_length=64, pattern=INTERFACE_PATTERN)]
    mac: Annotated[str, Field(description="MAC address.", pattern=MAC_PATTERN)]
    speed_mbps: Annotated[int, Field(description="Link speed; 0 when unknown or down.", ge=0)] = 0
    lldp: Annotated[LLDPNeighbour | None, Field(description="Switch port seen over LLDP, when any.")] = None


class SystemVendor(WireModel):
    manufacturer: Annotated[str, _text("DMI system manufacturer.")] = ""
    product: Annotated[str, _text("DMI product name.")] = ""
    serial_number: Annotated[str, _text("DMI serial number.")] = ""


class HardwareDetails(WireModel):
    """A compact summary of what inspection found."""

    system_vendor: Annotated[SystemVendor, Field(description="Who made the server.")] = SystemVendor()
    cpu: Annotated[CPU, Field(description="Processors.")] = CPU()
    ram_mebibytes: Annotated[int, Field(description="Memory in MiB.", ge=0)] = 0
    disks: Annotated[
        list[Disk], Field(default_factory=list, description="Block devices that can hold the OS.", max_length=256)
    ]
    nics: Annotated[list[NIC], Field(default_factory=list, description="Network interfaces.", max_length=256)]


class BootStep(StrEnum):
    """Milestones of a network boot job, in the order they happen."""

    SCRIPT_SERVED = "scriptServed"  # the iPXE script for this job went out
    PRESEED_SERVED = "preseedServed"  # the installer fetched its preseed
    INSPECTED = "inspected"  # hardware report received (end of an inspection job)
    INSTALLING = "installing"  # the installer started (early_command)
    INSTALLED = "installed"  # Debian is on disk (late_command)
    WIPED = "wiped"  # partition tables wiped (end of a deprovisioning job)
    FAILED = "failed"  # the node said it failed


class BootReport(WireModel):
    """The last milestone a node reached in the current boot job, as the boot server saw it."""

    boot_id: Annotated[str, Field(description="The boot job this report belongs to.", max_length=64)]
    step: Annotated[BootStep, Field(description="Last milestone reached.")]
    time: Annotated[datetime, Field(description="When it was reached.")]
    message: Annotated[str, Field(description="Details the node sent (errors, last log lines).", max_length=4096)] = ""
    source: Annotated[str, Field(description="Address the milestone came from.", max_length=64)] = ""
    refused: Annotated[
        int, Field(description="Reports refused because an earlier one had already ended this job.", ge=0)
    ] = 0
    last_refused: Annotated[
        str, Field(description="The last refused report: what, when and from where.", max_length=512)
    ] = ""


class ResourceReport(WireModel):
    """What the agent did to one resource in its last run."""

    name: Annotated[str, Field(description="Resource name.", max_length=128)]
    type: Annotated[str, Field(description="Resource type.", max_length=16)]
    changed: Annotated[bool, Field(description="The run changed it.")] = False
    drift: Annotated[bool, Field(description="It had drifted from what an earlier run applied.")] = False
    failed: Annotated[bool, Field(description="It could not be converged.")] = False
    message: Annotated[str, Field(description="What was done, or the last lines of the error.", max_length=2048)] = ""


class Convergence(WireModel):
    """The node agent's last run, as it reported it (written by the boot server)."""

    applied_hash: Annotated[str, Field(description="Hash of the desired state the run applied.", max_length=128)]
    time: Annotated[datetime, Field(description="When the run finished.")]
    duration_seconds: Annotated[float, Field(description="How long the run took.", ge=0)] = 0.0
    changed: Annotated[int, Field(description="Resources changed.", ge=0)] = 0
    drifted: Annotated[int, Field(description="Resources found drifted and repaired.", ge=0)] = 0
    failed: Annotated[int, Field(description="Resources that failed.", ge=0)] = 0
    resources: Annotated[
        list[ResourceReport],
        Field(default_factory=list, description="Resources changed, drifted or failed (unchanged ones are left out).",
              max_length=500),
    ]  # fmt: skip


class DesiredState(WireModel):
    """The desired state the operator rendered for the host (the document lives in a Secret)."""

    hash: Annotated[str, Field(description="sha256 of the rendered document.", max_length=128)]
    role: Annotated[str, Field(description="NodeRole it was rendered from.", max_length=253)]
    role_generation: Annotated[int, Field(description="metadata.generation of that NodeRole.", ge=0)] = 0
