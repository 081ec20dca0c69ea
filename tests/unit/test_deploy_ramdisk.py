"""What the boot server hands to its own deploy ramdisk: which loader a job boots, the iPXE answer, and
the job the ramdisk sources (every value one shell word, whatever the spec holds)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from oci_operator.api.v1alpha1 import BareMetalHost
from oci_operator.api.v1alpha1.baremetalhost import Image
from oci_operator.bootserver import scripts
from oci_operator.bootserver.config import BootServerConfig
from oci_operator.bootserver.directory import Token

WITH_RAMDISK = BootServerConfig(advertise="10.0.0.1:8088", ramdisk_dir=Path("/srv/ramdisk"))
WITHOUT = BootServerConfig(advertise="10.0.0.1:8088")
TOKEN = Token("ipxe-token", "job1", "j0b-token")
SHA = "ab" * 32


def host(state: str, image: dict[str, str] | None = None, root: list[str] | None = None) -> BareMetalHost:
    spec: dict[str, Any] = {"bmc": {"address": "ipmi://10.0.0.9", "credentialsName": "c"}}
    spec["bootMACAddress"] = "52:54:00:00:00:07"
    if image is not None:
        spec["image"] = image
    prov: dict[str, Any] = {"state": state, "bootId": "job1"}
    if root:
        prov["rootDevice"] = root
    status = {
        "provisioning": prov,
        "hardware": {"disks": [{"name": "/dev/vda", "sizeBytes": 10**9}, {"name": "/dev/nvme0n1"}]},
    }
    return BareMetalHost.model_validate(
        {"metadata": {"name": "node-7", "namespace": "n"}, "spec": spec, "status": status}
    )


IMAGE = {"url": "http://10.0.0.1:8080/debian-12.raw", "checksum": SHA}


@pytest.mark.parametrize(
    ("config", "state", "image", "expected"),
    [
        (WITH_RAMDISK, "inspecting", None, "ramdisk"),
        (WITH_RAMDISK, "deprovisioning", None, "ramdisk"),
        (WITH_RAMDISK, "provisioning", IMAGE, "ramdisk"),
        (WITH_RAMDISK, "provisioning", None, "installer"),  # no image: d-i and the preseed, as before
        (WITHOUT, "inspecting", None, "installer"),
        (WITHOUT, "provisioning", None, "installer"),
        (WITHOUT, "provisioning", IMAGE, "no-ramdisk"),  # never the installer the host did not ask for
        (WITH_RAMDISK, "available", None, "none"),
    ],
)
def test_the_loader_a_job_boots(config: BootServerConfig, state: str, image: Any, expected: str) -> None:
    h = host(state, image)
    assert scripts.loader(config, h, scripts.boot_mode(h, TOKEN)) == expected


def test_the_ramdisk_answer_carries_the_ipxe_token_and_never_the_job_token() -> None:
    text = scripts.host_script(WITH_RAMDISK, "52:54:00:00:00:07", host("inspecting"), TOKEN)
    kernel = next(line for line in text.splitlines() if line.startswith("kernel "))
    assert kernel.startswith("kernel http://10.0.0.1:8088/v1/ramdisk/vmlinuz initrd=initrd.img ")
    assert "oci.server=10.0.0.1:8088 oci.mac=52-54-00-00-00-07 oci.token=ipxe-token" in kernel
    assert "initrd http://10.0.0.1:8088/v1/ramdisk/initrd.img" in text
    assert "preseed" not in text
    assert "j0b-token" not in text


def test_an_image_install_without_a_ramdisk_waits_and_says_why() -> None:
    text = scripts.host_script(WITHOUT, "52:54:00:00:00:07", host("provisioning", IMAGE), TOKEN)
    assert "kernel" not in text
    assert "needs the boot server's --deploy-ramdisk" in text
    assert "chain --autofree http://10.0.0.1:8088/v1/boot/52-54-00-00-00-07.ipxe" in text


def sourced(job: str, tmp_path: Path, *names: str) -> list[str]:
    path = tmp_path / "job"
    path.write_text(job)
    script = ". " + str(path) + "; " + "; ".join(f'printf "%s\\n" "${n}"' for n in names)
    return subprocess.run(["sh", "-c", script], check=True, capture_output=True, text=True).stdout.splitlines()


def test_the_install_job_names_the_chosen_disk_the_image_and_the_job_token(tmp_path: Path) -> None:
    job = scripts.job(WITH_RAMDISK, host("provisioning", IMAGE, root=["/dev/vda"]), TOKEN, "install")
    names = ("OCI_MODE", "OCI_TOKEN", "OCI_ROOT_DEVICE", "OCI_IMAGE_URL", "OCI_IMAGE_SHA256", "OCI_IMAGE_FORMAT")
    assert sourced(job, tmp_path, *names) == ["install", "j0b-token", "/dev/vda", IMAGE["url"], SHA, "raw"]
    assert "ipxe-token" not in job


def test_the_wipe_job_lists_every_disk(tmp_path: Path) -> None:
    job = scripts.job(WITH_RAMDISK, host("deprovisioning"), TOKEN, "wipe")
    assert sourced(job, tmp_path, "OCI_MODE", "OCI_DISKS", "OCI_IMAGE_URL") == ["wipe", "/dev/vda /dev/nvme0n1", ""]


def test_a_hostile_image_url_stays_one_word(tmp_path: Path) -> None:
    url = "http://x/'$(touch${IFS}pwned)'`id`;a\"b"
    job = scripts.job(WITH_RAMDISK, host("provisioning", {"url": url, "checksum": SHA}), TOKEN, "install")
    assert sourced(job, tmp_path, "OCI_IMAGE_URL") == [url]
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "image",
    [
        {"url": "http://x/a.raw", "checksum": "AB" * 32},  # hex, lower case
        {"url": "http://x/a.raw", "checksum": SHA[:-1]},
        {"url": "ftp://x/a.raw", "checksum": SHA},
        {"url": "http://x/a b.raw", "checksum": SHA},
        {"url": "http://x/a.qcow2", "checksum": SHA, "format": "qcow2"},  # the ramdisk streams raw only
    ],
)
def test_images_the_ramdisk_cannot_write_are_refused(image: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Image.model_validate(image)


@pytest.mark.parametrize(
    ("state", "with_lldp"), [("inspecting", True), ("provisioning", False), ("deprovisioning", False)]
)
def test_lldpd_is_added_to_inspection_boots_only(tmp_path: Path, state: str, with_lldp: bool) -> None:
    """lldp.img (lldpd and its ~20 MB of libraries) is downloaded for inspections only, when it was built."""
    config = BootServerConfig(advertise="10.0.0.1:8088", ramdisk_dir=tmp_path)
    h = host(state, IMAGE, root=["/dev/vda"])
    assert "lldp.img" not in scripts.host_script(config, "52:54:00:00:00:07", h, TOKEN)  # an older ramdisk: none
    (tmp_path / "lldp.img").write_bytes(b"cpio")
    text = scripts.host_script(config, "52:54:00:00:00:07", h, TOKEN)
    kernel = next(line for line in text.splitlines() if line.startswith("kernel "))
    assert ("initrd=initrd.img initrd=lldp.img " in kernel) is with_lldp  # UEFI: the kernel loads both by name
    assert ("initrd http://10.0.0.1:8088/v1/ramdisk/lldp.img" in text) is with_lldp


REPORT = Path(scripts.__file__).resolve().parent / "files" / "oci-report.sh"  # the package's copy (hack/mutants too)


def test_the_report_puts_the_ramdisks_lldp_neighbour_in_its_nics_entry(tmp_path: Path) -> None:
    """oci-report.sh's lldp_of (what nics() appends to a NIC's entry), on a file as the ramdisk's init writes it."""
    neighbour = {"chassisId": "0a:0b:0c:0d:0e:0f", "portId": "Ethernet12", "systemName": "tor-1"}
    (tmp_path / "eth1.json").write_text(json.dumps(neighbour | {"switch": "tor-1", "port": "Ethernet12"}))
    # Its functions only: after the arguments are read, before the report is built and sent.
    functions = REPORT.read_text().split("\nbody=", 1)[0].split("message=${5:-}\n", 1)[1]

    def entry(nic: str) -> str:
        script = f'{functions}\nprintf \'{{"name":"{nic}"%s}}\' "$(lldp_of {nic})"'
        env = {"PATH": "/usr/bin:/bin", "OCI_LLDP_DIR": str(tmp_path)}
        return subprocess.run(["sh", "-c", script], check=True, capture_output=True, text=True, env=env).stdout

    assert json.loads(entry("eth1"))["lldp"] == neighbour | {"switch": "tor-1", "port": "Ethernet12"}
    assert json.loads(entry("eth0")) == {"name": "eth0"}  # no neighbour heard: no lldp key
