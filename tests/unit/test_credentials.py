"""Reading BMC credentials from a Secret: each problem named, the password never shown."""

from __future__ import annotations

import pytest

from oci_operator.bmc.credentials import BMCCredentials, CredentialsCheck, CredentialsProblem, check_secret


def test_a_missing_secret_is_named() -> None:
    check = check_secret("h1-bmc", None, "5")
    assert check == CredentialsCheck("h1-bmc", problem=CredentialsProblem.MISSING, detail="Secret 'h1-bmc' not found")
    assert check.problem == "CredentialsMissing"


@pytest.mark.parametrize(
    ("data", "lacking"),
    [
        ({}, "username, password"),
        ({"username": "admin"}, "password"),
        ({"password": "p"}, "username"),
        ({"username": "", "password": "p"}, "username"),  # empty counts as absent
        ({"username": "admin", "password": ""}, "password"),
    ],
)
def test_an_incomplete_secret_names_the_keys_it_lacks(data: dict[str, str], lacking: str) -> None:
    check = check_secret("h1-bmc", data, "5")
    assert check.problem == "CredentialsInvalid"
    assert check.credentials is None
    assert check.detail == f"Secret 'h1-bmc' lacks non-empty key(s): {lacking}"
    assert check.secret_name == "h1-bmc"


def test_usable_credentials_carry_the_secret_version() -> None:
    check = check_secret("h1-bmc", {"username": "admin", "password": "s3cret", "extra": "x"}, "42")
    assert check == CredentialsCheck("h1-bmc", credentials=BMCCredentials("admin", "s3cret", "42"))
    assert (check.problem, check.detail) == (None, "")


def test_a_host_without_a_bmc_has_no_secret_to_read() -> None:
    check = CredentialsCheck.absent()
    assert check == CredentialsCheck("", problem=CredentialsProblem.MISSING, detail="no spec.bmc")


def test_the_password_never_shows_in_repr() -> None:
    check = check_secret("h1-bmc", {"username": "admin", "password": "hunter2-xyz"}, "1")
    assert "hunter2-xyz" not in repr(check)
    assert "hunter2-xyz" not in str(check.credentials)
    assert "admin" in repr(check)


def test_a_secret_read_without_a_version_has_none_and_its_ca_bundle_is_kept() -> None:
    checked = check_secret("bmc", {"username": "u", "password": "p", "ca.crt": "PEM"})
    assert checked.credentials is not None
    assert checked.credentials.resource_version == ""
    assert checked.credentials.ca_bundle == "PEM"
    assert check_secret("bmc", {"username": "u", "password": "p"}, "7").credentials.ca_bundle == ""  # type: ignore[union-attr]


def test_an_unmarked_secret_is_named_in_its_refusal() -> None:
    checked = check_secret("app-basic-auth", {"username": "u", "password": "p"}, "1", is_marked=False)
    assert checked.secret_name == "app-basic-auth"
    assert checked.credentials is None
    assert "app-basic-auth" in checked.detail
