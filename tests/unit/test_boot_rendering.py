"""What the boot server hands to machines: scripts by state, preseeds, dnsmasq's configuration."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from oci_operator.api.v1alpha1 import BareMetalHost
from oci_operator.api.v1alpha1.hardware import HardwareDetails
from oci_operator.bootserver import scripts
from oci_operator.bootserver.config import BootServerConfig, DHCPConfig, Reservation
from oci_operator.bootserver.directory import Token
from oci_operator.bootserver.dnsmasq import client_mac, config_text
from oci_operator.bootserver.macs import normalize
from oci_operator.reconcilers.root_device import choose_root_devices

CONFIG = BootServerConfig(advertise="10.0.0.1:8088")
TOKEN = Token("s3cret-token", "job1", "j0b-token")


def host(state: str, boot_id: str | None = "job1", report: str | None = None, **prov: Any) -> BareMetalHost:
    status: dict[str, Any] = {"provisioning": {"state": state, "bootId": boot_id, **prov}}
    if report:
        status["bootReport"] = {"bootId": "job1", "step": report, "time": datetime.now(UTC).isoformat()}
    status["hardware"] = {"disks": [{"name": "/dev/sda", "sizeBytes": 10**12}, {"name": "/dev/nvme0n1"}]}
    return BareMetalHost.model_validate(
        {
            "metadata": {"name": "node-7", "namespace": "n"},
            "spec": {
                "bmc": {"address": "ipmi://10.0.0.9", "credentialsName": "c"},
                "bootMACAddress": "52:54:00:00:00:07",
            },
            "status": status,
        }
    )


@pytest.mark.parametrize(
    ("state", "report", "token", "mode"),
    [
        ("inspecting", None, TOKEN, "inspect"),
        ("provisioning", "preseedServed", TOKEN, "install"),
        ("deprovisioning", None, TOKEN, "wipe"),
        ("provisioning", "installed", TOKEN, "disk"),  # installed, reboots before the operator reacts: no loop
        ("inspecting", "inspected", TOKEN, "disk"),
        ("inspecting", None, None, "wait"),  # job recorded, token not issued yet
        ("inspecting", None, Token("old", "job0"), "wait"),  # the previous job's token
        ("available", None, TOKEN, "disk"),
        ("provisioned", None, TOKEN, "disk"),
    ],
)
def test_boot_mode_follows_the_job(state: str, report: str | None, token: Token | None, mode: str) -> None:
    assert scripts.boot_mode(host(state, report=report), token) == mode


def test_unknown_hosts_boot_their_disk() -> None:
    assert scripts.boot_mode(None, None) == "disk"
    text = scripts.host_script(CONFIG, "52:54:00:00:00:99", None, None)
    assert "\nexit\n" in text
    assert "kernel" not in text


def test_install_script_carries_the_token_only_in_the_preseed_urls_user_part() -> None:
    text = scripts.host_script(CONFIG, "52:54:00:00:00:07", host("provisioning"), TOKEN)
    assert "url=http://52-54-00-00-00-07:s3cret-token@10.0.0.1:8088/v1/hosts/52-54-00-00-00-07/preseed.cfg" in text
    assert text.count("s3cret-token") == 1
    assert "initrd http://10.0.0.1:8088/v1/images/initrd.gz" in text


def test_install_preseed_wipes_then_installs_on_the_chosen_disk() -> None:
    text = scripts.preseed(CONFIG, host("provisioning", rootDevice=["/dev/sda"]), TOKEN, "install")
    early = next(line for line in text.splitlines() if line.startswith("d-i preseed/early_command"))
    assert "for d in /dev/sda;" in early
    assert early.index("dd if=/dev/zero") < early.index(" installing")
    assert "d-i partman-auto/disk string /dev/sda" in text
    assert "d-i grub-installer/bootdev string /dev/sda" in text
    late = next(line for line in text.splitlines() if line.startswith("d-i preseed/late_command"))
    assert late.endswith(" installed")
    assert "umask 077" in late
    # The preseed carries the job token (reports, the agent credential handover), never the iPXE one.
    assert "s3cret-token" not in text
    assert "j0b-token" in late
    assert "http://52-54-00-00-00-07:j0b-token@10.0.0.1:8088/v1/hosts/52-54-00-00-00-07/agent-credential" in late


def test_host_secret_names_never_collide() -> None:
    """Named by host UID: two hosts whose names share 200 characters (or any prefix) get their own."""
    from oci_operator.k8s.client import host_secret_name

    a, b = "6f1c0d1e-0000-4000-8000-00000000000a", "6f1c0d1e-0000-4000-8000-00000000000b"
    assert host_secret_name(a, "boot-token") != host_secret_name(b, "boot-token")
    assert len(host_secret_name(a, "desired-state")) <= 63


def test_raid1_preseed_names_both_disks_and_nvme_partitions() -> None:
    text = scripts.preseed(CONFIG, host("provisioning", rootDevice=["/dev/sda", "/dev/nvme0n1"]), TOKEN, "install")
    assert "d-i partman-auto/method string raid" in text
    assert "/dev/sda1#/dev/nvme0n1p1" in text


@pytest.mark.parametrize(("mode", "event"), [("inspect", "inspected"), ("wipe", "wiped")])
def test_inspect_and_wipe_preseeds_report_and_idle(mode: str, event: str) -> None:
    text = scripts.preseed(CONFIG, host("inspecting"), TOKEN, mode)
    assert f" {event}; while :; do sleep 3600; done" in text
    assert "partman-auto" not in text


def test_dnsmasq_configuration_for_both_modes() -> None:
    with pytest.raises(ValueError, match="needs --subnet"):
        config_text(CONFIG, Path("/srv/tftp"), Path("/srv/leases"))
    proxy = config_text(
        BootServerConfig(advertise="10.0.0.1:8088", dhcp=DHCPConfig(subnet="10.0.0.0")), Path("/t"), Path("/l")
    )
    assert "dhcp-range=10.0.0.0,proxy" in proxy
    assert 'pxe-service=tag:!ipxe,X86-64_EFI,"oci-operator (UEFI)",ipxe.efi' in proxy
    reservation = DHCPConfig(
        mode="reservation", interface="br0", range_start="10.0.0.100", range_end="10.0.0.200",
        router="10.0.0.1", dns_server="10.0.0.1", reservations=(Reservation("52:54:00:00:00:07", "10.0.0.7", "n7"),),
    )  # fmt: skip
    text = config_text(BootServerConfig(advertise="10.0.0.1:8088", dhcp=reservation), Path("/t"), Path("/l"))
    assert "dhcp-boot=tag:ipxe,http://10.0.0.1:8088/boot.ipxe" in text
    assert "dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi" in text
    assert "dhcp-host=52:54:00:00:00:07,10.0.0.7,n7" in text
    assert "dhcp-option=option:router,10.0.0.1" in text


def test_dnsmasq_log_lines_name_the_client() -> None:
    assert client_mac("dnsmasq-dhcp[7]: 1120 PXE(br0) 92:F0:6C:77:A5:8B proxy") == "92:f0:6c:77:a5:8b"
    assert client_mac("dnsmasq-dhcp[7]: 99 DHCPDISCOVER(br0) 52:54:00:00:00:07") == "52:54:00:00:00:07"
    assert client_mac("dnsmasq-dhcp[7]: 99 DHCPREQUEST(br0) 10.0.0.7 52:54:00:00:00:07") == "52:54:00:00:00:07"
    assert client_mac("dnsmasq-tftp[7]: sent /srv/tftp/undionly.kpxe to 10.0.0.7") is None


@pytest.mark.parametrize("text", ["52-54-00-00-00-07", "52:54:00:00:00:07", "52-54-00-00-00-07".upper()])
def test_macs_in_urls(text: str) -> None:
    assert normalize(text) == "52:54:00:00:00:07"


@pytest.mark.parametrize("text", ["52-54:00-00-00-07", "52:54:00:00:00", "zz:54:00:00:00:07", "../etc", ""])
def test_not_macs(text: str) -> None:
    assert normalize(text) is None


def test_root_device_hints() -> None:
    hardware = HardwareDetails.model_validate(
        {
            "disks": [
                {"name": "/dev/sda", "sizeBytes": 2 * 10**9, "model": "USB"},
                {"name": "/dev/sdb", "sizeBytes": 480 * 10**9, "model": "SSD 1", "rotational": False},
                {"name": "/dev/sdc", "sizeBytes": 480 * 10**9, "model": "SSD 2", "rotational": False},
                {"name": "/dev/sdd", "sizeBytes": 8 * 10**12, "model": "HDD", "rotational": True},
            ]
        }
    )
    assert choose_root_devices(hardware, None) == ["/dev/sdb"]  # the smallest of at least 4 GB
    from oci_operator.api.v1alpha1.baremetalhost import RootDeviceHints as Hints

    assert choose_root_devices(hardware, Hints(rotational=True)) == ["/dev/sdd"]
    assert choose_root_devices(hardware, Hints(model="SSD", software_raid=True)) == ["/dev/sdb", "/dev/sdc"]
    assert choose_root_devices(hardware, Hints(device_name="/dev/sdc")) == ["/dev/sdc"]
    why = choose_root_devices(hardware, Hints(model="NVMe"))
    assert isinstance(why, str)
    assert "0 disk(s) match" in why
    assert "/dev/sdd (8000 GB, HDD)" in why
