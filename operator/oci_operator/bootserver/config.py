"""Boot server settings, from its command line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import DEFAULT_SYSTEM_NAMESPACE

NETBOOT_IMAGES = Path("/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64")
IPXE_FILES = Path("/usr/lib/ipxe")
RAMDISK_FILES = ("vmlinuz", "initrd.img", "lldp.img")  # lldp.img: lldpd, added to inspection boots only


@dataclass(frozen=True)
class Reservation:
    mac: str
    ip: str
    name: str


@dataclass(frozen=True)
class DHCPConfig:
    enabled: bool = True
    mode: str = "proxy"  # proxy: the site's DHCP gives addresses, we add boot data; reservation: we do it all
    interface: str = "eth0"
    subnet: str = ""  # proxy mode: the provisioning network's address, e.g. 10.99.0.0
    range_start: str = ""  # reservation mode
    range_end: str = ""
    lease_time: str = "1h"
    router: str = ""
    dns_server: str = ""
    ra_prefix: str = ""  # e.g. fd99::, so iPXE does not wait for router advertisements
    reservations: tuple[Reservation, ...] = ()
    dnsmasq: str = "dnsmasq"
    user: str = ""  # dnsmasq drops to this user after binding (its default: nobody)

    def problem(self) -> str | None:
        """Why this configuration cannot work, in the words of the command line; None when it can."""
        if self.mode == "proxy" and not self.subnet:
            return "--dhcp-mode proxy needs --subnet (the provisioning network's address, e.g. 10.99.0.0)"
        if self.mode == "reservation" and not (self.range_start and self.range_end):
            return "--dhcp-mode reservation needs --range START,END"
        return None


@dataclass(frozen=True)
class BootServerConfig:
    kubeconfig: str | None = None
    namespace: str | None = None  # None: every namespace
    system_namespace: str = DEFAULT_SYSTEM_NAMESPACE  # the operator's: host Secrets, our certificate
    listen_address: str = "0.0.0.0"  # noqa: S104 - host network of the provisioning interface
    port: int = 8088
    agent_port: int = 8443  # HTTPS with the certificate installed agents pin (0: none)
    advertise: str = ""  # host:port nodes use to reach us (defaults to listen address and port)
    images_dir: Path = NETBOOT_IMAGES
    kernel: str = "linux"
    initrd: str = "initrd.gz"
    kernel_args: str = "console=tty0 console=ttyS0,115200n8"
    ramdisk_dir: Path | None = None  # hack/build-deploy-ramdisk's output: vmlinuz, initrd.img
    ipxe_dir: Path = IPXE_FILES
    state_dir: Path = Path("/var/lib/oci-bootserver")
    mirror_host: str = "deb.debian.org"
    mirror_directory: str = "/debian"
    http_proxy: str = ""
    discover: bool = False  # create a BareMetalHost for an unknown MAC seen on the network
    dhcp: DHCPConfig = field(default_factory=DHCPConfig)

    @property
    def server(self) -> str:
        return self.advertise or f"{self.listen_address}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.server}"

    @property
    def agent_server(self) -> str:
        """host:port of the HTTPS listener, as installed agents reach it (the advertised host)."""
        return f"{self.server.rpartition(':')[0]}:{self.agent_port}"
