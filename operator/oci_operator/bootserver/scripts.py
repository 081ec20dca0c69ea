"""Which boot a host gets, and the iPXE script and preseed for it (pure functions of host state)."""

from __future__ import annotations

from ..api.v1alpha1 import BareMetalHost
from ..api.v1alpha1.baremetalhost import Image
from ..api.v1alpha1.hardware import BootStep
from ..render import render
from .config import BootServerConfig
from .directory import JOB_MODES, Token
from .macs import url_form

FINAL_STEPS = {BootStep.INSPECTED, BootStep.INSTALLED, BootStep.WIPED}


def boot_mode(host: BareMetalHost | None, token: Token | None) -> str:
    """inspect, install or wipe for a host in a boot job; wait while its token is being issued;
    disk otherwise — including once the job's final report is in, so an installed host that
    reboots before the operator switches its boot device boots Debian, not the installer again."""
    if host is None or host.status.provisioning is None:
        return "disk"
    prov = host.status.provisioning
    mode = JOB_MODES.get(prov.state)
    if mode is None or not prov.boot_id:
        return "disk"
    report = host.status.boot_report
    if report is not None and report.boot_id == prov.boot_id and report.step in FINAL_STEPS:
        return "disk"
    if token is None or token.boot_id != prov.boot_id:
        return "wait"
    return mode


def loader(config: BootServerConfig, host: BareMetalHost | None, mode: str) -> str:
    """What a boot job boots: the deploy ramdisk when the boot server has one (an image install needs
    it: without one the host waits, it never falls back to the installer it did not ask for),
    else the Debian installer."""
    if mode not in ("inspect", "install", "wipe"):
        return "none"
    image = job_image(host) if host is not None else None
    if config.ramdisk_dir is None:
        return "no-ramdisk" if mode == "install" and image is not None else "installer"
    if mode == "install" and image is None:
        return "installer"  # no image: Debian's installer and the preseed, as before
    return "ramdisk"


def job_image(host: BareMetalHost) -> Image | None:
    """The image the operator chose for this install job (the host's, its NodeRole's or the site's); a job
    recorded by an operator older than that choice: the host's own."""
    prov = host.status.provisioning
    return prov.image if prov is not None and prov.image is not None else host.spec.image


def host_script(config: BootServerConfig, mac: str, host: BareMetalHost | None, token: Token | None) -> str:
    mode = boot_mode(host, token)
    mac_path = url_form(mac)
    preseed_url = ""
    if token is not None and mode not in ("disk", "wait"):
        # Basic auth in the URL's user part: the installer's wget sends it as a header, so the
        # token never appears in a request line or an access log.
        preseed_url = f"http://{mac_path}:{token.value}@{config.server}/v1/hosts/{mac_path}/preseed.cfg"
    return render(
        "host.ipxe.j2",
        mode=mode,
        host=host.name if host else f"unknown host {mac}",
        hostname=host.name if host else "unknown",
        mac_path=mac_path,
        base_url=config.base_url,
        kernel=config.kernel,
        initrd=config.initrd,
        kernel_args=config.kernel_args,
        preseed_url=preseed_url,
        loader=loader(config, host, mode),
        lldp=mode == "inspect" and config.ramdisk_dir is not None and (config.ramdisk_dir / "lldp.img").is_file(),
        server=config.server,
        token=token.value if token is not None else "",
    )


def job(config: BootServerConfig, host: BareMetalHost, token: Token, mode: str) -> str:
    """The deploy ramdisk's job: shell assignments it sources (every value quoted)."""
    prov = host.status.provisioning
    hardware = host.status.hardware
    image = job_image(host)
    roots = prov.root_device if prov and prov.root_device else []
    return render(
        "job.sh.j2",
        host=host.name,
        mode=mode,
        boot_id=token.boot_id,
        token=token.job,
        root_device=roots[0] if roots else "",
        all_disks=[d.name for d in hardware.disks] if hardware else [],
        image_url=image.url if image else "",
        image_sha256=image.checksum if image else "",
        image_format=image.format if image else "",
    )


def preseed(config: BootServerConfig, host: BareMetalHost, token: Token, mode: str) -> str:
    prov = host.status.provisioning
    hardware = host.status.hardware
    return render(
        "preseed.cfg.j2",
        host=host.name,
        hostname=host.name,
        purpose=mode,
        boot_id=token.boot_id,
        token=token.job,  # reports and the agent credential handover; the iPXE token is spent by now
        server=config.server,
        base_url=config.base_url,
        mac_path=url_form(host.spec.boot_mac_address),
        root_devices=(prov.root_device if prov and prov.root_device else []),
        all_disks=[d.name for d in hardware.disks] if hardware else [],
        mirror_host=config.mirror_host,
        mirror_directory=config.mirror_directory,
        http_proxy=config.http_proxy,
    )
