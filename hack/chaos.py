"""Fault drills with figures (issue 13): kill storms, an API server restart, BMC faults, a boot server restart.

Every server is real and on loopback: a kube-apiserver + etcd (hack/local-apiserver), the operator and the
boot server as processes, and `oci-operator bmc-sim` fleets whose simulated servers PXE-boot through the
boot server. BMC figures come from the simulator's command logs, not from the operator's own account."""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from oci_operator.config import DEFAULT_SYSTEM_NAMESPACE  # noqa: E402
from support.apiserver_restart import start_apiserver, stop_apiserver  # noqa: E402
from support.bmcsim import SimControl, bmc_sim  # noqa: E402
from support.bootserver import boot_server  # noqa: E402
from support.cluster import api_server  # noqa: E402
from support.hosts import host_manifest, ready, secret_manifest, state  # noqa: E402
from support.kube import GROUP, VERSION, Kube, condition  # noqa: E402
from support.operator_process import OperatorProcess, http_get, operator_process, stop  # noqa: E402
from support.waiting import wait_for  # noqa: E402

OPERATOR_FLAGS = (
    *("--power-poll-interval", "30", "--power-settle-timeout", "20"),
    *("--bmc-backoff-base", "2", "--bmc-backoff-cap", "60", "--bmc-timeout", "30"),
    *("--boot-poll-interval", "2", "--boot-script-timeout", "60"),
    *("--inspect-timeout", "300", "--provision-timeout", "300"),
)
POWER_POLL = 30  # --power-poll-interval above
IDLE_POLL = 5 * POWER_POLL  # the operator's default --idle-poll-interval: a settled host's power is read this often
BUDGET_PER_MINUTE, BUDGET_BURST = 30, 10  # the operator's defaults (--bmc-calls-per-minute, --bmc-burst)
COMMANDS = ("power_on", "power_off", "power_cycle", "power_reset", "power_soft", "set_boot_device")
READS = ("get_power", "get_boot_device")


def hosts(kube: Kube, namespace: str, fleet: SimControl, inspect: bool, wrong: frozenset[str] = frozenset()) -> None:
    for bmc in fleet.bmcs:
        password = "not-the-password" if bmc.name in wrong else bmc.password
        kube.create(namespace, secret_manifest(f"{bmc.name}-bmc", bmc.username, password))
        manifest = host_manifest(bmc.name, bmc.address, f"{bmc.name}-bmc", online=True)
        if inspect:
            manifest["metadata"]["annotations"] = {}
            manifest["spec"]["bootMACAddress"] = bmc.mac
        kube.create(namespace, manifest)


def all_ready(kube: Kube, namespace: str, names: list[str]) -> int:
    return sum(1 for name in names if ready(kube, namespace, name) == ("True", "Available"))


def warnings(kube: Kube, namespace: str) -> Counter[tuple[str, str]]:
    """(host, reason) -> Warning Events (an Event's count included)."""
    found: Counter[tuple[str, str]] = Counter()
    for event in kube.core.list_namespaced_event(namespace).items:
        if event.type == "Warning":
            found[(event.involved_object.name, event.reason)] += event.count or 1
    return found


def command_figures(fleet: SimControl) -> tuple[float, float]:
    """BMC commands per host, and BMC reads per host per minute while its boot job waited for the node."""
    commands, rates = 0, []
    for bmc in fleet.bmcs:
        log = fleet.entries_with_time(bmc)
        commands += sum(1 for e in log if e["command"] in COMMANDS)
        booted = [e["time"] for e in log if e["command"] in ("power_on", "power_cycle")]
        reported = [e["time"] for e in log if e["command"] == "node_report"]
        if booted and reported and reported[0] > booted[0]:
            start, end = booted[0], reported[0]
            reads = sum(1 for e in log if e["command"] in READS and start < e["time"] < end)
            rates.append(reads / max((end - start) / 60, 1 / 60))
    return commands / len(fleet.bmcs), (sum(rates) / len(rates) if rates else 0.0)


def _answers(kube: Kube) -> bool:
    try:
        kube.core.list_namespace(_request_timeout=5)
    except Exception:
        return False
    return True


def restart_apiserver(workdir: Path, down: float) -> None:
    """Kill the kube-apiserver (etcd keeps the data); start it again with the same command line."""
    argv = stop_apiserver(workdir)
    time.sleep(down)  # the outage itself: what the operator must survive
    start_apiserver(workdir, argv)


def bring_up(
    kube: Kube, workdir: Path, server_url: str, n: int, kills: int, apiserver_dir: Path | None, seed: int
) -> dict[str, Any]:
    """(a) and (b): N hosts inspected through the boot server while the operator is killed K times."""
    rng = random.Random(seed)  # noqa: S311 - chaos timing, not secrets
    namespace = kube.new_namespace("chaos-")
    first_mac = f"52:54:00:c{min(kills, 9)}:00:00"  # fleets share the boot server: MACs must not collide
    extra = ("--prefix", f"k{kills}", "--first-mac", first_mac, "--boot-server", server_url, "--install-seconds", "2")
    figures: dict[str, Any] = {}
    with bmc_sim(workdir / f"sim-{kills}", n, *extra) as fleet:
        names = [b.name for b in fleet.bmcs]
        started = time.monotonic()
        op_dir = workdir / f"op-{kills}"
        op_dir.mkdir()
        with operator_process(kube.kubeconfig, op_dir, "--namespace", namespace, *OPERATOR_FLAGS) as op:
            try:
                figures.update(storm(kube, op, fleet, namespace, names, kills, apiserver_dir, rng, started))
            finally:
                stop(op.process)  # a replacement started here: operator_process() only stops the first
    return figures


def storm(
    kube: Kube,
    op: OperatorProcess,
    fleet: SimControl,
    namespace: str,
    names: list[str],
    kills: int,
    apiserver_dir: Path | None,
    rng: random.Random,
    started: float,
) -> dict[str, Any]:
    n, figures = len(names), dict[str, Any]()
    hosts(kube, namespace, fleet, inspect=True)
    process = op.process
    last_kill = time.monotonic()
    for _ in range(kills):
        time.sleep(rng.uniform(0.5, 6.0))  # a random moment of the bring-up
        process.send_signal(signal.SIGKILL)
        process.wait()
        last_kill = time.monotonic()
        op.process = process = subprocess.Popen(process.args, stdout=op.log_path.open("ab"), stderr=subprocess.STDOUT)
    if apiserver_dir is not None:
        # The operator up (its liveness answers) before the outage: an operator that starts while
        # the API server is down and finds no CRDs waits for CRD events (kopf) - see the report.
        wait_for(lambda: http_get(op.health_url), 120, "the restarted operator up")
        outage = time.monotonic()
        restart_apiserver(apiserver_dir, 10.0)
        wait_for(lambda: _answers(kube), 180, "the API server back")
        figures["apiserver_back_s"] = round(time.monotonic() - outage, 1)
    try:
        wait_for(lambda: all_ready(kube, namespace, names) == n, 900, f"{n} hosts Ready", interval=2)
    except AssertionError as exc:  # a figure, not an abort: the other phases still run
        print(f"(a) {exc}", flush=True)
        figures["not_ready"] = {
            name: ready(kube, namespace, name)
            for name in names
            if ready(kube, namespace, name) != ("True", "Available")
        }
    figures["ready"] = f"{all_ready(kube, namespace, names)}/{n}"
    figures["bring_up_s"] = round(time.monotonic() - started, 1)
    figures["last_kill_to_all_ready_s"] = round(time.monotonic() - last_kill, 1) if kills else None
    per_host, rate = command_figures(fleet)
    figures["bmc_commands_per_host"] = round(per_host, 2)
    figures["bmc_reads_per_host_per_min_while_waiting"] = round(rate, 2)
    warned = warnings(kube, namespace)
    figures["warnings_per_host"] = round(sum(warned.values()) / n, 2)
    figures["warning_reasons"] = dict(Counter(reason for _, reason in warned.elements()))
    if kills:
        figures["installs"] = install_with_bootserver_restart(kube, namespace, fleet, names)
    return figures


def install_with_bootserver_restart(kube: Kube, namespace: str, fleet: SimControl, names: list[str]) -> dict[str, Any]:
    """(d): every host gets a role; the boot server is restarted while the installs run."""
    for name in names:
        kube.patch_spec(namespace, "BareMetalHost", name, {"role": "compute"})
    try:
        wait_for(
            lambda: sum(1 for n in names if state(kube, namespace, n) == "provisioning") >= len(names) // 2,
            300,
            "installs under way",
        )
    except AssertionError as exc:
        print(f"(d) {exc}", flush=True)
    BOOTSERVER_RESTART()
    started = time.monotonic()
    provisioned = lambda: sum(1 for n in names if state(kube, namespace, n) == "provisioned")  # noqa: E731
    try:
        wait_for(lambda: provisioned() == len(names), 600, "all provisioned", interval=2)
    except AssertionError as exc:
        print(f"(d) {exc}", flush=True)
    preseeds = [sum(1 for c in fleet.log(b) if c == "node_preseed") for b in fleet.bmcs]  # inspect + install(s)
    return {
        "provisioned": f"{provisioned()}/{len(names)}",
        "after_restart_s": round(time.monotonic() - started, 1),
        "hosts_whose_install_was_retried": sum(1 for p in preseeds if p > 2),
        "max_installs_per_host": max(p - 1 for p in preseeds),
    }


def host_conditions(kube: Kube, namespace: str) -> dict[str, tuple[str, str, str]]:
    """name -> (Ready status, reason, status.errorMessage), every host in one list call."""
    found = {}
    listed = kube.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "baremetalhosts")
    for item in listed["items"]:
        cond = condition(item, "Ready") or {}
        status = item.get("status") or {}
        found[item["metadata"]["name"]] = (
            cond.get("status", ""),
            cond.get("reason", ""),
            status.get("errorMessage", ""),
        )
    return found


def busiest_minute(times: list[float]) -> int:
    """The most entries in any 60 s window (a sliding window: what a per-minute budget must hold to)."""
    times = sorted(times)
    most, first = 0, 0
    for last, when in enumerate(times):
        while when - times[first] > 60:
            first += 1
        most = max(most, last - first + 1)
    return most


def bmc_faults(kube: Kube, workdir: Path, n: int, seed: int) -> dict[str, Any]:
    """(c): 20 % reply loss on every BMC, 5 % dead, 5 % wrong passwords, idle sessions ended after 60 s;
    power management only."""
    rng = random.Random(seed)  # noqa: S311 - chaos timing, not secrets
    namespace = kube.new_namespace("chaos-")
    with bmc_sim(workdir / "sim-faults", n, "--prefix", "f") as fleet:
        names = [b.name for b in fleet.bmcs]
        faulty = rng.sample(names, max(2, n // 10))
        dead, wrong = set(faulty[: len(faulty) // 2]), set(faulty[len(faulty) // 2 :])
        for bmc in fleet.bmcs:
            # sessionTimeout: like real BMCs (IPMI's default), sessions idle for 60 s end
            fleet.faults(bmc, drop=0.2, silent=bmc.name in dead, sessionTimeout=60)
        expected = dict.fromkeys(names, ("True", "Available"))
        expected.update(dict.fromkeys(dead, ("False", "BMCUnreachable")))
        expected.update(dict.fromkeys(wrong, ("False", "CredentialsRejected")))
        op_dir = workdir / "op-faults"
        op_dir.mkdir()
        with operator_process(kube.kubeconfig, op_dir, "--namespace", namespace, *OPERATOR_FLAGS):
            started = time.monotonic()
            hosts(kube, namespace, fleet, inspect=False, wrong=frozenset(wrong))
            reached: dict[str, float] = {}  # host -> seconds from the start until its expected Ready

            def all_reached() -> bool:
                for name, (ready_status, reason, _) in host_conditions(kube, namespace).items():
                    if name not in reached and (ready_status, reason) == expected[name]:
                        reached[name] = time.monotonic() - started
                return len(reached) == n

            try:
                wait_for(all_reached, 900, "every host with its expected Ready", interval=2)
            except AssertionError as exc:  # a figure, not an abort
                print(f"(c) {exc}", flush=True)
            settled_s = time.monotonic() - started
            time.sleep(2 * IDLE_POLL)  # the fleet at rest: what it costs the BMCs while nothing changes
            rest_end = time.time()  # the simulator's logs are in epoch seconds
            final = host_conditions(kube, namespace)
            warned = warnings(kube, namespace)
            logs = {b.name: fleet.entries_with_time(b) for b in fleet.bmcs}
    healthy = [name for name in names if name not in dead | wrong]
    ready_s = sorted(reached[name] for name in healthy if name in reached)
    resting = []  # calls per minute to each healthy BMC once its server was on: the host waits for changes
    for name in healthy:
        calls = [e["time"] for e in logs[name] if e["command"] in COMMANDS + READS]
        power_on = next((e["time"] for e in logs[name] if e["command"] == "power_on"), None)
        if power_on is not None and rest_end - power_on > 60:
            later = [t for t in calls if t > power_on + 30]  # past the settle check
            resting.append(len(later) / ((rest_end - power_on - 30) / 60))
    return {
        "healthy_ready": f"{len(ready_s)}/{len(healthy)}",
        "healthy_ready_s": {"median": _median(ready_s), "last": round(ready_s[-1], 1) if ready_s else None},
        "all_settled_s": round(settled_s, 1),
        "faulty": {
            name: {
                "fault": "dead" if name in dead else "wrong password",
                "ready": final.get(name, ("", "", ""))[:2],
                "message": final.get(name, ("", "", ""))[2],
                "after_s": round(reached[name], 1) if name in reached else None,
                "polls": round(reached[name] / POWER_POLL, 1) if name in reached else None,
            }
            for name in sorted(dead | wrong)
        },
        "power_on_per_healthy_host": dict(
            Counter(sum(1 for e in logs[n] if e["command"] == "power_on") for n in healthy)
        ),
        "bmc_calls_per_healthy_host_per_min_at_rest": _median(resting),
        "busiest_minute_of_any_bmc": max(
            busiest_minute([e["time"] for e in log if e["command"] in COMMANDS + READS]) for log in logs.values()
        ),
        "budget_per_minute": f"{BUDGET_PER_MINUTE} + burst {BUDGET_BURST}",
        "max_warnings_per_host_and_reason": max(warned.values(), default=0),
        "warning_reasons": dict(Counter(reason for _, reason in warned.elements())),
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


BOOTSERVER_RESTART: Any = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, nargs="?", default=20, help="hosts (default 20)")
    parser.add_argument("k", type=int, nargs="?", default=5, help="SIGKILLs of the operator (default 5)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--skip", default="", help="comma-separated phases to skip: baseline,kills,faults")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    global BOOTSERVER_RESTART
    with tempfile.TemporaryDirectory(prefix="oci-chaos-") as tmp:
        workdir = Path(tmp)
        apiserver_dir = workdir / "apiserver"
        with api_server(apiserver_dir) as kubeconfig:
            kube = Kube.connect(kubeconfig)
            kube.apply_crds()
            kube.ensure_namespace(DEFAULT_SYSTEM_NAMESPACE)  # the operator's own: host tokens, desired states
            boot_dir = workdir / "bootserver"
            server_cm = boot_server(kubeconfig, boot_dir, "--no-dhcp")
            server = server_cm.__enter__()

            def restart_bootserver() -> None:
                args_ = server.process.args
                server.process.terminate()
                server.process.wait(timeout=30)
                server.process = subprocess.Popen(args_, stdout=server.log_path.open("ab"), stderr=subprocess.STDOUT)

            BOOTSERVER_RESTART = restart_bootserver
            try:
                load = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
                print(f"hack/chaos N={args.n} K={args.k} ({load} at the start)", flush=True)
                results: dict[str, Any] = {}
                if "baseline" not in skip:
                    results["a_without_kills"] = bring_up(kube, workdir, server.url, args.n, 0, None, args.seed)
                    print(f"a_without_kills: {results['a_without_kills']}", flush=True)
                if "kills" not in skip:
                    results["a_b_d_kills"] = bring_up(
                        kube, workdir, server.url, args.n, args.k, apiserver_dir, args.seed
                    )
                    print(f"a_b_d_kills: {results['a_b_d_kills']}", flush=True)
                if "faults" not in skip:
                    results["c_bmc_faults"] = bmc_faults(kube, workdir, args.n, args.seed)
                    print(f"c_bmc_faults: {results['c_bmc_faults']}", flush=True)
            finally:
                stop(server.process)  # a restarted one is not the process boot_server() started
                server_cm.__exit__(None, None, None)
    print(f"hack/chaos done (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
