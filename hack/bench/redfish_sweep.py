"""Power-status sweep over N emulated Redfish systems: the operator's driver vs curl (see redfish-sweep)."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))  # the emulator harness the integration tests use

from ipmi_sweep import driver_sweep, line, percentile  # noqa: E402 - the IPMI benchmark's sweep and report

from oci_operator.bmc.drivers import TLSOptions, driver_for  # noqa: E402
from oci_operator.bmc.governor import Governor, GovernorConfig  # noqa: E402
from support.redfish_emulator import SYSTEMS, RedfishEmulator, redfish_emulator  # noqa: E402

Sweep = tuple[float, list[float], int]  # wall seconds, per-call latencies, failures


def curl_sweep(emulator: RedfishEmulator, config: Path, ca: Path | None, concurrency: int) -> Sweep:
    def one(system: str) -> tuple[float, bool]:
        started = time.perf_counter()
        command = ["curl", "-sS", "--fail", "-K", str(config), f"{emulator.base_url}{SYSTEMS}{system}"]
        if ca is not None:
            command[1:1] = ["--cacert", str(ca)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        ok = result.returncode == 0 and json.loads(result.stdout).get("PowerState") in ("On", "Off")
        return time.perf_counter() - started, ok

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, emulator.systems))
    return time.perf_counter() - started, [r[0] for r in results], sum(1 for r in results if not r[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--systems", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="warm sweeps after the first (login) sweep")
    parser.add_argument("--tls", action="store_true", help="HTTPS with a throw-away CA (default: plain HTTP)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, redfish_emulator(Path(tmp), args.systems, tls=args.tls) as emulator:
        tls = TLSOptions(ca_bundle=emulator.ca_pem)
        drivers = [driver_for(emulator.address(s), emulator.username, emulator.password, tls) for s in emulator.systems]
        config = GovernorConfig(max_in_flight=args.concurrency, calls_per_minute=6000, burst=100, call_timeout=60)

        async def driver_runs() -> list[Sweep]:
            governor = Governor(config)
            runs = [await driver_sweep(drivers, governor) for _ in range(1 + args.rounds)]  # type: ignore[arg-type]
            governor.shutdown()
            return runs

        runs = asyncio.run(driver_runs())
        curl_config = Path(tmp) / "curl.conf"  # the password in a file, not on a command line
        curl_config.write_text(f'user = "{emulator.username}:{emulator.password}"\n')
        ca = None
        if args.tls:
            ca = Path(tmp) / "ca.pem"
            ca.write_text(emulator.ca_pem)
        tool = []
        for round_ in range(args.rounds):
            tool.append(curl_sweep(emulator, curl_config, ca, args.concurrency))
            print(f"curl round {round_ + 1}: {tool[-1][0]:.2f} s, {tool[-1][2]} failures", file=sys.stderr)

    n = args.systems
    print(
        f"power-status sweep over {n} emulated Redfish systems ({'HTTPS' if args.tls else 'HTTP'}, basic auth),"
        f" {args.concurrency} calls in flight, {args.rounds} rounds (latency: one call, without queueing;"
        " curl: one whole process)"
    )
    cold = runs[0]
    warm_wall = statistics.median(r[0] for r in runs[1:])
    warm_lat = [x for r in runs[1:] for x in r[1]]
    tool_wall = statistics.median(r[0] for r in tool)
    tool_lat = [x for r in tool for x in r[1]]
    print(line("driver, first sweep (login)", cold[0], cold[1], cold[2], n))
    print(line("driver, warm (median sweep)", warm_wall, warm_lat, sum(r[2] for r in runs[1:]), n))
    print(line("curl (median sweep)", tool_wall, tool_lat, sum(r[2] for r in tool), n))
    print(
        f"ratio: driver warm sweep is {tool_wall / warm_wall:.2f}x the speed of curl; "
        f"first sweep {tool_wall / cold[0]:.2f}x; p99 {percentile(tool_lat, 0.99) / percentile(warm_lat, 0.99):.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
