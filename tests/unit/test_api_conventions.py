"""What kubectl shows of a host, next to metal3's: short names, the default columns, operationalStatus."""

from __future__ import annotations

import asyncio

import yaml

from oci_operator.api.v1alpha1 import BareMetalHost
from oci_operator.bmc.credentials import CredentialsCheck
from oci_operator.reconcilers.baremetalhost import reconcile_pass
from support.host_bench import SETTINGS, T0
from support.kube import REPO


def crd() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((REPO / "crds" / "oci.openstack.org_baremetalhosts.yaml").read_text())
    return loaded


def test_a_short_name_of_our_own_next_to_metal3s_bmh() -> None:
    names = crd()["spec"]["names"]  # type: ignore[index]
    assert names["shortNames"] == ["bmh", "ocibmh"]


def test_the_default_view_shows_the_error_and_wide_the_operational_status() -> None:
    columns = crd()["spec"]["versions"][0]["additionalPrinterColumns"]  # type: ignore[index]
    default = [c["name"] for c in columns if not c.get("priority")]
    assert default == ["State", "Ready", "Online", "Powered", "Role", "Error", "Age"]
    wide = {c["name"]: c["jsonPath"] for c in columns if c.get("priority")}
    assert wide["Status"] == ".status.operationalStatus"


def test_a_host_without_bmc_details_is_discovered() -> None:
    host = BareMetalHost.model_validate(
        {"metadata": {"name": "h", "namespace": "n", "generation": 1}, "spec": {"bootMACAddress": "52:54:00:00:00:09"}}
    )
    result = asyncio.run(reconcile_pass(host, CredentialsCheck.absent(), None, SETTINGS, T0))
    assert result.status.operational_status == "discovered"
    assert result.status.provisioning is not None
    assert result.status.provisioning.state == "discovered"
