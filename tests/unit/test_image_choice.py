"""Which image an install writes: the host's spec.image, else its NodeRole's, else the operator's default;
recorded in status.provisioning.image when the job starts, and what the boot server hands the ramdisk."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from oci_operator import cli
from oci_operator.api.v1alpha1 import BareMetalHost, NodeRole
from oci_operator.api.v1alpha1.baremetalhost import Image, ImageSource
from oci_operator.bmc.access import BMCPool
from oci_operator.bmc.credentials import check_secret
from oci_operator.bmc.governor import Governor, GovernorConfig
from oci_operator.bootserver import scripts
from oci_operator.bootserver.config import BootServerConfig
from oci_operator.bootserver.directory import Token
from oci_operator.reconcilers.baremetalhost import reconcile_pass
from oci_operator.reconcilers.desired_state import RoleLookup
from oci_operator.reconcilers.host_context import HostSettings
from oci_operator.reconcilers.image import choose_image
from support.fake_bmc import FakeDriver

HOST_IMAGE = {"url": "http://images/host.raw", "checksum": "a" * 64}
ROLE_IMAGE = {"url": "http://images/role.raw", "checksum": "b" * 64}
SITE = Image(url="http://images/site.raw", checksum="c" * 64)


def host(image: dict[str, str] | None = None, state: str = "available") -> BareMetalHost:
    spec: dict[str, Any] = {
        "bmc": {"address": "ipmi://10.0.0.1", "credentialsName": "c"},
        "bootMACAddress": "52:54:00:00:00:01",
        "role": "web",
    }
    if image is not None:
        spec["image"] = image
    hardware = {"disks": [{"name": "/dev/vda", "sizeBytes": 20 << 30, "rotational": False}]}
    status = {
        "provisioning": {"state": state},
        "hardware": hardware,
        "goodCredentials": {"name": "c", "resourceVersion": "1"},
    }
    return BareMetalHost.model_validate({"metadata": {"name": "h1", "namespace": "n"}, "spec": spec, "status": status})


def role(image: dict[str, str] | None = None) -> NodeRole:
    spec: dict[str, Any] = {"resources": []}
    if image is not None:
        spec["image"] = image
    return NodeRole.model_validate({"metadata": {"name": "web", "namespace": "n"}, "spec": spec})


@pytest.mark.parametrize(
    ("host_image", "role_lookup", "default", "expected"),
    [
        (HOST_IMAGE, role(ROLE_IMAGE), SITE, ("http://images/host.raw", ImageSource.HOST)),
        (None, role(ROLE_IMAGE), SITE, ("http://images/role.raw", ImageSource.NODE_ROLE)),
        (None, role(), SITE, ("http://images/site.raw", ImageSource.OPERATOR)),
        (None, "NodeRole 'web' not found in n", SITE, ("http://images/site.raw", ImageSource.OPERATOR)),
        (None, role(), None, None),  # the Debian installer
        (None, None, None, None),
    ],
)
def test_the_host_wins_over_its_noderole_which_wins_over_the_operator(
    host_image: dict[str, str] | None, role_lookup: RoleLookup, default: Image | None, expected: Any
) -> None:
    chosen = choose_image(host(host_image), role_lookup, default)
    assert (None if chosen is None else (chosen.url, chosen.source)) == expected


def one_pass(h: BareMetalHost, settings: HostSettings, role_lookup: RoleLookup) -> Any:
    pool = BMCPool(Governor(GovernorConfig(backoff_base=0.0)), factory=lambda *_: FakeDriver())  # type: ignore[arg-type,return-value]
    credentials = check_secret("c", {"username": "u", "password": "p"}, "1")
    assert credentials.credentials is not None

    async def run() -> Any:
        return await reconcile_pass(h, credentials, pool.access("ipmi://10.0.0.1", credentials.credentials), settings,
                                    role=role_lookup)  # fmt: skip

    return asyncio.run(run())


def test_the_install_job_records_the_image_it_writes_with_its_source() -> None:
    result = one_pass(host(), HostSettings(default_image=SITE), role(ROLE_IMAGE))
    prov = result.status.provisioning
    assert prov.state.value == "provisioning"
    assert prov.boot_id is not None
    assert prov.image.wire() == {**ROLE_IMAGE, "format": "raw", "source": "NodeRole"}


def test_an_install_without_any_image_is_an_error_when_the_operator_requires_one() -> None:
    result = one_pass(host(), HostSettings(require_image=True), role())
    status = result.status
    assert status.provisioning.boot_id is None  # no job, no power command
    assert not result.actions
    assert status.error_type.value == "provisioning error"
    ready = next(c for c in status.conditions if c.type == "Ready")
    assert ready.reason == "ImageMissing"
    assert "--require-image" in ready.message
    assert "NodeRole 'web'" in ready.message


def test_without_a_requirement_no_image_means_the_debian_installer() -> None:
    result = one_pass(host(), HostSettings(), role())
    assert result.status.provisioning.boot_id is not None
    assert result.status.provisioning.image is None


def test_the_boot_server_hands_the_ramdisk_the_chosen_image(tmp_path: Path) -> None:
    config = BootServerConfig(advertise="10.0.0.1:8088", ramdisk_dir=tmp_path)
    h = host(state="provisioning")
    h.status.provisioning.boot_id = "job1"  # type: ignore[union-attr]
    h.status.provisioning.root_device = ["/dev/vda"]  # type: ignore[union-attr]
    assert scripts.loader(config, h, "install") == "installer"  # nothing chosen: d-i
    h.status.provisioning.image = choose_image(h, role(ROLE_IMAGE), None)  # type: ignore[union-attr]
    assert scripts.loader(config, h, "install") == "ramdisk"
    job = scripts.job(config, h, Token("ipxe", "job1", "job-token"), "install")
    assert "OCI_IMAGE_URL=http://images/role.raw" in job
    assert f"OCI_IMAGE_SHA256={'b' * 64}" in job


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (["--default-image-url", "ftp://x/y.raw", "--default-image-checksum", "c" * 64], "--default-image-url"),
        (["--default-image-url", "http://x/y.raw"], "--default-image-checksum"),
        (["--default-image-checksum", "c" * 64], "--default-image-url"),
    ],
)
def test_a_bad_default_image_is_refused_naming_the_flag(flags: list[str], problem: str) -> None:
    args = cli.parser().parse_args(["run", *flags])
    with pytest.raises(ValueError, match=problem):
        cli._default_image(args)


def test_a_good_default_image_is_the_sites() -> None:
    args = cli.parser().parse_args(["run", "--default-image-url", SITE.url, "--default-image-checksum", SITE.checksum])
    assert cli._default_image(args) == SITE
    assert cli._default_image(cli.parser().parse_args(["run"])) is None
