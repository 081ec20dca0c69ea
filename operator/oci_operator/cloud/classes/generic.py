"""oci::generic: every host's base (hosts file, NTP, SSH, the cluster's PKI material)."""

from __future__ import annotations

from typing import ClassVar

from .base import Fqdn, Ipv4, Name, OciClass


class Generic(OciClass):
    oci_class: ClassVar[str] = "oci::generic"

    machine_hostname: Fqdn
    machine_role: Name
    admin_email_address: Name
    mail_relay_host: Name
    use_http_proxy: bool
    http_proxy_addr: str | None = None
    ssh_listen_ips: list[Ipv4]
    etc_hosts: Name  # base64 of /etc/hosts, as the class decodes it
    time_server_host: Name
    generate_root_ssh_keys: bool
    oci_facts: Name  # base64 YAML of the facts OCI writes to facts.d
    # PKI, base64 PEM (the class decodes them): this host's certificate and key, the cluster CA.
    ssl_cert_snakeoil_pem: Name
    ssl_cert_snakeoil_key: Name
    oci_pki_root_ca: Name
    oci_pki_oci_ca: Name
    oci_pki_oci_ca_chain: Name
    # The API VIP's certificate: only the hosts that terminate TLS for the API get it.
    oci_pki_api_pem: str | None = None
    oci_pki_api_key: str | None = None
    oci_pki_api_crt: str | None = None


class Filebeat(OciClass):
    """oci::filebeat: every host gets it; off unless the cluster ships logs."""

    oci_class: ClassVar[str] = "oci::filebeat"

    cluster_name: Name
    machine_role: Name
    filebeat_enable: bool
