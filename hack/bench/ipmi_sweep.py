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
        f"{name:<28} {wall:7.2f} s  {calls / wall:8.1f} calls/s  p50 {statistics.median(latencies) * 1e3:7.1f} ms"
        f"  p99 {percentile(latencies, 0.99) * 1e3:7.1f} ms  failures {failures}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bmcs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="warm sweeps after the first (login) sweep")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        sim, ports = start_sim(args.bmcs, Path(tmp))
        try:
            drivers = [IPMIDriver("127.0.0.1", port, "admin", PASSWORD) for port in ports]
            config = GovernorConfig(max_in_flight=args.concurrency, calls_per_minute=6000, burst=100, call_timeout=30)

            async def driver_runs() -> list[tuple[float, list[float], int]]:
                governor = Governor(config)
                runs = [await driver_sweep(drivers, governor) for _ in range(1 + args.rounds)]
                governor.shutdown()
                return runs

            runs = asyncio.run(driver_runs())
            tool = []
            for round_ in range(args.rounds):
                tool.append(ipmitool_sweep(ports, args.concurrency))
                print(f"ipmitool round {round_ + 1}: {tool[-1][0]:.2f} s, {tool[-1][2]} failures", file=sys.stderr)
        finally:
            sim.terminate()
            sim.wait()
            errors = (Path(tmp) / "sim.log").read_text(errors="replace").count("Traceback")
            if errors:
                print(f"simulator logged {errors} exception(s):\n" + (Path(tmp) / "sim.log").read_text()[-3000:])

    n = args.bmcs
    print(
        f"power-status sweep over {n} simulated BMCs, {args.concurrency} calls in flight, {args.rounds} rounds"
        " (latency: one call, without queueing; ipmitool: one whole process)"
    )
    cold = runs[0]
    warm_wall = statistics.median(r[0] for r in runs[1:])
    warm_lat = [x for r in runs[1:] for x in r[1]]
    tool_wall = statistics.median(r[0] for r in tool)
    tool_lat = [x for r in tool for x in r[1]]
    print(line("driver, first sweep (login)", cold[0], cold[1], cold[2], n))
    print(line("driver, warm (median sweep)", warm_wall, warm_lat, sum(r[2] for r in runs[1:]), n))
    print(line("ipmitool (median sweep)", tool_wall, tool_lat, sum(r[2] for r in tool), n))
    print(
        f"ratio: driver warm sweep is {tool_wall / warm_wall:.1f}x faster than ipmitool; "
        f"first sweep {tool_wall / cold[0]:.1f}x; p99 {percentile(tool_lat, 0.99) / percentile(warm_lat, 0.99):.1f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
