"""What every puppet-module-oci class model shares: strict types, secrets marked by kind, and the names
of the class's real parameters (read from the module) that overrides are checked against."""

from __future__ import annotations

import json
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

FQDN_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"
IPV4_PATTERN = r"^(\d{1,3}\.){3}\d{1,3}$"

Fqdn = Annotated[str, Field(pattern=FQDN_PATTERN)]
Ipv4 = Annotated[str, Field(pattern=IPV4_PATTERN)]
Prefix = Annotated[int, Field(ge=1, le=32)]
Name = Annotated[str, Field(min_length=1)]


class SecretKind(StrEnum):
    """How a cluster secret is generated (as OCI does it)."""

    HEX = "hex"  # 32 random bytes as hex: OCI's default for passwords
    UUID = "uuid"  # UUIDv4: ceph fsid, libvirt secret, gnocchi resource
    CEPH_KEY = "ceph-key"  # 16 random bytes in ceph's base64 key format
    BASE64_32 = "base64-32"  # keystone credential and fernet keys
    RNDC_KEY = "rndc-key"  # designate's rndc key: base64 HMAC-SHA256
    SSH_PUBLIC = "ssh-public"  # the base64 body of an RSA public key (OCI's pubkey column)
    SSH_PRIVATE = "ssh-private"  # base64 of the OpenSSH private key (the classes decode it)


class SecretMarker:
    """Marks a parameter as a cluster secret: the plan fills it from the secrets store."""

    def __init__(self, kind: SecretKind) -> None:
        self.kind = kind


HexSecret = Annotated[str, Field(min_length=1), SecretMarker(SecretKind.HEX)]
UuidSecret = Annotated[str, Field(min_length=1), SecretMarker(SecretKind.UUID)]
CephKey = Annotated[str, Field(min_length=1), SecretMarker(SecretKind.CEPH_KEY)]
Base64Secret = Annotated[str, Field(min_length=1), SecretMarker(SecretKind.BASE64_32)]
RndcKey = Annotated[str, Field(min_length=1), SecretMarker(SecretKind.RNDC_KEY)]
SshPublic = Annotated[str, Field(min_length=1), SecretMarker(SecretKind.SSH_PUBLIC)]
SshPrivate = Annotated[str, Field(min_length=1), SecretMarker(SecretKind.SSH_PRIVATE)]


@cache
def known_parameters() -> dict[str, frozenset[str]]:
    """class name -> its parameter names, as hack/update-oci-parameters read them from the module."""
    text = resources.files(__package__).joinpath("oci_parameters.json").read_text()
    return {name: frozenset(params) for name, params in json.loads(text).items()}


class OciClass(BaseModel):
    """One puppet-module-oci class's parameters. The module has no types and no required parameters: the
    fields here are what OCI's ENC always gives the class, typed and required, so a missing or wrong value
    is refused here rather than compiling into a broken catalog. Other real parameters of the class may be
    set through overrides; they pass through untyped (extra), after their name is checked."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    oci_class: ClassVar[str]

    @classmethod
    def secret_fields(cls) -> dict[str, SecretKind]:
        """Parameter name -> kind of the secret it carries."""
        found: dict[str, SecretKind] = {}
        for name, info in cls.model_fields.items():
            for meta in info.metadata:
                if isinstance(meta, SecretMarker):
                    found[name] = meta.kind
        return found

    def parameters(self) -> dict[str, Any]:
        """The class's parameters as the ENC prints them (None means: leave the module's default)."""
        return self.model_dump(mode="json", exclude_none=True)


def secret_name(parameter: str) -> str:
    """The key of a parameter's value in the cluster secrets: pass_nova_db -> nova_db."""
    return parameter.removeprefix("pass_")
