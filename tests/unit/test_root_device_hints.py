"""Every root device hint, alone and together, and the size boundary: an ignored hint installs onto the wrong disk.

Each hint below picks a disk the default rule (the smallest disk of at least 4 GB, /dev/sda here) would not."""

from __future__ import annotations

from typing import Any

import pytest

from oci_operator.api.v1alpha1.baremetalhost import RootDeviceHints
from oci_operator.api.v1alpha1.hardware import HardwareDetails
from oci_operator.reconcilers.root_device import choose_root_devices

GB = 10**9


def hint_id(value: object) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "none"
    return "+".join(value) if isinstance(value, list) else str(value)


def disk(name: str, size: int, model: str, vendor: str, serial: str, wwn: str, rotational: bool) -> dict[str, Any]:
    return {"name": name, "sizeBytes": size, "model": model, "vendor": vendor, "serialNumber": serial, "wwn": wwn,
            "rotational": rotational}  # fmt: skip


HARDWARE = HardwareDetails.model_validate(
    {
        "disks": [
            disk("/dev/sde", 4 * GB - 1, "DataTraveler", "Kingston", "K-E", "0x5000e", False),  # one byte short
            disk("/dev/sda", 4 * GB, "SATADOM-SL", "Innodisk", "I-A", "0x5000a", False),  # exactly 4 GB
            disk("/dev/sdb", 480 * GB, "MZ7LH480", "SAMSUNG", "S3-B", "0x5000b", False),
            disk("/dev/sdc", 480 * GB, "MZ7LH480", "SAMSUNG", "S3-C", "0x5000c", False),
            disk("/dev/sdd", 8000 * GB, "ST8000NM", "SEAGATE", "Z-D", "0x5000d", True),
        ]
    }
)


@pytest.mark.parametrize(
    ("hints", "chosen"),
    [
        ({}, ["/dev/sda"]),  # no hints: the smallest of at least 4 GB, and 4 GB exactly counts
        ({"deviceName": "/dev/sdc"}, ["/dev/sdc"]),
        ({"model": "ST8000"}, ["/dev/sdd"]),  # a substring
        ({"vendor": "SEAGATE"}, ["/dev/sdd"]),
        ({"vendor": "SAMS"}, ["/dev/sdb"]),  # a substring; of two matches, the smaller (then the first name)
        ({"serialNumber": "S3-C"}, ["/dev/sdc"]),
        ({"wwn": "0x5000c"}, ["/dev/sdc"]),
        ({"wwn": "0x5000d"}, ["/dev/sdd"]),
        ({"rotational": True}, ["/dev/sdd"]),
        ({"rotational": False}, ["/dev/sde"]),  # a hint replaces the default: no 4 GB floor then
        ({"minSizeGigabytes": 4}, ["/dev/sda"]),  # the boundary is inclusive
        ({"minSizeGigabytes": 5}, ["/dev/sdb"]),
        ({"minSizeGigabytes": 480}, ["/dev/sdb"]),
        ({"minSizeGigabytes": 481}, ["/dev/sdd"]),
        ({"minSizeGigabytes": 0}, ["/dev/sde"]),
        ({"vendor": "SAMSUNG", "serialNumber": "S3-C"}, ["/dev/sdc"]),  # every hint must match
        ({"model": "MZ7LH480", "wwn": "0x5000b"}, ["/dev/sdb"]),
        ({"vendor": "SAMSUNG", "softwareRaid": True}, ["/dev/sdb", "/dev/sdc"]),
        ({"minSizeGigabytes": 4, "softwareRaid": True}, ["/dev/sda", "/dev/sdb"]),
    ],
    ids=hint_id,
)
def test_each_hint_picks_its_disk(hints: dict[str, Any], chosen: list[str]) -> None:
    assert choose_root_devices(HARDWARE, RootDeviceHints.model_validate(hints) if hints else None) == chosen


@pytest.mark.parametrize(
    ("hints", "matching"),
    [
        ({"serialNumber": "S3-"}, 0),  # serial numbers match exactly, not as a prefix
        ({"serialNumber": "s3-c"}, 0),
        ({"wwn": "0x5000"}, 0),  # so do WWNs
        ({"deviceName": "/dev/sd"}, 0),
        ({"vendor": "SEAGATE", "rotational": False}, 0),  # each hint alone matches a disk, not together
        ({"serialNumber": "S3-C", "wwn": "0x5000b"}, 0),
        ({"minSizeGigabytes": 8001}, 0),
        ({"serialNumber": "S3-C", "softwareRaid": True}, 1),  # a RAID1 needs two
    ],
    ids=hint_id,
)
def test_hints_no_disk_satisfies_are_refused_with_what_was_found(hints: dict[str, Any], matching: int) -> None:
    why = choose_root_devices(HARDWARE, RootDeviceHints.model_validate(hints))
    assert isinstance(why, str)
    wanted = 2 if hints.get("softwareRaid") else 1
    assert why.startswith(f"{matching} disk(s) match rootDeviceHints, {wanted} needed; inspection found: ")
    assert why.endswith(
        "inspection found: /dev/sde (3 GB, DataTraveler), /dev/sda (4 GB, SATADOM-SL), /dev/sdb (480 GB, MZ7LH480), "
        "/dev/sdc (480 GB, MZ7LH480), /dev/sdd (8000 GB, ST8000NM)"
    )


def test_no_disks_at_all_says_none() -> None:
    why = choose_root_devices(HardwareDetails.model_validate({"disks": []}), None)
    assert why == "0 disk(s) match rootDeviceHints, 1 needed; inspection found: none"


def test_a_disk_without_a_model_says_so() -> None:
    hardware = HardwareDetails.model_validate({"disks": [{"name": "/dev/vda", "sizeBytes": GB}]})
    why = choose_root_devices(hardware, None)
    assert why == "0 disk(s) match rootDeviceHints, 1 needed; inspection found: /dev/vda (1 GB, no model)"
