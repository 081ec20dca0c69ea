"""`oci-operator` command line: one subcommand per process the project runs."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .config import OperatorConfig


def _run(args: argparse.Namespace) -> int:
    import kopf

    from . import handlers, metrics
    from .k8s import client as k8s

    config = OperatorConfig(
        kubeconfig=args.kubeconfig,
        namespaces=tuple(args.namespace),
        metrics_address=args.metrics_address,
        metrics_port=args.metrics_port,
        health_port=args.health_port,
        log_format=args.log_format,
        verbose=args.verbose,
        resync_interval=args.resync_interval,
    )
    kopf.configure(
        verbose=config.verbose,
        log_format=kopf.LogFormat.JSON if config.log_format == "json" else kopf.LogFormat.FULL,
        log_prefix=config.log_format != "json",  # text lines name their object; JSON has fields for it
        log_refkey="object",
    )
    log = logging.getLogger("oci_operator")
    k8s.load(config.kubeconfig)
    registry = kopf.OperatorRegistry()
    handlers.register(registry, config)
    metrics.serve(config.metrics_address, config.metrics_port)
    log.info(
        "oci-operator %s: metrics on :%d, liveness on :%d/healthz, %s",
        __version__,
        config.metrics_port,
        config.health_port,
        "namespaces " + ",".join(config.namespaces) if config.namespaces else "cluster-wide",
    )
    kopf.run(
        registry=registry,
        standalone=True,  # one replica (Deployment strategy Recreate); no peering CRDs needed
        clusterwide=not config.namespaces,
        namespaces=list(config.namespaces),
        liveness_endpoint=f"http://{config.metrics_address}:{config.health_port}/healthz",
    )
    return 0


def parser() -> argparse.ArgumentParser:
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
    run.add_argument("--metrics-address", default="0.0.0.0", help="address for metrics and liveness")  # noqa: S104
    run.add_argument("--metrics-port", type=int, default=8080, help="Prometheus /metrics port")
    run.add_argument("--health-port", type=int, default=8081, help="liveness /healthz port")
    run.add_argument("--log-format", choices=("text", "json"), default="text")
    run.add_argument("--verbose", action="store_true", help="debug logging")
    run.add_argument(
        "--resync-interval",
        type=float,
        default=60.0,
        help="seconds between looks at an unchanged object (default 60)",
    )
    run.set_defaults(func=_run)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
