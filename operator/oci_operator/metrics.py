"""Prometheus metrics of the operator; names are part of the alerting contract."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics, start_http_server

# No *_created series: they double every counter's series and no alert reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

# 1 in the operator process once it serves metrics (0 in the boot server, which shares these definitions):
# OCIOperatorDown reads it, whatever the scrape job is named.
OPERATOR_UP = Gauge("oci_operator_up", "1 while the operator (not the boot server) serves its metrics.")
LEADER = Gauge("oci_operator_leader", "1 while this replica holds the leader Lease (or runs without election).")
OPERATOR_RESTARTS = Counter(
    "oci_operator_restarts_total",
    "Times kopf stopped by itself (a watch met an API error it does not retry) and was started again in-process.",
)
RECONCILES = Counter("oci_reconcile_total", "Reconciles performed, by kind and result (ok, error).", ["kind", "result"])
RECONCILE_ERRORS = Counter(
    "oci_reconcile_errors_total",
    "Reconciles that ended in an error condition or exception, by reason.",
    ["kind", "reason"],
)
HANDLER_FAILURES = Counter(
    "oci_handler_failures_total",
    "Errors kopf logged while handling objects (a handler's exception, a patch the API server refused), by kind.",
    ["kind"],
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

# Per host, for alerts on hosts stuck in a boot job, broken BMCs and failing convergence (one series per
# host and current value; the previous value's series is removed when it changes).
HOST_STATE = Gauge("oci_host_state", "1 for the host's current provisioning state.", ["namespace", "name", "state"])
HOST_PROBLEM = Gauge(
    "oci_host_problem",
    "1 while the host's Ready condition is False for this problem reason.",
    ["namespace", "name", "reason"],
)
HOST_CONVERGED = Gauge(
    "oci_host_converged",
    "The host's Converged condition: 1 true, 0 false (with its reason).",
    ["namespace", "name", "reason"],
)
_last: dict[tuple[str, str], tuple[str, str | None, tuple[float, str] | None]] = {}


def record_host(
    namespace: str, name: str, state: str, problem: str | None, converged: tuple[float, str] | None
) -> None:
    """Publish a host's state, problem and convergence; drop the series of its previous values."""
    key = (namespace, name)
    before = _last.get(key)
    if before == (state, problem, converged):
        return
    forget_host(namespace, name)
    HOST_STATE.labels(namespace, name, state).set(1)
    if problem:
        HOST_PROBLEM.labels(namespace, name, problem).set(1)
    if converged:
        HOST_CONVERGED.labels(namespace, name, converged[1]).set(converged[0])
    _last[key] = (state, problem, converged)


def forget_host(namespace: str, name: str) -> None:
    before = _last.pop((namespace, name), None)
    if before is None:
        return
    state, problem, converged = before
    HOST_STATE.remove(namespace, name, state)
    if problem:
        HOST_PROBLEM.remove(namespace, name, problem)
    if converged:
        HOST_CONVERGED.remove(namespace, name, converged[1])


def serve(address: str, port: int) -> None:
    """Expose /metrics on a background thread (prometheus-client's own server)."""
    start_http_server(port, addr=address)
    OPERATOR_UP.set(1)
