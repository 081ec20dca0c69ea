"""BMC credentials as read from a Secret; the password never reaches repr, logs or status."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

REQUIRED_KEYS = ("username", "password")
CA_BUNDLE_KEY = "ca.crt"  # optional: PEM CA(s) to verify an HTTPS BMC's certificate with (docs/redfish.md)


@dataclass(frozen=True)
class BMCCredentials:
    username: str
    password: str = field(repr=False)
    resource_version: str
    ca_bundle: str = ""


class CredentialsProblem(StrEnum):
    MISSING = "CredentialsMissing"
    INVALID = "CredentialsInvalid"


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


def check_secret(secret_name: str, data: dict[str, str] | None, resource_version: str = "") -> CredentialsCheck:
    """`data` is the Secret's decoded data, or None when the Secret does not exist."""
    if data is None:
        return CredentialsCheck(
            secret_name, problem=CredentialsProblem.MISSING, detail=f"Secret {secret_name!r} not found"
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
