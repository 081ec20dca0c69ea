"""What a simulated server is made of, per host: the knobs a hardware profile selects on (product name, RAM,
CPUs, disks, NICs), read from a JSON or YAML map at fleet start or set at run time through the control API.

A profile map (`bmc-sim --hardware FILE`) names hosts by BMC name; "default" applies to every host not
named. Omitted fields keep the default server's (SimServer 1U, 32 GiB, 8 CPUs, a 480 GB SSD and a 4 TB
disk, two 10 Gb/s NICs)::

    default: {ramGiB: 64}
    node-002:
      product: SimServer 2U
      ramGiB: 256
      cpus: 32
      disks: [{count: 2, sizeGB: 480, rotational: false}, {count: 6, sizeGB: 8000, rotational: true}]
      nics: {count: 4, speedMbps: 25000}
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

DEFAULT_KEY = "default"


class _Knobs(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class DiskGroup(_Knobs):
    """`count` identical disks; groups are numbered on in order (/dev/sda, /dev/sdb, ...)."""

    count: Annotated[int, Field(ge=0, le=64)] = 1
    size_gb: Annotated[int, Field(ge=1, alias="sizeGB")] = 480
    rotational: bool = False
    model: str = ""  # default: SIM-SSD or SIM-HDD


class NICs(_Knobs):
    count: Annotated[int, Field(ge=1, le=16)] = 2  # the first one boots
    speed_mbps: Annotated[int, Field(ge=0)] = 10000


class HardwareProfile(_Knobs):
    product: str = "SimServer 1U"
    manufacturer: str = "oci-sim"
    ram_gib: Annotated[int, Field(ge=0, alias="ramGiB")] = 32
    cpus: Annotated[int, Field(ge=1)] = 8
    disks: list[DiskGroup] = [DiskGroup(), DiskGroup(size_gb=4000, rotational=True)]
    nics: NICs = NICs()


class ProfileError(ValueError):
    """A profile map that cannot be used, with where and why."""


def parse_profile(data: Any, where: str = "hardware") -> HardwareProfile:
    try:
        return HardwareProfile.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(profile)'}: {e['msg']}" for e in exc.errors())
        raise ProfileError(f"{where}: {problems}") from None


def load_profiles(path: Path) -> dict[str, HardwareProfile]:
    """A profile per host name (and DEFAULT_KEY) from a JSON or YAML file."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a map of host name -> hardware profile")
    return {str(name): parse_profile(profile, f"{path}: {name}") for name, profile in data.items()}


def profile_for(profiles: dict[str, HardwareProfile], name: str) -> HardwareProfile:
    return profiles.get(name) or profiles.get(DEFAULT_KEY) or HardwareProfile()


def unknown_hosts(profiles: dict[str, HardwareProfile], names: list[str]) -> list[str]:
    """Names in the map that no BMC has: a typo would otherwise silently give a host the default."""
    return sorted(set(profiles) - set(names) - {DEFAULT_KEY})


def disk_name(index: int) -> str:
    """sda..sdz, sdaa..: the kernel's naming."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return f"/dev/sd{letters}"


def nic_mac(boot_mac: str, index: int) -> str:
    """The boot NIC has the boot MAC; the others differ in the first octet (locally administered: 02, 06, ..)."""
    if index == 0:
        return boot_mac
    return f"{(4 * index - 2) & 0xFF:02x}{boot_mac[2:]}"
