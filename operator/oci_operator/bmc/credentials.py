"""BMC credentials as read from a Secret; the password never reaches repr, logs or status."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

REQUIRED_KEYS = ("username", "password")
CA_BUNDLE_KEY = "ca.crt"  # optional: PEM CA(s) to verify an HTTPS BMC's certificate with (docs/redfish.md)
# A Secret is used as BMC credentials only when marked for it (its type, or this label set to "true"):
# spec.bmc.credentialsName could otherwise name any Secret with these keys (another application's
# basic-auth Secret) and have the operator send a login keyed by it to an address of the user's choosing.
CREDENTIALS_TYPE = "oci.openstack.org/bmc-credentials"
CREDENTIALS_LABEL = "oci.openstack.org/bmc-credentials"


def marked(secret_type: str, labels: dict[str, str]) -> bool:
    return secret_type == CREDENTIALS_TYPE or labels.get(CREDENTIALS_LABEL) == "true"


@dataclass(frozen=True)
class BMCCredentials:
    username: str
    password: str = field(repr=False)
    resource_version: str
    ca_bundle: str = ""


class CredentialsProblem(StrEnum):
    MISSING = "CredentialsMissing"
    INVALID = "CredentialsInvalid"
    UNMARKED = "CredentialsNotMarked"


@dataclass(frozen=True)
class CredentialsCheck:
    """Outcome of looking a host's credentials Secret up: usable credentials or a problem."""

    secret_name: str
    credentials: BMCCredentials | None = None
    problem: CredentialsProblem | None = None
    detail: str = ""

    @classmethod
    def absent(cls) -> CredentialsCheck:
        """For a host without spec.bmc: there is no Secret to look for."""
        return cls("", problem=CredentialsProblem.MISSING, detail="no spec.bmc")


def check_secret(
    secret_name: str, data: dict[str, str] | None, resource_version: str = "", is_marked: bool = True
) -> CredentialsCheck:
    """`data` is the Secret's decoded data, or None when the Secret does not exist; `is_marked` says
    whether the Secret is marked for this use (see `marked`); an unmarked one is not even read."""
    if data is None:
        return CredentialsCheck(
            secret_name, problem=CredentialsProblem.MISSING, detail=f"Secret {secret_name!r} not found"
        )
    if not is_marked:
        return CredentialsCheck(
            secret_name,
            problem=CredentialsProblem.UNMARKED,
            detail=f"Secret {secret_name!r} is not marked as BMC credentials: give it type {CREDENTIALS_TYPE}"
            f" or the label {CREDENTIALS_LABEL}=true",
        )
    absent = [key for key in REQUIRED_KEYS if not data.get(key)]
    if absent:
        return CredentialsCheck(
            secret_name,
            problem=CredentialsProblem.INVALID,
            detail=f"Secret {secret_name!r} lacks non-empty key(s): {', '.join(absent)}",
        )
    return CredentialsCheck(
        secret_name,
        credentials=BMCCredentials(
            data["username"], data["password"], resource_version, ca_bundle=data.get(CA_BUNDLE_KEY, "")
        ),
    )
