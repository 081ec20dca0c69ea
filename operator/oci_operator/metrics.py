"""Prometheus metrics of the operator; names are part of the alerting contract."""

from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

RECONCILES = Counter("oci_reconcile_total", "Reconciles performed, by kind and result (ok, error).", ["kind", "result"])
RECONCILE_ERRORS = Counter(
    "oci_reconcile_errors_total",
    "Reconciles that ended in an error condition or exception, by reason.",
    ["kind", "reason"],
)
RECONCILE_DURATION = Histogram(
    "oci_reconcile_duration_seconds",
    "Time spent in one reconcile, API round trips included.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

BOOT_REQUESTS = Counter(
    "oci_bootserver_requests_total", "Boot server HTTP requests, by route and status code.", ["route", "code"]
)
BOOT_CALLBACKS = Counter(
    "oci_bootserver_callbacks_total", "Node reports accepted by the boot server, by event.", ["event"]
)


def serve(address: str, port: int) -> None:
    """Expose /metrics on a background thread (prometheus-client's own server)."""
    start_http_server(port, addr=address)
