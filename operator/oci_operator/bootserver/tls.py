"""The boot server's own certificate, which installed nodes' agents pin (issue 16, finding 9).

Self-signed and long-lived: its only job is to let an agent know it talks to this boot server (the
certificate is handed to the agent with its credential during the installation), not to be trusted
by anyone else, so no public CA and no host name enter into it. The operator makes it once and keeps
it in the system namespace; the boot server reads it from there."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

VALIDITY_DAYS = 3650


def self_signed(common_name: str = "oci-operator boot server") -> tuple[str, str]:
    """A new P-256 key and a certificate for it that is its own CA: (certificate PEM, key PEM)."""
    from ..cloud.pki import self_signed_ca  # the operator makes it; the boot server need not load cryptography

    pair = self_signed_ca(common_name, VALIDITY_DAYS, dns_names=["oci-boot-server"])
    return pair.cert_pem, pair.key_pem


def server_context(certificate: str, key: str, directory: Path) -> ssl.SSLContext:
    """A TLS server context for this certificate (ssl loads keys from files only: written 0600)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_text(certificate)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w") as out:
        out.write(key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context
