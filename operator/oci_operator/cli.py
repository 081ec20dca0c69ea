"""`oci-operator` command line: one subcommand per process the project runs."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import __version__
from .config import DEFAULT_SYSTEM_NAMESPACE, OperatorConfig

if TYPE_CHECKING:
    from .api.v1alpha1.baremetalhost import Image
    from .k8s.lease import LeaderElector


def _run(args: argparse.Namespace) -> int:
    import kopf

    from . import handlers, metrics, render, supervise
    from .api.v1alpha1 import GROUP, KINDS, VERSION
    from .bmc.access import BMCPool
    from .bmc.governor import Governor, GovernorConfig
    from .k8s import client as k8s
    from .k8s import discovery, events
    from .k8s.lease import standby_health
    from .reconcilers.host_context import HostSettings

    try:
        default_image = _default_image(args)
    except ValueError as exc:
        print(f"oci-operator: {exc}", file=sys.stderr)
        return 2
    config = OperatorConfig(
        kubeconfig=args.kubeconfig,
        namespaces=tuple(args.namespace),
        system_namespace=args.system_namespace,
        metrics_address=args.metrics_address,
        metrics_port=args.metrics_port,
        health_port=args.health_port,
        log_format=args.log_format,
        verbose=args.verbose,
        power=HostSettings(
            poll_interval=args.power_poll_interval,
            settle_timeout=args.power_settle_timeout,
            soft_reboot_timeout=args.soft_reboot_timeout,
            boot_poll_interval=args.boot_poll_interval,
            boot_script_timeout=args.boot_script_timeout,
            inspect_timeout=args.inspect_timeout,
            provision_timeout=args.provision_timeout,
            deprovision_timeout=args.deprovision_timeout,
            boot_device_control=args.boot_device_control,
            idle_poll_interval=args.idle_poll_interval,
            default_image=default_image,
            require_image=args.require_image,
        ),
        role_status_interval=args.role_status_interval,
        governor=GovernorConfig(
            max_in_flight=args.bmc_max_in_flight,
            calls_per_minute=args.bmc_calls_per_minute,
            burst=args.bmc_burst,
            call_timeout=args.bmc_timeout,
            backoff_base=args.bmc_backoff_base,
            backoff_cap=args.bmc_backoff_cap,
        ),
    )
    kopf.configure(
        verbose=config.verbose,
        log_format=kopf.LogFormat.JSON if config.log_format == "json" else kopf.LogFormat.FULL,
        log_prefix=config.log_format != "json",  # text lines name their object; JSON has fields for it
        log_refkey="object",
    )
    log = logging.getLogger("oci_operator")
    k8s.load(config.kubeconfig)
    render.configure_user_templates(
        render.Limits(
            seconds=args.render_timeout, memory_bytes=args.render_memory_mib << 20, workers=args.render_workers
        )
    )
    registry = kopf.OperatorRegistry()
    handlers.register(registry, config)
    handlers.settings.quiet_embedding()
    metrics.serve(config.metrics_address, config.metrics_port)
    log.info(
        "oci-operator %s: metrics on :%d, liveness on :%d/healthz, %s",
        __version__,
        config.metrics_port,
        config.health_port,
        "namespaces " + ",".join(config.namespaces) if config.namespaces else "cluster-wide",
    )
    elector = _lead(args, config) if args.leader_elect else None
    metrics.LEADER.set(1)

    def run_kopf(control: supervise.Run) -> None:
        governor = Governor(config.governor)  # its locks belong to this run's event loop

        async def operate() -> None:
            stop = asyncio.Event()  # awaited in the loop: no executor thread left waiting on it
            loop = asyncio.get_running_loop()
            control.on_stop(lambda: loop.call_soon_threadsafe(stop.set))
            await kopf.operator(
                registry=registry,
                # Shared by every handler (kopf copies the memo shallowly per object).
                memo=kopf.Memo(bmc_pool=BMCPool(governor), host_wakers={}, host_roles={}),
                standalone=True,  # one replica (Deployment strategy Recreate); no peering CRDs needed
                clusterwide=not config.namespaces,
                namespaces=list(config.namespaces),
                liveness_endpoint=f"http://{config.metrics_address}:{config.health_port}/healthz",
                stop_flag=stop,
            )

        try:
            asyncio.run(operate())
        except asyncio.CancelledError:
            pass  # stopped while starting up
        finally:
            governor.shutdown()

    plurals = [kind.info.plural for kind in KINDS]

    def until_served(stop: threading.Event) -> bool:
        if not discovery.missing(GROUP, VERSION, plurals):
            return True
        with standby_health(config.metrics_address, config.health_port):  # waiting for the API is healthy
            return discovery.wait_until_served(GROUP, VERSION, plurals, stop)

    supervise.serve(run_kopf, until_served)
    events.flush()
    if elector is not None:
        elector.release()
    # Stopped on request: BMC calls still waiting on a BMC that does not answer hold their threads for
    # pyghmi's retries, and the interpreter would wait for them past the pod's grace period. Their
    # intents are on record (the same as any crash), so nothing is left to wait for.
    logging.shutdown()
    sys.stdout.flush()
    os._exit(0)


def _default_image(args: argparse.Namespace) -> Image | None:
    """The site's default image from --default-image-url/-checksum, checked as a host's spec.image is."""
    from pydantic import ValidationError

    from .api.v1alpha1.baremetalhost import Image

    if not args.default_image_url and not args.default_image_checksum:
        return None
    try:
        return Image(url=args.default_image_url, checksum=args.default_image_checksum)
    except ValidationError as exc:
        problems = "; ".join(f"--default-image-{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"the default image is invalid: {problems}") from None


def _lead(args: argparse.Namespace, config: OperatorConfig) -> LeaderElector:
    """Stand by until this replica holds the Lease (liveness answers meanwhile), then keep it; a
    leader that cannot renew in time exits at once, before any standby may take over."""
    from .k8s.lease import LeaderElector, LeaseSettings, standby_health

    duration = args.lease_duration
    settings = LeaseSettings(
        name=args.lease_name,
        namespace=args.lease_namespace or config.system_namespace,
        duration=duration,
        renew_deadline=duration * 2 / 3,
        retry_period=duration / 7.5,
    )
    elector = LeaderElector(settings)
    with standby_health(config.metrics_address, config.health_port):
        elector.acquire()
    elector.hold(on_lost=lambda: os._exit(1))  # no cleanup that could still act: the process stops here
    return elector


def _cluster_plan(args: argparse.Namespace) -> int:
    import json

    import yaml

    from .cloud.manifests import ManifestError, offline_plan, report
    from .cloud.plan import PlanError
    from .cloud.topology import TopologyError

    documents = []
    try:
        for path in args.file:
            with open(path, encoding="utf-8") if path != "-" else sys.stdin as stream:
                documents += [doc for doc in yaml.safe_load_all(stream) if isinstance(doc, dict)]
        cluster, the_plan = offline_plan(documents, initial_cluster_setup=not args.running)
    except (OSError, yaml.YAMLError) as exc:
        print(f"oci-operator cluster plan: {exc}", file=sys.stderr)
        return 2
    except (ManifestError, PlanError, TopologyError) as exc:
        print(f"oci-operator cluster plan: invalid cluster: {exc}", file=sys.stderr)
        return 1
    out = report(cluster, the_plan)
    if args.output == "json":
        print(json.dumps(out, indent=2))
    else:
        print(yaml.safe_dump(out, sort_keys=False), end="")
    return 0


def parser(simulator: bool = True) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="oci-operator", description=__doc__)
    top.add_argument("--version", action="version", version=__version__)
    sub = top.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the operator (kopf handlers for all kinds)")
    run.add_argument("--kubeconfig", help="kubeconfig file (default: in-cluster, then KUBECONFIG)")
    run.add_argument(
        "--namespace",
        action="append",
        default=[],
        help="watch only this namespace (repeatable; default: cluster-wide)",
    )
    run.add_argument(
        "--system-namespace",
        default=DEFAULT_SYSTEM_NAMESPACE,
        help="the operator's own namespace for host tokens, agent credentials and desired states",
    )
    run.add_argument("--metrics-address", default="0.0.0.0", help="address for metrics and liveness")  # noqa: S104
    run.add_argument("--metrics-port", type=int, default=8080, help="Prometheus /metrics port")
    run.add_argument("--health-port", type=int, default=8081, help="liveness /healthz port")
    run.add_argument("--log-format", choices=("text", "json"), default="text")
    run.add_argument("--verbose", action="store_true", help="debug logging")
    ha = run.add_argument_group("replicas (active/passive)")
    ha.add_argument(
        "--leader-elect",
        action="store_true",
        help="act only while holding a coordination.k8s.io Lease (run two or more replicas; one acts)",
    )
    ha.add_argument("--lease-name", default="oci-operator", help="the Lease's name")
    ha.add_argument("--lease-namespace", default="", help="the Lease's namespace (default: --system-namespace)")
    ha.add_argument(
        "--lease-duration",
        type=float,
        default=15.0,
        help="seconds a standby waits after the leader's last renewal (it renews every duration/7.5 s and"
        " stops when it could not for 2/3 of it; default 15)",
    )
    power = run.add_argument_group("power management")
    power.add_argument(
        "--power-poll-interval",
        type=float,
        default=60.0,
        help="seconds between reads of a host's real power state (jittered ±10%%; default 60)",
    )
    power.add_argument(
        "--idle-poll-interval",
        type=float,
        default=0.0,
        help="seconds between power reads of a settled host, nothing pending (default: 5 times --power-poll-interval)",
    )
    power.add_argument(
        "--power-settle-timeout",
        type=float,
        default=60.0,
        help="a power command not reflected after this many seconds is sent again (default 60)",
    )
    power.add_argument(
        "--soft-reboot-timeout",
        type=float,
        default=180.0,
        help="seconds an OS gets to obey a soft reboot before a hard power off (default 180)",
    )
    run.add_argument(
        "--role-status-interval", type=float, default=30.0, help="seconds between NodeRole host counts (default 30)"
    )
    limits = run.add_argument_group("NodeRole templates (rendered in worker processes)")
    limits.add_argument("--render-timeout", type=float, default=5.0, help="seconds one host's templates may take")
    limits.add_argument("--render-memory-mib", type=int, default=128, help="address space of a render worker")
    limits.add_argument("--render-workers", type=int, default=2, help="render worker processes")
    jobs = run.add_argument_group("network boot jobs (inspect, install, wipe)")
    jobs.add_argument(
        "--boot-poll-interval",
        type=float,
        default=30.0,
        help="longest wait between looks at a boot job; a node's report wakes it at once (default 30)",
    )
    jobs.add_argument(
        "--boot-device-control",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="set the boot device through the BMC for hosts without spec.bootDeviceControl (default: yes);"
        " --no-boot-device-control: servers boot from the network first and the boot server decides",
    )
    jobs.add_argument(
        "--boot-script-timeout",
        type=float,
        default=600.0,
        help="seconds before a boot job whose node fetched no boot script fails (and is retried)",
    )
    jobs.add_argument("--inspect-timeout", type=float, default=1800.0, help="seconds before inspection fails")
    jobs.add_argument("--provision-timeout", type=float, default=5400.0, help="seconds before an install fails")
    jobs.add_argument("--deprovision-timeout", type=float, default=1800.0, help="seconds before a wipe fails")
    images = run.add_argument_group("image installs (a host's spec.image, else its NodeRole's, else this default)")
    images.add_argument("--default-image-url", default="", help="http(s) URL of the site's default disk image")
    images.add_argument("--default-image-checksum", default="", help="its sha256 (64 hex digits)")
    images.add_argument(
        "--require-image",
        action="store_true",
        help="an install with no image from the host, its NodeRole or this default fails (ImageMissing)"
        " instead of running the Debian installer",
    )
    bmc = run.add_argument_group("BMC call governance")
    bmc.add_argument("--bmc-max-in-flight", type=int, default=16, help="BMC calls running at once, all BMCs")
    bmc.add_argument("--bmc-calls-per-minute", type=float, default=30.0, help="rate budget per BMC")
    bmc.add_argument("--bmc-burst", type=int, default=10, help="calls a BMC may get at once within its budget")
    bmc.add_argument("--bmc-timeout", type=float, default=20.0, help="seconds before a BMC call is given up")
    bmc.add_argument(
        "--bmc-backoff-base",
        type=float,
        default=2.0,
        help="first backoff after a failure, doubled per failure (seconds)",
    )
    bmc.add_argument("--bmc-backoff-cap", type=float, default=600.0, help="longest backoff (seconds)")
    run.set_defaults(func=_run)

    boot = sub.add_parser("bootserver", help="run the boot server sidecar (dnsmasq DHCP/TFTP + HTTP)")
    from .bootserver import main as boot_main

    boot_main.add_arguments(boot)
    boot.set_defaults(func=boot_main.run)

    cluster = sub.add_parser("cluster", help="OpenStackCluster tools")
    cluster_sub = cluster.add_subparsers(dest="cluster_command", required=True)
    plan = cluster_sub.add_parser(
        "plan",
        help="print per host the puppet-module-oci classes and parameters (offline; secrets as references)",
    )
    plan.add_argument(
        "-f", "--file", action="append", required=True, help="cluster and host manifests (repeatable; - for stdin)"
    )
    plan.add_argument("--output", "-o", choices=("yaml", "json"), default="yaml")
    plan.add_argument(
        "--running", action="store_true", help="plan for a cloud already set up (initial_cluster_setup false)"
    )
    plan.set_defaults(func=_cluster_plan)

    sim = sub.add_parser("bmc-sim", help="run virtual BMCs speaking IPMI on loopback UDP (tests, demos)")
    if simulator:  # its options come with the simulator's modules (pyghmi, cryptography: 14 MiB of RSS)
        from .bmc.sim import main as sim_main

        sim_main.add_arguments(sim)
        sim.set_defaults(func=sim_main.run)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser(simulator="bmc-sim" in argv).parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
