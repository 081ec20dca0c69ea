"""The models accept what the CRD accepts and reject what it rejects."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from oci_operator.api.v1alpha1 import BareMetalHost


def host(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "bmc": {"address": "ipmi://10.0.0.5", "credentialsName": "bmc"},
        "bootMACAddress": "52:54:00:00:00:01",
    }
    base.update(spec)
    return {"metadata": {"name": "h", "namespace": "n", "generation": 3}, "spec": base}


def test_wire_names_and_defaults() -> None:
    parsed = BareMetalHost.model_validate(host())
    assert parsed.spec.boot_mac_address == "52:54:00:00:00:01"
    assert parsed.spec.online is False
    assert parsed.spec.boot_mode == "UEFI"
    assert parsed.generation == 3
    assert "bootMACAddress" in parsed.spec.wire()


@pytest.mark.parametrize(
    ("address", "host_part", "port"),
    [
        ("ipmi://10.0.0.5", "10.0.0.5", 623),
        ("ipmi://bmc-7.rack1.example:6230", "bmc-7.rack1.example", 6230),
        ("ipmi://[fd00::5]:624", "fd00::5", 624),
    ],
)
def test_bmc_address_parts(address: str, host_part: str, port: int) -> None:
    bmc = BareMetalHost.model_validate(host(bmc={"address": address, "credentialsName": "c"})).spec.bmc
    assert (bmc.scheme, bmc.host, bmc.port) == ("ipmi", host_part, port)


@pytest.mark.parametrize(
    ("address", "scheme", "port"),
    [
        ("redfish://10.0.0.5", "redfish", 443),
        ("redfish://10.0.0.5/redfish/v1/Systems/1", "redfish", 443),
        ("redfish+https://bmc.example:8443/redfish/v1/Systems/System.Embedded.1/", "redfish+https", 8443),
        ("redfish+http://[fd00::5]:8000/redfish/v1/Systems/27946b59-9e44-4fa7-8e91-f3527a1ef094", "redfish+http", 8000),
        ("redfish+http://10.0.0.5", "redfish+http", 80),
    ],
)
def test_redfish_addresses_are_accepted(address: str, scheme: str, port: int) -> None:
    bmc = BareMetalHost.model_validate(host(bmc={"address": address, "credentialsName": "c"})).spec.bmc
    assert (bmc.scheme, bmc.port) == (scheme, port)


@pytest.mark.parametrize(
    "spec",
    [
        {"bootMACAddress": "52:54:00:00:00"},
        {"bootMACAddress": "52-54-00-00-00-01"},
        {"bmc": {"address": "redfish://10.0.0.5/redfish/v1", "credentialsName": "c"}},  # no system id
        {"bmc": {"address": "https://10.0.0.5", "credentialsName": "c"}},
        {"bmc": {"address": "redfish+ftp://10.0.0.5", "credentialsName": "c"}},
        {"bmc": {"address": "ipmi://", "credentialsName": "c"}},
        {"bmc": {"address": "ipmi://10.0.0.5", "credentialsName": "Bad_Name"}},
        {"bootMode": "bios"},
    ],
)
def test_invalid_specs_are_rejected(spec: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        BareMetalHost.model_validate(host(**spec))
