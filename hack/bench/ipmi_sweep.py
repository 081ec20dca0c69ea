"""Power-status sweep over N simulated BMCs: the operator's driver vs ipmitool (see ipmi-sweep)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from oci_operator.bmc.governor import Governor, GovernorConfig
from oci_operator.bmc.ipmi import IPMIDriver

PASSWORD = "bench-password"  # noqa: S105 - a simulator's


def start_sim(count: int, workdir: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    state = workdir / "sim.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "oci_operator",
            "bmc-sim",
            "--count",
            str(count),
            "--state-file",
            str(state),
        ],
        env={**os.environ, "OCI_SIM_PASSWORD": PASSWORD},
        stdout=(workdir / "sim.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("bmc-sim did not start")
        time.sleep(0.1)
    return process, [b["port"] for b in json.loads(state.read_text())["bmcs"]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def driver_sweep(drivers: list[IPMIDriver], governor: Governor) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0

    async def one(index: int, driver: IPMIDriver) -> None:
        nonlocal failures

        def timed() -> bool:  # the call itself, on the governor's thread, without queueing
            started = time.perf_counter()
            try:
                return driver.get_power()
            finally:
                latencies.append(time.perf_counter() - started)

        try:
            await governor.call(f"bmc-{index}", "get_power", timed)
        except Exception:
            failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(i, d) for i, d in enumerate(drivers)))
    return time.perf_counter() - started, latencies, failures


def ipmitool_sweep(ports: list[int], concurrency: int) -> tuple[float, list[float], int]:
    env = {**os.environ, "IPMI_PASSWORD": PASSWORD}

    def one(port: int) -> tuple[float, bool]:
        started = time.perf_counter()
        result = subprocess.run(
            [
                "ipmitool",
                "-I",
                "lanplus",
                "-H",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "admin",
                "-E",
                "chassis",
                "power",
                "status",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return time.perf_counter() - started, result.returncode == 0 and "Chassis Power is" in result.stdout

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, ports))
    return time.perf_counter() - started, [r[0] for r in results], sum(1 for r in results if not r[1])


def line(name: str, wall: float, latencies: list[float], failures: int, calls: int) -> str:
    return (
        f"{name:<34} {wall:7.2f} s  {calls / wall:8.1f} calls/s  p50 {statistics.median(latencies) * 1e3:7.1f} ms"
        f"  p99 {percentile(latencies, 0.99) * 1e3:7.1f} ms  failures {failures}"
    )


def log_out(drivers: list[IPMIDriver]) -> None:
    """End the drivers' sessions at the BMCs, so the next sweep logs in again (pyghmi caches sessions)."""
    for driver in drivers:
        command = driver._command
        if command is not None:
            command.ipmi_session.logout()
        driver.close()


Sweep = tuple[float, list[float], int]  # wall seconds, per-call latencies, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bmcs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of each kind of sweep")
    args = parser.parse_args()

    login: list[Sweep] = []  # driver: a new session per BMC, then one call (what ipmitool does per call)
    warm: list[Sweep] = []  # driver: the same sessions again (the operator's steady state)
    tool: list[Sweep] = []
    with tempfile.TemporaryDirectory() as tmp:
        sim, ports = start_sim(args.bmcs, Path(tmp))
        try:
            config = GovernorConfig(max_in_flight=args.concurrency, calls_per_minute=6000, burst=100, call_timeout=30)

            async def driver_round() -> tuple[Sweep, Sweep]:
                drivers = [IPMIDriver("127.0.0.1", port, "admin", PASSWORD) for port in ports]
                governor = Governor(config)
                try:
                    return await driver_sweep(drivers, governor), await driver_sweep(drivers, governor)
                finally:
                    log_out(drivers)
                    governor.shutdown()

            # Interleaved, and the order alternates, so a machine that slows down during the run
            # (other work, thermal) weighs on both sides alike.
            for round_ in range(args.rounds):
                for kind in ("driver", "ipmitool") if round_ % 2 == 0 else ("ipmitool", "driver"):
                    if kind == "driver":
                        first, again = asyncio.run(driver_round())
                        login.append(first)
                        warm.append(again)
                    else:
                        tool.append(ipmitool_sweep(ports, args.concurrency))
                print(
                    f"round {round_ + 1}: driver login {login[-1][0]:.2f} s, warm {warm[-1][0]:.2f} s, "
                    f"ipmitool {tool[-1][0]:.2f} s",
                    file=sys.stderr,
                )
        finally:
            sim.terminate()
            sim.wait()
            errors = (Path(tmp) / "sim.log").read_text(errors="replace").count("Traceback")
            if errors:
                print(f"simulator logged {errors} exception(s):\n" + (Path(tmp) / "sim.log").read_text()[-3000:])

    n = args.bmcs
    print(
        f"power-status sweep over {n} simulated BMCs, {args.concurrency} calls in flight, {args.rounds} interleaved"
        " rounds (latency: one call without queueing; ipmitool: one whole process)"
    )
    sweeps = {"driver, login + call (median)": login, "driver, warm session (median)": warm, "ipmitool (median)": tool}
    for name, runs in sweeps.items():
        print(line(name, statistics.median(r[0] for r in runs), [x for r in runs for x in r[1]],
                   sum(r[2] for r in runs), n))  # fmt: skip
    failures = {name: sum(r[2] for r in runs) for name, runs in sweeps.items()}
    if any(failures.values()):
        failed = ", ".join(f"{name}: {count}" for name, count in failures.items() if count)
        print(f"no ratio: calls failed ({failed}); a sweep with failures is not comparable", file=sys.stderr)
        return 1
    tool_wall = statistics.median(r[0] for r in tool)
    login_wall = statistics.median(r[0] for r in login)
    warm_wall = statistics.median(r[0] for r in warm)
    print(
        f"ratio (like for like: each logs in and asks once per BMC): ipmitool / driver = {tool_wall / login_wall:.2f}"
    )
    print(f"ratio (session reuse, the operator's steady state; not like for like): ipmitool / driver warm = "
          f"{tool_wall / warm_wall:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
