"""The boot server's static file path under a PXE storm, against nginx on the same files and machine.

Each client is one curl transfer pair (kernel, then initrd) with --parallel-max = clients, so all of
them are in flight at once, like a rack powered on together. Both servers get the same files, the
same client, the same number of rounds; the figure is the median wall time, and the ratio is
boot server / nginx (1.0 = as fast as nginx; lower is better). RSS is read after the last round."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from support.bootserver import boot_server  # noqa: E402
from support.cluster import api_server  # noqa: E402
from support.kube import Kube  # noqa: E402
from support.operator_process import free_port  # noqa: E402
from support.waiting import wait_for  # noqa: E402

NETBOOT = Path("/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64")
NGINX_CONF = """daemon off;
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log {dir}/nginx-access.log;
  sendfile on; tcp_nopush on;
  client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir};
  uwsgi_temp_path {dir}; scgi_temp_path {dir};
  server {{ listen 127.0.0.1:{port} backlog=1024; root {root}; }}
}}
"""


def storm(base: str, clients: int, workdir: Path) -> float:
    config = workdir / "urls.curl"
    config.write_text(
        "".join(
            f'url = "{base}/{name}"\noutput = "/dev/null"\n' for _ in range(clients) for name in ("linux", "initrd.gz")
        )
    )
    started = time.monotonic()
    result = subprocess.run(
        ["curl", "-sS", "--fail", "--parallel", "--parallel-max", str(clients), "--parallel-immediate",
         "-K", str(config)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    took = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"curl failed against {base}: {result.stderr[-500:]}")
    return took


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (from /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def timed_storm(base: str, clients: int, workdir: Path, pids: list[int]) -> tuple[float, float]:
    """Wall seconds of one storm, and the server's CPU seconds spent on it."""
    before = cpu_seconds(pids)
    took = storm(base, clients, workdir)
    return took, cpu_seconds(pids) - before


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = sum((NETBOOT / n).stat().st_size for n in ("linux", "initrd.gz"))
    with tempfile.TemporaryDirectory() as tmp, api_server(Path(tmp) / "api") as kubeconfig:
        work = Path(tmp)
        Kube.connect(kubeconfig).apply_crds()
        port = free_port()
        (work / "nginx").mkdir()
        (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work / "nginx", port=port, root=NETBOOT))
        nginx = subprocess.Popen(["nginx", "-c", str(work / "nginx.conf")])
        try:
            wait_for(lambda: nginx.poll() is None and (work / "nginx" / "nginx.pid").exists(), 10, "nginx")
            with boot_server(kubeconfig, work / "bs", "--no-dhcp", images=NETBOOT) as server:
                results: dict[str, list[float]] = {"bootserver": [], "nginx": []}
                cpu: dict[str, list[float]] = {"bootserver": [], "nginx": []}
                nginx_pids = [nginx.pid, *children(nginx.pid)]
                for _ in range(args.rounds):
                    took, spent = timed_storm(f"{server.url}/v1/images", args.clients, work, [server.process.pid])
                    results["bootserver"].append(took)
                    cpu["bootserver"].append(spent)
                    took, spent = timed_storm(f"http://127.0.0.1:{port}", args.clients, work, nginx_pids)
                    results["nginx"].append(took)
                    cpu["nginx"].append(spent)
                boot_rss = rss_mib([server.process.pid])
                nginx_rss = rss_mib([nginx.pid, *children(nginx.pid)])
        finally:
            nginx.terminate()
            nginx.wait()
    total = args.clients * size / 2**30
    print(f"{args.clients} concurrent clients, each fetching linux + initrd.gz ({size / 2**20:.1f} MiB); "
          f"{total:.1f} GiB per round; {args.rounds} rounds, median:")  # fmt: skip
    for name, times in results.items():
        median = statistics.median(times)
        rounds = ", ".join(f"{t:.2f}" for t in times)
        print(f"  {name:10s} {median:6.2f} s  {total / median:5.2f} GiB/s   rounds: {rounds}")
    ratio = statistics.median(results["bootserver"]) / statistics.median(results["nginx"])
    print(f"  ratio boot server / nginx (wall time): {ratio:.2f}")
    per_gib = {name: statistics.median(spent) / total for name, spent in cpu.items()}
    for name, value in per_gib.items():
        print(f"  {name:10s} CPU {value:6.2f} s per GiB served (median round; user + system, all its processes)")
    print(f"  ratio boot server / nginx (CPU per GiB): {per_gib['bootserver'] / max(per_gib['nginx'], 1e-9):.2f}")
    print(f"  RSS after the run: boot server {boot_rss:.0f} MiB, nginx (master + workers) {nginx_rss:.0f} MiB")
    print(f"  ratio boot server / nginx (RSS): {boot_rss / max(nginx_rss, 1e-9):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
