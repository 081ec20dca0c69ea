"""A fleet of N hosts on one box (issue 12): bring-up, the write floor, idle cost and flip latency.

Everything is real and on loopback: a kube-apiserver + etcd (hack/local-apiserver), the operator as its
own process (watching one namespace, default flags, no --verbose), and `oci-operator bmc-sim` BMCs.

- Bring-up: N Secrets + N hosts (inspection disabled, online) created by a concurrent client; the time
  from the first create to every host Ready=True/Available (seen through a watch).
- The operator's API requests: the API server's own `apiserver_request_total` before/after, minus the
  requests this client made itself (counted here); kube-controller-manager's few requests are noise.
- The floor: afterwards, in a namespace no operator watches, the same client (same concurrency) makes
  the same writes: the N Secret and host creates, then as many writes of each kind (verb, resource,
  subresource) as the operator made. The ratio is bring-up time / floor time.
- Idle: after a settle time, the operator's writes per minute, CPU % of one core and RSS (its main
  process) over a window.
- Flip latency: `spec.online` set to false on `--flips` distinct idle hosts one after the other; the
  latency is the simulator's log time of the power_off minus the time of the patch.
- The operator's /metrics: scrape size and time at this N.

The machine is shared: print the load average with the figures, and compare ratios, not seconds."""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from kubernetes import client, config, watch  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from urllib3.exceptions import ProtocolError  # noqa: E402

from oci_operator.config import DEFAULT_SYSTEM_NAMESPACE  # noqa: E402
from support.bmcsim import SimControl, bmc_sim  # noqa: E402
from support.bootserver import boot_server  # noqa: E402
from support.cluster import api_server  # noqa: E402
from support.hosts import host_manifest, secret_manifest  # noqa: E402
from support.kube import Kube  # noqa: E402
from support.operator_process import free_ports, http_get, start, stop  # noqa: E402
from support.waiting import wait_for  # noqa: E402

GROUP, VERSION, PLURAL = "oci.openstack.org", "v1alpha1", "baremetalhosts"
WRITES = ("POST", "PUT", "PATCH", "DELETE", "APPLY")
Kind = tuple[str, str, str]  # verb, resource, subresource


class Clients:
    """One ApiClient per worker thread (the same client for bring-up and floor), counting requests."""

    def __init__(self, kubeconfig: str, concurrency: int) -> None:
        self.kubeconfig, self.concurrency = kubeconfig, concurrency
        self._local = threading.local()
        self._lock = threading.Lock()
        self.made: Counter[Kind] = Counter()

    def api(self) -> client.ApiClient:
        api = getattr(self._local, "api", None)
        if api is None:
            api = self._local.api = config.new_client_from_config(config_file=self.kubeconfig)
        return api

    def count(self, kind: Kind, n: int = 1) -> None:
        with self._lock:
            self.made[kind] += n

    def run(self, tasks: list[Callable[[], None]]) -> float:
        """All tasks, `concurrency` at a time; seconds taken."""
        started = time.monotonic()
        with ThreadPoolExecutor(self.concurrency) as pool:
            for future in [pool.submit(task) for task in tasks]:
                future.result()
        return time.monotonic() - started


def request_totals(kube: Kube) -> Counter[Kind]:
    """apiserver_request_total by (verb, resource, subresource), all codes."""
    response = kube.api.call_api("GET", kube.api.configuration.host + "/metrics")
    response.read()
    totals: Counter[Kind] = Counter()
    for family in text_string_to_metric_families(response.data.decode()):
        if family.name != "apiserver_request":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                labels = sample.labels
                kind = (labels.get("verb", ""), labels.get("resource", ""), labels.get("subresource", ""))
                totals[kind] += int(sample.value)
    return totals


Host = tuple[str, str, str, str, str]  # name, BMC address, username, password, boot MAC ("": any)


def create_tasks(clients: Clients, namespace: str, fleet: list[Host]) -> list[Callable[[], None]]:
    """One task per host: its Secret, then the host (as `kubectl apply` of the two would). A host with
    its server's boot MAC is inspected through the boot server; the others have inspection disabled."""

    def task(name: str, address: str, username: str, password: str, mac: str) -> Callable[[], None]:
        secret = secret_manifest(f"{name}-bmc", username, password)
        manifest = host_manifest(name, address, f"{name}-bmc", online=True)  # here: its MAC counter is not thread-safe
        if mac:
            manifest["metadata"]["annotations"] = {}
            manifest["spec"]["bootMACAddress"] = mac

        def run() -> None:
            api = clients.api()
            client.CoreV1Api(api).create_namespaced_secret(namespace, secret)
            client.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
            clients.count(("POST", "secrets", ""))
            clients.count(("POST", PLURAL, ""))

        return run

    return [task(*host) for host in fleet]


class ReadyWatch:
    """Hosts Ready=True/Available, from one list + watch (reconnected from its last resourceVersion)."""

    def __init__(self, clients: Clients, namespace: str, expected: int) -> None:
        self.clients, self.namespace, self.expected = clients, namespace, expected
        self.ready: set[str] = set()
        self.done = threading.Event()
        self.at: float | None = None
        self.sample_status: dict[str, Any] = {}
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _see(self, obj: dict[str, Any]) -> None:
        conditions = (obj.get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        name = obj["metadata"]["name"]
        if ready and (ready.get("status"), ready.get("reason")) == ("True", "Available"):
            self.ready.add(name)
            self.sample_status = obj["status"]
        else:
            self.ready.discard(name)
        if len(self.ready) >= self.expected and not self.done.is_set():
            self.at = time.monotonic()
            self.done.set()

    def _run(self) -> None:
        custom = client.CustomObjectsApi(config.new_client_from_config(config_file=self.clients.kubeconfig))
        listing = custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL)
        self.clients.count(("LIST", PLURAL, ""))
        for item in listing.get("items") or []:
            self._see(item)
        version = listing["metadata"]["resourceVersion"]
        while not self._stop.is_set() and not self.done.is_set():
            self.clients.count(("WATCH", PLURAL, ""))
            stream = watch.Watch().stream(
                custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                resource_version=version,
                timeout_seconds=120,
            )
            try:
                for event in stream:
                    obj = event["object"]
                    version = obj["metadata"]["resourceVersion"]
                    if event["type"] != "DELETED":
                        self._see(obj)
                    if self._stop.is_set() or self.done.is_set():
                        return
            except ProtocolError:
                continue  # the API server cut a long watch under load: resume from the last version seen


class Process:
    """CPU seconds and RSS of one process, from /proc (0 once it has gone)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


# Who spends the machine's two cores: every process of this run, by what its command line says it is.
ROLES = (
    ("bootserver", "bootserver"),
    ("kube-apiserver", "apiserver"),
    ("etcd", "etcd"),
    ("bmc-sim", "simulator"),
    ("kube-controller", "kcm"),
)


def run_processes(workdir: Path, operator_pid: int) -> dict[str, list[Process]]:
    found: dict[str, list[Process]] = {"operator": [Process(operator_pid)], "bench": [Process(os.getpid())]}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(workdir) not in cmdline or int(entry.name) == operator_pid:
            continue
        role = next((r for word, r in ROLES if word in cmdline), None)
        if role:
            found.setdefault(role, []).append(Process(int(entry.name)))
    return found


class CpuWindow:
    """CPU seconds each role spent between start() and stop(), and per host."""

    def __init__(self, processes: dict[str, list[Process]]) -> None:
        self.processes = processes
        self.before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {role: sum(p.cpu_seconds() for p in procs) for role, procs in self.processes.items()}

    def start(self) -> None:
        self.before = self._now()

    def stop(self, hosts: int) -> dict[str, Any]:
        spent = {role: after - self.before.get(role, 0.0) for role, after in self._now().items()}
        return {
            "cpu_s": {role: round(v, 1) for role, v in sorted(spent.items(), key=lambda kv: -kv[1])},
            "total_cpu_s": round(sum(spent.values()), 1),
            "operator_cpu_ms_per_host": round(1000 * spent.get("operator", 0.0) / hosts, 2),
        }


class Fleets:
    """Several `bmc-sim` processes seen as one fleet (one process cannot answer 10,000 BMCs in time)."""

    def __init__(self, controls: list[SimControl]) -> None:
        self.bmcs = [b for c in controls for b in c.bmcs]
        self._control = {b.name: c for c in controls for b in c.bmcs}

    def entries_with_time(self, bmc: Any) -> list[dict[str, Any]]:
        return self._control[bmc.name].entries_with_time(bmc)


@contextmanager
def simulators(workdir: Path, n: int, processes: int, boot_server_url: str | None) -> Iterator[Fleets]:
    """`boot_server_url`: the simulated servers PXE-boot from it (each process its own MAC range)."""
    with ExitStack() as stack:
        controls = []
        for i in range(processes):
            count = n // processes + (1 if i < n % processes else 0)
            extra = ["--prefix", f"f{i}"]
            if boot_server_url:
                extra += ["--boot-server", boot_server_url, "--first-mac", f"52:54:{i:02x}:00:00:00"]
            controls.append(stack.enter_context(bmc_sim(workdir / f"sim{i}", count, *extra)))
        yield Fleets(controls)


def delta(after: Counter[Kind], before: Counter[Kind], own: Counter[Kind]) -> Counter[Kind]:
    result: Counter[Kind] = Counter()
    for kind in after:
        n = after[kind] - before.get(kind, 0) - own.get(kind, 0)
        if n > 0 and kind[0] not in ("CONNECT",):
            result[kind] = n
    return result


def shown(counts: Counter[Kind], n: int) -> dict[str, float]:
    """Per host, `VERB resource[/subresource]`, biggest first; non-resource requests left out."""
    return {
        f"{verb} {resource}{'/' + sub if sub else ''}": round(count / n, 2)
        for (verb, resource, sub), count in counts.most_common()
        if resource
    }


@contextmanager
def operator(
    kubeconfig: str, workdir: Path, namespace: str, extra: list[str], traced: bool
) -> Iterator[tuple[Any, str]]:
    """`traced`: under tracemalloc (hack/bench/traced_operator.py); SIGUSR1 makes it write tracemalloc.txt."""
    metrics_port, health_port = free_ports(2)
    args = (
        *("run", "--kubeconfig", kubeconfig, "--namespace", namespace, "--metrics-address", "127.0.0.1"),
        *("--metrics-port", str(metrics_port), "--health-port", str(health_port)),
        *extra,
    )
    if traced:
        os.environ["OCI_TRACEMALLOC_OUT"] = str(workdir / "tracemalloc.txt")
        with (workdir / "operator.log").open("wb") as log:
            wrapper = [sys.executable, str(Path(__file__).with_name("traced_operator.py")), *args]
            process = subprocess.Popen(wrapper, stdout=log, stderr=subprocess.STDOUT)
    else:
        process = start(workdir / "operator.log", *args)
    health = f"http://127.0.0.1:{health_port}/healthz"
    try:
        wait_for(lambda: process.poll() is None and http_get(health) is not None, 120, "the operator's liveness")
        yield process, f"http://127.0.0.1:{metrics_port}/metrics"
    finally:
        stop(process)


def traced_memory(process: Any, out: Path) -> list[str]:
    """The traced operator's biggest allocation sites, now (after the idle window)."""
    os.kill(process.pid, signal.SIGUSR1)
    wait_for(out.exists, 300, "the operator's tracemalloc dump")
    return out.read_text().splitlines()


def floor_tasks(
    clients: Clients, namespace: str, writes: Counter[Kind], hosts: list[str], sample_status: dict[str, Any]
) -> tuple[list[Callable[[], None]], Counter[Kind]]:
    """The operator's writes, same kinds and numbers, spread over the floor's hosts; what is not replayed."""
    tasks: list[Callable[[], None]] = []
    skipped: Counter[Kind] = Counter()
    seq = iter(range(10**9))

    def patch_status(host: str) -> None:
        status = {**sample_status, "lastUpdated": f"2026-01-01T00:00:{next(seq) % 60:02d}Z"}
        client.CustomObjectsApi(clients.api()).patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, host, {"status": status}
        )

    def patch_meta(host: str) -> None:
        annotations = {"bench.oci.openstack.org/seq": str(next(seq))}
        client.CustomObjectsApi(clients.api()).patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, host, {"metadata": {"annotations": annotations}}
        )

    def post_event(host: str) -> None:
        body = {
            "metadata": {"generateName": f"{host}."},
            "involvedObject": {"apiVersion": f"{GROUP}/{VERSION}", "kind": "BareMetalHost", "name": host,
                               "namespace": namespace},
            "reason": "Bench", "message": "a floor write", "type": "Normal",
            "source": {"component": "fleet-bench"},
        }  # fmt: skip
        client.CoreV1Api(clients.api()).create_namespaced_event(namespace, body)

    def post_secret(host: str) -> None:
        body = {"metadata": {"name": f"{host}-{uuid.uuid4().hex[:8]}"}, "stringData": {"token": uuid.uuid4().hex}}
        client.CoreV1Api(clients.api()).create_namespaced_secret(namespace, body)

    def put_secret(host: str) -> None:
        body = {"metadata": {"name": f"{host}-bmc"}, "type": "oci.openstack.org/bmc-credentials",
                "stringData": {"username": "admin", "password": uuid.uuid4().hex}}  # fmt: skip
        client.CoreV1Api(clients.api()).replace_namespaced_secret(f"{host}-bmc", namespace, body)

    replays: dict[Kind, Callable[[str], None]] = {
        ("PATCH", PLURAL, "status"): patch_status,
        ("PATCH", PLURAL, ""): patch_meta,
        ("POST", "events", ""): post_event,
        ("PATCH", "events", ""): post_event,  # kopf may patch a repeated Event: a write of the same size
        ("POST", "secrets", ""): post_secret,
        ("PUT", "secrets", ""): put_secret,
    }
    for kind, count in writes.items():
        replay = replays.get(kind)
        if replay is None:
            skipped[kind] = count
            continue
        for i in range(count):
            host = hosts[i % len(hosts)]
            tasks.append(_counted(clients, kind, replay, host))
    return tasks, skipped


def _counted(clients: Clients, kind: Kind, replay: Callable[[str], None], host: str) -> Callable[[], None]:
    def run() -> None:
        replay(host)
        clients.count(kind)

    return run


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def flips(kube: Kube, fleet: Fleets, namespace: str, count: int, timeout: float) -> list[float]:
    """spec.online -> false on `count` distinct hosts, one after the other: patch to power_off on the wire."""
    latencies: list[float] = []
    for bmc in fleet.bmcs[-count:]:
        before = sum(1 for e in fleet.entries_with_time(bmc) if e["command"] == "power_off")
        sent = time.time()
        kube.custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, bmc.name, {"spec": {"online": False}}
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            offs = [e for e in fleet.entries_with_time(bmc) if e["command"] == "power_off"]
            if len(offs) > before:
                latencies.append(offs[before]["time"] - sent)
                break
            time.sleep(0.02)
        else:
            latencies.append(float("inf"))
    return latencies


class Figures(dict[str, Any]):
    """Printed (and saved) as they come: a late failure keeps the figures measured before it."""

    def __init__(self, output: Path | None, **first: Any) -> None:
        super().__init__()
        self.output = output
        for key, value in first.items():
            self[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        print(f"  {key}: {json.dumps(value)}", flush=True)
        if self.output:
            self.output.write_text(json.dumps(self, indent=1) + "\n")


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    n = args.hosts
    figures = Figures(
        args.output, **{"hosts": n, "load_at_start": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    )
    with api_server(workdir / "apiserver") as kubeconfig:
        kube = Kube.connect(kubeconfig)
        kube.apply_crds()
        kube.ensure_namespace(DEFAULT_SYSTEM_NAMESPACE)
        namespace, floor_ns = kube.new_namespace("fleet-"), kube.new_namespace("floor-")
        clients = Clients(kubeconfig, args.concurrency)
        boot = ExitStack()
        server_url = None
        if args.inspect:
            server_url = boot.enter_context(boot_server(kubeconfig, workdir / "bootserver", "--no-dhcp")).url
        with boot, simulators(workdir, n, args.sim_processes or -(-n // 1000), server_url) as fleet:
            hosts = [(b.name, b.address, b.username, b.password, b.mac if args.inspect else "") for b in fleet.bmcs]
            op_dir = workdir / "op"
            op_dir.mkdir()
            with operator(kubeconfig, op_dir, namespace, args.operator_flag, args.memory) as (process, metrics_url):
                proc = Process(process.pid)
                time.sleep(args.settle)  # the operator's start-up (watches, the certificate) is not bring-up
                cpu = CpuWindow(run_processes(workdir, process.pid))
                cpu.start()
                before = request_totals(kube)
                clients.made.clear()
                started = time.monotonic()
                watcher = ReadyWatch(clients, namespace, n)
                figures["create_s"] = round(clients.run(create_tasks(clients, namespace, hosts)), 1)
                if not watcher.done.wait(args.timeout):
                    figures["ready_at_timeout"] = f"{len(watcher.ready)}/{n}"
                    watcher.stop()
                    return figures
                assert watcher.at is not None
                figures["bring_up_s"] = round(watcher.at - started, 1)
                figures["bring_up_cpu"] = cpu.stop(n)
                own = Counter(clients.made)
                after = request_totals(kube)
                operator_requests = delta(after, before, own)
                figures["operator_requests_per_host"] = shown(operator_requests, n)
                writes = Counter({k: v for k, v in operator_requests.items() if k[0] in WRITES and k[1]})
                figures["operator_writes_per_host"] = round(sum(writes.values()) / n, 2)
                figures["rss_after_bring_up_mib"] = round(proc.rss_mib(), 1)

                time.sleep(args.settle)  # trailing passes of the bring-up
                idle_before, cpu_before, t0 = request_totals(kube), proc.cpu_seconds(), time.monotonic()
                time.sleep(args.idle_seconds)
                idle_after, cpu_after, t1 = request_totals(kube), proc.cpu_seconds(), time.monotonic()
                idle = delta(idle_after, idle_before, Counter())
                minutes = (t1 - t0) / 60
                figures["idle_writes_per_min"] = round(sum(v for k, v in idle.items() if k[0] in WRITES) / minutes, 1)
                figures["idle_reads_per_min"] = round(
                    sum(v for k, v in idle.items() if k[0] in ("GET", "LIST") and k[1]) / minutes, 1
                )
                figures["idle_requests_per_min"] = {k: round(v / minutes, 1) for k, v in shown(idle, 1).items()}
                figures["idle_cpu_percent"] = round(100 * (cpu_after - cpu_before) / (t1 - t0), 1)
                figures["idle_rss_mib"] = round(proc.rss_mib(), 1)
                figures["idle_window_s"] = round(t1 - t0)
                if args.memory:
                    figures["tracemalloc"] = traced_memory(process, op_dir / "tracemalloc.txt")

                scrape_started = time.monotonic()
                body = http_get(metrics_url) or ""
                figures["metrics_scrape"] = {
                    "bytes": len(body.encode()),
                    "seconds": round(time.monotonic() - scrape_started, 3),
                    "series": sum(1 for line in body.splitlines() if line and not line.startswith("#")),
                }
                if args.flips:
                    latencies = flips(kube, fleet, namespace, min(args.flips, n), args.flip_timeout)
                    figures["flip_latency_s"] = {
                        "count": len(latencies),
                        "p50": round(statistics.median(latencies), 3),
                        "p99": round(p99(latencies), 3),
                        "max": round(max(latencies), 3),
                    }
                sample_status = watcher.sample_status

        # The floor: the same client, the same writes, the same API server, nobody watching.
        floor_hosts = [(f"f-floor-{i:05d}", "ipmi://127.0.0.1:9", "admin", "password", "") for i in range(n)]
        floor_cpu = CpuWindow(
            {k: v for k, v in run_processes(workdir, -1).items() if k in ("apiserver", "etcd", "bench")}
        )
        floor_cpu.start()
        create = clients.run(create_tasks(clients, floor_ns, floor_hosts))
        tasks, skipped = floor_tasks(clients, floor_ns, writes, [h[0] for h in floor_hosts], sample_status)
        rest = clients.run(tasks)
        figures["floor_cpu"] = {k: v for k, v in floor_cpu.stop(n).items() if k != "operator_cpu_ms_per_host"}
        figures["floor_s"] = round(create + rest, 1)
        figures["floor_creates_s"] = round(create, 1)
        figures["floor_not_replayed"] = {" ".join(k): v for k, v in skipped.items()}
        figures["ratio_bring_up_to_floor"] = round(figures["bring_up_s"] / (create + rest), 2)
    figures["load_at_end"] = round(os.getloadavg()[0], 2)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16, help="client threads (bring-up and floor)")
    parser.add_argument("--idle-seconds", type=float, default=120.0, help="idle window (default 120)")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds before each measured window")
    parser.add_argument("--flips", type=int, default=50, help="spec.online flips (0: none)")
    parser.add_argument("--flip-timeout", type=float, default=120.0)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for all Ready")
    parser.add_argument("--operator-flag", action="append", default=[], help="extra operator argument (repeatable)")
    parser.add_argument("--output", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--memory", action="store_true", help="run the operator under tracemalloc; print what holds it")
    parser.add_argument("--inspect", action="store_true", help="inspect every host through a boot server first")
    parser.add_argument("--sim-processes", type=int, default=0, help="bmc-sim processes (default: one per 1,000)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (operator log)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="oci-fleet-"))
    print(f"hack/bench/fleet --hosts {args.hosts}: work directory {workdir}", flush=True)
    try:
        figures = run(args, workdir)
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(figures, indent=1))
    return 0 if "bring_up_s" in figures else 1


if __name__ == "__main__":
    sys.exit(main())
