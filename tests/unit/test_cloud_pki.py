"""The cluster CA: host and API VIP certificates verified by the real `openssl verify`, SANs, renewal."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from oci_operator.cloud import pki

FQDN = "cloud1-controller-1.cloud1.example.net"


@pytest.fixture(scope="module")
def ca() -> pki.KeyPair:
    return pki.new_ca("cloud1")


def openssl_verify(tmp_path: Path, ca: pki.KeyPair, cert: pki.KeyPair, *extra: str) -> subprocess.CompletedProcess[str]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl missing: hack/setup installs it")
    (tmp_path / "ca.pem").write_text(ca.cert_pem)
    (tmp_path / "cert.pem").write_text(cert.cert_pem)
    return subprocess.run(
        [openssl, "verify", "-CAfile", str(tmp_path / "ca.pem"), *extra, str(tmp_path / "cert.pem")],
        capture_output=True,
        text=True,
        check=False,
    )


def test_host_certificate_verifies_against_the_cluster_ca(tmp_path: Path, ca: pki.KeyPair) -> None:
    cert = pki.issue(ca, [FQDN], ["10.20.0.10"], days=365)
    out = openssl_verify(tmp_path, ca, cert, "-purpose", "sslserver", "-verify_hostname", FQDN)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().endswith(": OK")
    ip = openssl_verify(tmp_path, ca, cert, "-verify_ip", "10.20.0.10")
    assert ip.returncode == 0, ip.stdout + ip.stderr
    assert cert.names() == ([FQDN], ["10.20.0.10"])


def test_api_vip_certificate_holds_its_hostname(tmp_path: Path, ca: pki.KeyPair) -> None:
    cert = pki.issue(ca, ["api.cloud1.example.net"], ["10.20.0.5"], days=365)
    out = openssl_verify(tmp_path, ca, cert, "-verify_hostname", "api.cloud1.example.net")
    assert out.returncode == 0, out.stdout + out.stderr
    wrong = openssl_verify(tmp_path, ca, cert, "-verify_hostname", "other.cloud1.example.net")
    assert wrong.returncode != 0


def test_another_clusters_ca_does_not_verify(tmp_path: Path, ca: pki.KeyPair) -> None:
    cert = pki.issue(pki.new_ca("cloud2"), [FQDN], [], days=30)
    out = openssl_verify(tmp_path, ca, cert)
    assert out.returncode != 0


def test_keys_are_pem_and_match_the_certificate(ca: pki.KeyPair) -> None:
    from cryptography.hazmat.primitives import serialization

    cert = pki.issue(ca, [FQDN], ["10.20.0.10"], days=30)
    key = serialization.load_pem_private_key(cert.key_pem.encode(), password=None)
    assert key.public_key().public_numbers() == cert.cert.public_key().public_numbers()  # type: ignore[union-attr]


def test_renewal_before_expiry_and_on_changed_names(ca: pki.KeyPair) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = pki.issue(ca, [FQDN], ["10.20.0.10"], days=90, now=start)
    before = dt.timedelta(days=30)
    kept = pki.current(cert, ca, [FQDN], ["10.20.0.10"], 90, before, now=start + dt.timedelta(days=59))
    assert kept is cert
    renewed = pki.current(cert, ca, [FQDN], ["10.20.0.10"], 90, before, now=start + dt.timedelta(days=61))
    assert renewed is not cert
    assert renewed.expires() > cert.expires()
    moved = pki.current(cert, ca, [FQDN], ["10.20.0.11"], 90, before, now=start)
    assert moved.names() == ([FQDN], ["10.20.0.11"])
