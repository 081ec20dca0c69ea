"""The cluster CA and its certificates (`cryptography`): a root CA per cluster, a certificate per host
(FQDN and management address in the SANs) and one for the API VIP's hostname, renewed a configurable
time before they expire. Material is PEM text, kept in Secrets by the caller."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@dataclass(frozen=True)
class KeyPair:
    cert_pem: str
    key_pem: str

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem.encode())

    def expires(self) -> dt.datetime:
        return self.cert.not_valid_after_utc

    def needs_renewal(self, renew_before: dt.timedelta, now: dt.datetime | None = None) -> bool:
        return self.expires() - renew_before <= (now or _now())

    def names(self) -> tuple[list[str], list[str]]:
        """(DNS names, IP addresses) of the certificate's SANs."""
        san = self.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return san.get_values_for_type(x509.DNSName), [str(a) for a in san.get_values_for_type(x509.IPAddress)]


def self_signed_ca(
    common_name: str, days: int, dns_names: Sequence[str] = (), now: dt.datetime | None = None
) -> KeyPair:
    """A P-256 key and a certificate that is its own CA (a cluster's root; the boot server's pinned one)."""
    start = now or _now()
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key))


def new_ca(cluster: str, now: dt.datetime | None = None) -> KeyPair:
    """A self-signed root CA for one cluster."""
    return self_signed_ca(f"{cluster} cluster CA", CA_DAYS, now=now)


def issue(
    ca: KeyPair, dns_names: Sequence[str], addresses: Sequence[str], days: int, now: dt.datetime | None = None
) -> KeyPair:
    """A server (and client: libvirt's TLS migration uses it) certificate signed by the cluster CA."""
    start = now or _now()
    ca_key = serialization.load_pem_private_key(ca.key_pem.encode(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key))


def current(
    existing: KeyPair | None,
    ca: KeyPair,
    dns_names: Sequence[str],
    addresses: Sequence[str],
    days: int,
    renew_before: dt.timedelta,
    now: dt.datetime | None = None,
) -> KeyPair:
    """`existing` while it is valid for these names and not due for renewal, else a new certificate."""
    if existing is not None and not existing.needs_renewal(renew_before, now):
        names, ips = existing.names()
        if sorted(names) == sorted(dns_names) and sorted(ips) == sorted(addresses):
            return existing
    return issue(ca, dns_names, addresses, days, now)


class References:
    """PKI material as references, for plans shown to people (no CA needed, nothing secret printed)."""

    def ca_pem(self) -> str:
        return "<certificate:cluster-ca>"

    def host_pair(self, fqdn: str) -> tuple[str, str]:
        return f"<certificate:{fqdn}>", f"<secret:tls-key:{fqdn}>"

    def api_pair(self) -> tuple[str, str]:
        return "<certificate:api-vip>", "<secret:tls-key:api-vip>"
