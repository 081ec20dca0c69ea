"""`oci-operator bootserver`: the sidecar's entry point."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import logging
import resource
import signal
import sys
from pathlib import Path

from aiohttp import web

from ..api.v1alpha1 import GROUP, VERSION, BareMetalHost
from ..config import DEFAULT_SYSTEM_NAMESPACE
from ..k8s import client as k8s
from ..k8s import informer
from . import tls
from .app import BootServer
from .config import NETBOOT_IMAGES, RAMDISK_FILES, BootServerConfig, DHCPConfig, Reservation
from .directory import AGENT_SELECTOR, DESIRED_SELECTOR, TLS_SELECTOR, TOKEN_SELECTOR, Directory
from .discovery import Discovery, DiscoveryLimits
from .dnsmasq import Dnsmasq
from .guard import Guard, GuardedSite

_log = logging.getLogger("bootserver")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: in-cluster, then KUBECONFIG)")
    parser.add_argument("--namespace", help="serve hosts of this namespace only (default: all)")
    parser.add_argument(
        "--system-namespace",
        default=DEFAULT_SYSTEM_NAMESPACE,
        help="the operator's namespace holding host tokens, agent credentials and desired states",
    )
    parser.add_argument("--listen-address", default="0.0.0.0", help="HTTP address")  # noqa: S104
    parser.add_argument("--port", type=int, default=8088, help="HTTP port")
    parser.add_argument(
        "--header-timeout", type=float, default=15.0, help="seconds a client gets to send each request's headers"
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=4096,
        help="open HTTP connections per port (more get a 503 and are closed); lowered to fit the open-files limit",
    )
    parser.add_argument("--agent-port", type=int, default=8443, help="HTTPS port for installed agents (0: none)")
    parser.add_argument("--advertise", default="", help="HOST:PORT nodes use to reach this server")
    parser.add_argument("--images-dir", type=Path, default=NETBOOT_IMAGES, help="installer kernel and initrd")
    parser.add_argument(
        "--deploy-ramdisk",
        type=Path,
        default=None,
        help="directory with the deploy ramdisk (vmlinuz, initrd.img from hack/build-deploy-ramdisk): inspection,"
        " wiping and image installs boot it instead of the Debian installer",
    )
    parser.add_argument("--kernel-args", default="console=tty0 console=ttyS0,115200n8", help="extra kernel args")
    parser.add_argument("--state-dir", type=Path, default=Path("/var/lib/oci-bootserver"), help="TFTP root, leases")
    parser.add_argument("--mirror", default="deb.debian.org/debian", help="Debian mirror HOST/PATH for installs")
    parser.add_argument("--http-proxy", default="", help="proxy the installer uses for the mirror")
    parser.add_argument("--discover", action="store_true", help="create a BareMetalHost for unknown MACs")
    parser.add_argument("--discover-namespace", default="default", help="where discovered hosts are created")
    parser.add_argument("--discover-per-minute", type=float, default=30.0, help="discovered hosts created a minute")
    parser.add_argument("--discover-burst", type=int, default=10, help="discoveries allowed at once within the rate")
    parser.add_argument("--discover-max", type=int, default=100, help="discovered hosts that may exist at once")
    dhcp = parser.add_argument_group("DHCP and TFTP (dnsmasq)")
    dhcp.add_argument("--no-dhcp", action="store_true", help="HTTP only (another PXE server chains to us)")
    dhcp.add_argument("--dhcp-mode", choices=("proxy", "reservation"), default="proxy")
    dhcp.add_argument("--interface", default="eth0", help="provisioning interface")
    dhcp.add_argument("--subnet", default="", help="proxy mode: provisioning network address, e.g. 10.99.0.0")
    dhcp.add_argument("--range", default="", help="reservation mode: START,END of the address pool")
    dhcp.add_argument("--router", default="", help="reservation mode: default gateway handed out")
    dhcp.add_argument("--dns-server", default="", help="reservation mode: DNS server handed out")
    dhcp.add_argument("--ra-prefix", default="", help="send IPv6 RAs for this prefix (iPXE boots ~15 s faster)")
    dhcp.add_argument("--reserve", action="append", default=[], help="MAC,IP,NAME (repeatable)")
    dhcp.add_argument("--dnsmasq", default="dnsmasq", help="dnsmasq binary")
    dhcp.add_argument("--dnsmasq-user", default="", help="user dnsmasq runs as after binding (default: nobody)")


def config_from(args: argparse.Namespace) -> BootServerConfig:
    mirror_host, _, mirror_dir = str(args.mirror).partition("/")
    start, _, end = str(args.range).partition(",")
    reservations = tuple(Reservation(*r.split(",", 2)) for r in args.reserve)
    return BootServerConfig(
        kubeconfig=args.kubeconfig,
        namespace=args.namespace,
        system_namespace=args.system_namespace,
        listen_address=args.listen_address,
        port=args.port,
        agent_port=args.agent_port,
        advertise=args.advertise,
        images_dir=args.images_dir,
        kernel_args=args.kernel_args,
        ramdisk_dir=args.deploy_ramdisk,
        state_dir=args.state_dir,
        mirror_host=mirror_host,
        mirror_directory=f"/{mirror_dir}",
        http_proxy=args.http_proxy,
        discover=args.discover,
        dhcp=DHCPConfig(
            enabled=not args.no_dhcp,
            mode=args.dhcp_mode,
            interface=args.interface,
            subnet=args.subnet,
            range_start=start,
            range_end=end,
            router=args.router,
            dns_server=args.dns_server,
            ra_prefix=args.ra_prefix,
            reservations=reservations,
            dnsmasq=args.dnsmasq,
            user=args.dnsmasq_user,
        ),
    )


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = config_from(args)
    problem = config.dhcp.problem() if config.dhcp.enabled else None
    if problem:
        print(f"bootserver: {problem} (or --no-dhcp)", file=sys.stderr)
        return 2
    if args.discover_namespace and config.discover:
        discover_ns = args.discover_namespace
    else:
        discover_ns = config.namespace or "default"
    k8s.load(config.kubeconfig)
    k8s.use_field_manager("oci-bootserver")
    for name in (config.kernel, config.initrd):
        if not (config.images_dir / name).is_file():
            _log.warning("%s is missing: install debian-installer-12-netboot-amd64 or pass --images-dir", name)

    if config.ramdisk_dir is not None:
        missing = [str(config.ramdisk_dir / n) for n in RAMDISK_FILES if not (config.ramdisk_dir / n).is_file()]
        if missing:
            print(f"bootserver: {', '.join(missing)} missing (hack/build-deploy-ramdisk makes them)", file=sys.stderr)
            return 2

    hosts = informer.Informer(
        "baremetalhosts", informer.custom_objects(GROUP, VERSION, BareMetalHost.info.plural, config.namespace)
    )
    # Host Secrets come from the system namespace only: a Secret a tenant wrote is never read.
    system = informer.secrets(config.system_namespace)
    tokens = informer.Informer("boot-tokens", system, TOKEN_SELECTOR)
    agents = informer.Informer("agent-credentials", system, AGENT_SELECTOR)
    desired = informer.Informer("desired-states", system, DESIRED_SELECTOR)
    certificate = informer.Informer("boot-server-tls", system, TLS_SELECTOR)
    directory = Directory(hosts, tokens, desired, agents, certificate, config.system_namespace)
    for source in (hosts, tokens, desired, agents, certificate):
        source.on_change = directory.rebuild
        source.start()
    limits = DiscoveryLimits(args.discover_per_minute, args.discover_burst, args.discover_max)
    discovery = Discovery(directory, discover_ns, limits) if config.discover else None
    failed: list[int] = []
    dnsmasq = Dnsmasq(config, discovery.seen if discovery else None, failed.append) if config.dhcp.enabled else None
    server = BootServer(config, directory, discovery, dnsmasq.alive if dnsmasq else None)
    try:
        asyncio.run(_serve(server, config, dnsmasq, args.header_timeout, _fit_connections(args.max_connections)))
    finally:
        if dnsmasq is not None:
            dnsmasq.stop()
    return 1 if failed else 0


API_THREADS = 16  # within the API client's connection pool (k8s/client.py POOL_SIZE)
# File descriptors kept for everything but client connections (API watches, dnsmasq, logs, images).
RESERVED_FILES = 256


def _fit_connections(wanted: int) -> int:
    """The connection cap the open-files limit allows, after raising its soft value to the hard one.
    A node booting during a storm of a thousand must not be turned away by a cap the machine could
    carry (Debian's default soft limit is 1,024, its hard one 524,288): a refused preseed strands the
    installer. Each connection may hold a socket and a file being sent, on each of the two ports."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft == resource.RLIM_INFINITY:
        return wanted
    fits = max(1, (soft - RESERVED_FILES) // 4)
    if fits < wanted:
        _log.warning("--max-connections %d lowered to %d to fit the open-files limit (%d)", wanted, fits, soft)
        return fits
    return wanted


async def _serve(
    server: BootServer,
    config: BootServerConfig,
    dnsmasq: Dnsmasq | None,
    header_timeout: float,
    max_connections: int,
) -> None:
    # The API writes (milestones, reports) run in threads: the default pool (CPUs + 4) queued them for
    # minutes in a 1,000-node boot storm.
    asyncio.get_running_loop().set_default_executor(
        concurrent.futures.ThreadPoolExecutor(max_workers=API_THREADS, thread_name_prefix="api")
    )
    guard = Guard(header_timeout, max_connections)
    app = server.app()
    app.middlewares.append(guard.middleware)
    agents_guard = Guard(header_timeout, max_connections)  # the same limits, counted for the agents' port alone
    app.middlewares.append(agents_guard.middleware)
    runner = web.AppRunner(app, access_log=logging.getLogger("bootserver.access"))
    await runner.setup()
    site = GuardedSite(runner, config.listen_address, config.port, guard, backlog=1024)
    await site.start()
    print(f"bootserver: HTTP on {config.listen_address}:{config.port}, advertised as {config.base_url}", flush=True)
    stop = asyncio.Event()
    agents = (
        asyncio.create_task(_serve_agents(runner, server, config, agents_guard, stop)) if config.agent_port else None
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if dnsmasq is not None:
        # Without DHCP and TFTP the sidecar is useless: exit, and let the pod restart it.
        report = dnsmasq.on_exit

        def exited(status: int) -> None:
            if report is not None:
                report(status)
            loop.call_soon_threadsafe(stop.set)

        dnsmasq.on_exit = exited
        dnsmasq.start()
    await stop.wait()
    if agents is not None:
        await agents
    await runner.cleanup()


async def _serve_agents(
    runner: web.AppRunner, server: BootServer, config: BootServerConfig, guard: Guard, stop: asyncio.Event
) -> None:
    """HTTPS for installed agents, once the operator has made the certificate they pin; behind the same
    limits as HTTP (header timeout, connection cap), counted for this port alone."""
    while (found := server.directory.certificate()) is None:
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
            return
        except TimeoutError:
            continue
    context = tls.server_context(*found, config.state_dir / "tls")
    site = GuardedSite(runner, config.listen_address, config.agent_port, guard, ssl_context=context, backlog=1024)
    await site.start()
    print(f"bootserver: HTTPS for agents on {config.listen_address}:{config.agent_port}", flush=True)
