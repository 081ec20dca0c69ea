"""Pick the installation disk(s) from inspected hardware and spec.rootDeviceHints (metal3's rules)."""

from __future__ import annotations

from ..api.v1alpha1.baremetalhost import RootDeviceHints
from ..api.v1alpha1.hardware import Disk, HardwareDetails

GB = 1000**3


def _matches(disk: Disk, hints: RootDeviceHints) -> bool:
    checks = (
        hints.device_name is None or disk.name == hints.device_name,
        hints.model is None or hints.model in disk.model,
        hints.vendor is None or hints.vendor in disk.vendor,
        hints.serial_number is None or disk.serial_number == hints.serial_number,
        hints.wwn is None or disk.wwn == hints.wwn,
        hints.min_size_gigabytes is None or disk.size_bytes >= hints.min_size_gigabytes * GB,
        hints.rotational is None or disk.rotational == hints.rotational,
    )
    return all(checks)


def choose_root_devices(hardware: HardwareDetails, hints: RootDeviceHints | None) -> list[str] | str:
    """The device names to install on, or why none fits.

    Without hints: the smallest disk of at least 4 GB (metal3's default). With softwareRaid: the two
    smallest matching disks, for a RAID1."""
    hints = hints or RootDeviceHints(min_size_gigabytes=4)
    candidates = sorted((d for d in hardware.disks if _matches(d, hints)), key=lambda d: (d.size_bytes, d.name))
    wanted = 2 if hints.software_raid else 1
    if len(candidates) < wanted:
        seen = ", ".join(f"{d.name} ({d.size_bytes // GB} GB, {d.model or 'no model'})" for d in hardware.disks)
        return f"{len(candidates)} disk(s) match rootDeviceHints, {wanted} needed; inspection found: {seen or 'none'}"
    return [d.name for d in candidates[:wanted]]
