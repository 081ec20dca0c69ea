"""Redfish addresses: which URL and system a driver talks to, and what is refused."""

from __future__ import annotations

import pytest

from oci_operator.bmc.driver import BMCUnsupported
from oci_operator.bmc.drivers import driver_for
from oci_operator.bmc.ipmi import IPMIDriver
from oci_operator.bmc.redfish import RedfishAddress, RedfishDriver


@pytest.mark.parametrize(
    ("address", "base_url", "system"),
    [
        ("redfish://10.0.0.5", "https://10.0.0.5", ""),
        ("redfish://10.0.0.5/", "https://10.0.0.5", ""),
        ("redfish+https://bmc:8443/redfish/v1/Systems/1", "https://bmc:8443", "/redfish/v1/Systems/1"),
        ("redfish+http://[fd00::5]:8000/redfish/v1/Systems/abc/", "http://[fd00::5]:8000", "/redfish/v1/Systems/abc"),
    ],
)
def test_address_gives_base_url_and_system(address: str, base_url: str, system: str) -> None:
    assert RedfishAddress.parse(address) == RedfishAddress(base_url, system)


@pytest.mark.parametrize("address", ["redfish://10.0.0.5/redfish/v1", "redfish+ftp://h", "redfish://"])
def test_bad_addresses_are_unsupported(address: str) -> None:
    with pytest.raises(BMCUnsupported):
        driver_for(address, "u", "p")


def test_driver_is_chosen_by_scheme() -> None:
    assert isinstance(driver_for("ipmi://10.0.0.5", "u", "p"), IPMIDriver)
    assert isinstance(driver_for("redfish+http://10.0.0.5", "u", "p"), RedfishDriver)
    with pytest.raises(BMCUnsupported):
        driver_for("idrac://10.0.0.5", "u", "p")


def test_repr_names_the_bmc_not_the_password() -> None:
    driver = driver_for("redfish://10.0.0.5/redfish/v1/Systems/1", "admin", "hunter2-xyz")
    assert "hunter2-xyz" not in repr(driver)
    assert "10.0.0.5" in repr(driver)
