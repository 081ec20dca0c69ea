"""sushy-tools' Redfish emulator with its fake systems driver, as its own process on loopback.

Several systems on one emulator (one BMC address each, by system path); power changes apply 1-11 s
after the command, as the fake driver does; HTTP basic authentication against an htpasswd (bcrypt)
file; optionally HTTPS with a certificate signed by a throw-away CA.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .operator_process import free_port, stop
from .waiting import wait_for

USERNAME, PASSWORD = "admin", "redfish-sim-pw"
SYSTEMS = "/redfish/v1/Systems/"


@dataclass
class RedfishEmulator:
    process: subprocess.Popen[bytes]
    base_url: str  # http(s)://127.0.0.1:port
    systems: list[str]  # the systems' ids (UUIDs), in creation order
    log_path: Path
    ca_pem: str = ""  # the CA that signed the emulator's certificate (HTTPS only)
    username: str = USERNAME
    password: str = PASSWORD
    _taken: int = field(default=0)

    @property
    def tls(self) -> bool:
        return self.base_url.startswith("https")

    def address(self, system: str | None, scheme: str | None = None) -> str:
        """A BareMetalHost address for `system` (None: no path, the BMC's single system is discovered)."""
        scheme = scheme or ("redfish" if self.tls else "redfish+http")
        authority = self.base_url.split("://", 1)[1]
        return f"{scheme}://{authority}{SYSTEMS + system if system else ''}"

    def take(self) -> str:
        """A system no other test uses."""
        system = self.systems[self._taken]
        self._taken += 1
        return system

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - loopback test URL
            self.base_url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        )
        context = ssl.create_default_context(cadata=self.ca_pem) if self.tls else None
        with urllib.request.urlopen(request, timeout=10, context=context) as response:  # noqa: S310
            text = response.read()
            return json.loads(text) if text else None

    def system(self, system: str) -> dict[str, Any]:
        """The system as the emulator shows it to any Redfish client."""
        result: dict[str, Any] = self._request("GET", SYSTEMS + system)
        return result

    def powered_on(self, system: str) -> bool:
        return bool(self.system(system)["PowerState"] == "On")

    def boot(self, system: str) -> dict[str, Any]:
        boot: dict[str, Any] = self.system(system)["Boot"]
        return boot

    def reset(self, system: str, reset_type: str) -> None:
        """What someone at the rack (or another tool) does to the server."""
        self._request("POST", f"{SYSTEMS}{system}/Actions/ComputerSystem.Reset", {"ResetType": reset_type})

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def sessions(self) -> dict[str, int]:
        """Sessions created, deleted, rejected and live (an emulator started with sessions=True)."""
        counts: dict[str, int] = self._request("GET", "/_test/sessions")
        return counts

    def expire_sessions(self) -> None:
        self._request("POST", "/_test/expire-sessions")

    def requests(self, system: str, method: str = "") -> list[str]:
        """Request lines of the emulator's access log that concern `system`, e.g. 'POST /redfish/...'."""
        return [line for line in self.log().splitlines() if f"{method} {SYSTEMS}{system}" in line and "HTTP/1" in line]


def make_ca_and_server_cert(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path, str]:
    """A throw-away CA and a server certificate it signs for `host`: (cert file, key file, CA PEM)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "oci-operator test BMC CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = directory / "bmc.crt", directory / "bmc.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path, ca.public_bytes(serialization.Encoding.PEM).decode()


def _up(url: str, tls: bool) -> bool:
    context = ssl._create_unverified_context() if tls else None  # noqa: S323 - readiness only
    try:
        with urllib.request.urlopen(url + "/redfish/v1/", timeout=2, context=context) as response:  # noqa: S310
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def write_config(
    workdir: Path, count: int, port: int, *, tls: bool = False, auth: bool = True, power_on: bool = False
) -> tuple[Path, list[str], str]:
    """The emulator's config file for `count` fake systems: (its path, the systems' ids, the CA's PEM or "")."""
    workdir.mkdir(parents=True, exist_ok=True)
    systems = [str(uuid.uuid4()) for _ in range(count)]
    fake = [
        {
            "uuid": system,
            "name": f"fake-{n}",
            "power_state": "On" if power_on else "Off",
            "external_notifier": False,
            "nics": [{"mac": f"52:54:00:7e:{n // 256:02x}:{n % 256:02x}", "ip": "192.0.2.1"}],
        }
        for n, system in enumerate(systems)
    ]
    config: dict[str, Any] = {
        "SUSHY_EMULATOR_LISTEN_IP": "127.0.0.1",
        "SUSHY_EMULATOR_LISTEN_PORT": port,
        "SUSHY_EMULATOR_FAKE_DRIVER": True,
        "SUSHY_EMULATOR_FAKE_SYSTEMS": fake,
        "SUSHY_EMULATOR_STATE_DIR": str(workdir / "state"),
    }
    if auth:
        # Cost 4: the emulator checks the hash on every request, and the benchmark makes hundreds.
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
        (workdir / "htpasswd").write_text(f"{USERNAME}:{hashed}\n")
        config["SUSHY_EMULATOR_AUTH_FILE"] = str(workdir / "htpasswd")
    ca_pem = ""
    if tls:
        cert, key, ca_pem = make_ca_and_server_cert(workdir)
        config.update(SUSHY_EMULATOR_SSL_CERT=str(cert), SUSHY_EMULATOR_SSL_KEY=str(key))
    config_path = workdir / "emulator.conf"
    config_path.write_text("".join(f"{key} = {value!r}\n" for key, value in config.items()))
    return config_path, systems, ca_pem


@contextmanager
def redfish_emulator(
    workdir: Path, count: int, *, tls: bool = False, auth: bool = True, power_on: bool = False, sessions: bool = False
) -> Iterator[RedfishEmulator]:
    """`count` fake systems behind one emulator on a free loopback port (`sessions`: with a SessionService,
    see redfish_sessions.py; plain HTTP only)."""
    port = free_port()
    config_path, systems, ca_pem = write_config(workdir, count, port, tls=tls, auth=auth, power_on=power_on)
    log_path = workdir / "emulator.log"
    command = ["-m", "sushy_tools.emulator.main", "--config", str(config_path)]
    if sessions:
        command = ["-m", "support.redfish_sessions", str(config_path)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, *command], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    emulator = RedfishEmulator(process, url, systems, log_path, ca_pem)
    try:
        wait_for(lambda: process.poll() is None and _up(url, tls), 60, f"the Redfish emulator at {url}")
        yield emulator
    finally:
        stop(process, grace=5)


def main() -> None:
    """For hack/local-up: write a config and the hosts' manifests; local-up runs the emulator."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config_path, systems, _ = write_config(args.workdir, args.count, args.port)
    items: list[dict[str, Any]] = []
    for n, system in enumerate(systems):
        name = f"redfish-{n:03d}"
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": f"{name}-bmc"},
                "stringData": {"username": USERNAME, "password": PASSWORD},
            }
        )
        items.append(
            {
                "apiVersion": "oci.openstack.org/v1alpha1",
                "kind": "BareMetalHost",
                # No server boots behind the emulator: straight to available, power only.
                "metadata": {"name": name, "annotations": {"inspect.oci.openstack.org": "disabled"}},
                "spec": {
                    "bmc": {
                        "address": f"redfish+http://127.0.0.1:{args.port}{SYSTEMS}{system}",
                        "credentialsName": f"{name}-bmc",
                    },
                    "bootMACAddress": f"52:54:00:7e:{n // 256:02x}:{n % 256:02x}",  # the system's NIC
                    "online": False,
                },
            }
        )
    (args.workdir / "hosts.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    print(config_path)


if __name__ == "__main__":
    main()
