"""The boot server's static file path under a PXE storm, against nginx on the same files and machine.

Each client is one curl transfer pair (kernel, then initrd) with --parallel-max = clients, so all of
them are in flight at once, like a rack powered on together. Both servers get the same files, the
same client, the same number of rounds, taking turns. Per server: the median wall time, the CPU
seconds (user + system, the server process and its children, from /proc before and after each round)
per GiB served, and the RSS before the first round and after the last. Ratios are boot server / nginx
from this run (1.0 = as cheap as nginx; lower is better).

With --tls-clients N (default 20; 0 skips it), a second, smaller storm goes over TLS: the boot
server's HTTPS port (the agents' port, same application) against nginx with `ssl` on the same
certificate. TLS cannot use sendfile on either side (no kernel TLS here): it shows what encryption costs.

With --hosts N, N BareMetalHosts (spec only, as registered) and a boot-token Secret each are created
before the storm, and the boot server's RSS is read before and after its caches hold them: what its
informer caches and directory cost per host (sizing, docs/bootserver.md)."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from oci_operator.api.v1alpha1 import INSPECT_ANNOTATION  # noqa: E402
from oci_operator.bootserver import tls  # noqa: E402
from oci_operator.config import DEFAULT_SYSTEM_NAMESPACE  # noqa: E402
from oci_operator.k8s.client import BOOT_TOKEN_LABEL, HOST_UID_LABEL, host_secret_name  # noqa: E402
from support.bootserver import BootServerProcess, boot_server  # noqa: E402
from support.cluster import api_server  # noqa: E402
from support.kube import Kube  # noqa: E402
from support.operator_process import free_ports  # noqa: E402
from support.waiting import wait_for  # noqa: E402

NETBOOT = Path("/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64")
FILES = ("linux", "initrd.gz")
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
  server {{
    listen 127.0.0.1:{tls_port} ssl backlog=1024; root {root};
    ssl_certificate {dir}/tls.crt; ssl_certificate_key {dir}/tls.key;
  }}
}}
"""


@dataclass
class Figures:
    """One server's rounds: wall seconds, and user and system CPU seconds spent in each."""

    wall: list[float] = field(default_factory=list)
    user: list[float] = field(default_factory=list)
    system: list[float] = field(default_factory=list)
    rss_before: float = 0.0
    rss_after: float = 0.0


def storm(base: str, clients: int, workdir: Path, *curl_args: str) -> float:
    config = workdir / "urls.curl"
    lines = (f'url = "{base}/{name}"\noutput = "/dev/null"\n' for _ in range(clients) for name in FILES)
    config.write_text("".join(lines))
    started = time.monotonic()
    result = subprocess.run(
        ["curl", "-sS", "--fail", "--parallel", "--parallel-max", str(clients), "--parallel-immediate",
         *curl_args, "-K", str(config)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    took = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"curl failed against {base}: {result.stderr[-500:]}")
    return took


def tree(pid: int) -> list[int]:
    """The process and all its descendants, now."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        out = subprocess.run(["pgrep", "-P", str(current)], capture_output=True, text=True, check=False).stdout
        todo.extend(int(p) for p in out.split())
    return found


def rss_mib(pid: int) -> float:
    total = 0
    for each in tree(pid):
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds so far of the process and its descendants (with their reaped children)."""
    user = system = 0
    for each in tree(pid):
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        user += int(fields[11]) + int(fields[13])  # utime + cutime
        system += int(fields[12]) + int(fields[14])  # stime + cstime
    tick = os.sysconf("SC_CLK_TCK")
    return user / tick, system / tick


def measured_storm(figures: Figures, pid: int, base: str, clients: int, workdir: Path, *curl_args: str) -> None:
    user, system = cpu_seconds(pid)
    figures.wall.append(storm(base, clients, workdir, *curl_args))
    user_after, system_after = cpu_seconds(pid)
    figures.user.append(user_after - user)
    figures.system.append(system_after - system)


def mac_of(n: int) -> str:
    return f"52:54:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}"


def create_hosts(kube: Kube, count: int) -> None:
    """`count` registered hosts (inspection disabled, no operator running) and a boot token each."""
    namespace = kube.ensure_namespace("fleet")

    def one(n: int) -> None:
        bmc = {"address": f"ipmi://10.0.{n >> 8 & 255}.{n & 255}", "credentialsName": f"host-{n:05d}-bmc"}
        host = kube.create(namespace, {
            "apiVersion": "oci.openstack.org/v1alpha1", "kind": "BareMetalHost",
            "metadata": {"name": f"host-{n:05d}", "annotations": {INSPECT_ANNOTATION: "disabled"}},
            "spec": {"bmc": bmc, "bootMACAddress": mac_of(n), "online": False},
        })  # fmt: skip
        uid = host["metadata"]["uid"]
        kube.create(DEFAULT_SYSTEM_NAMESPACE, {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": host_secret_name(uid, "boot-token"),
                         "labels": {BOOT_TOKEN_LABEL: "true", HOST_UID_LABEL: uid}},
            "stringData": {"token": uuid.uuid4().hex, "bootId": uuid.uuid4().hex, "jobToken": uuid.uuid4().hex},
        })  # fmt: skip

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))


def hosts_loaded(server: BootServerProcess, count: int) -> bool:
    """The boot server knows the last host created (by its cache: the log names it)."""
    subprocess.run(["curl", "-sS", "-o", "/dev/null", f"{server.url}/v1/boot/{mac_of(count - 1)}.ipxe"], check=True)
    return f"boot script for {mac_of(count - 1)} (host-{count - 1:05d})" in server.log()


def report(title: str, clients: int, rounds: int, figures: dict[str, Figures]) -> None:
    size = sum((NETBOOT / n).stat().st_size for n in FILES)
    gib = clients * size / 2**30
    print(f"{title}: {clients} concurrent clients, each fetching linux + initrd.gz ({size / 2**20:.1f} MiB); "
          f"{gib:.2f} GiB per round; {rounds} rounds, medians:")  # fmt: skip
    per_gib: dict[str, float] = {}
    for name, f in figures.items():
        wall = statistics.median(f.wall)
        cpu = [u + s for u, s in zip(f.user, f.system, strict=True)]
        per_gib[name] = statistics.median(cpu) / gib
        print(f"  {name:10s} {wall:6.2f} s  {gib / wall:5.2f} GiB/s   rounds: {', '.join(f'{t:.2f}' for t in f.wall)}")
        user, system = statistics.median(f.user) / gib, statistics.median(f.system) / gib
        spent = ", ".join(f"{c:.2f}" for c in cpu)
        print(f"  {'':10s} CPU {per_gib[name]:6.3f} s per GiB (user {user:.3f}, system {system:.3f}); rounds {spent} s")
        print(f"  {'':10s} RSS {f.rss_before:.0f} MiB before the first round, {f.rss_after:.0f} MiB after the last")
    boot, nginx = figures["bootserver"], figures["nginx"]
    wall_ratio = statistics.median(boot.wall) / statistics.median(nginx.wall)
    print(f"  ratio boot server / nginx: wall time {wall_ratio:.2f}, "
          f"CPU per GiB {per_gib['bootserver'] / max(per_gib['nginx'], 1e-9):.2f}, "
          f"RSS {boot.rss_after / max(nginx.rss_after, 1e-9):.2f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tls-clients", type=int, default=20, help="clients of the TLS storm (0: none)")
    parser.add_argument("--hosts", type=int, default=0, help="hosts (and boot tokens) in the caches during the run")
    args = parser.parse_args()
    plain = {"bootserver": Figures(), "nginx": Figures()}
    secure = {"bootserver": Figures(), "nginx": Figures()}
    with tempfile.TemporaryDirectory() as tmp, api_server(Path(tmp) / "api") as kubeconfig:
        work = Path(tmp)
        kube = Kube.connect(kubeconfig)
        kube.apply_crds()
        # The certificate the operator would make: the boot server opens its HTTPS port once it sees it.
        certificate, key = tls.self_signed()
        kube.ensure_namespace(DEFAULT_SYSTEM_NAMESPACE)
        kube.create(DEFAULT_SYSTEM_NAMESPACE, {
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": "boot-server-tls", "labels": {"oci.openstack.org/boot-server-tls": "true"}},
            "stringData": {"tls.crt": certificate, "tls.key": key},
        })  # fmt: skip
        port, tls_port = free_ports(2)
        (work / "nginx").mkdir()
        (work / "nginx" / "tls.crt").write_text(certificate)
        (work / "nginx" / "tls.key").write_text(key)
        conf = NGINX_CONF.format(dir=work / "nginx", port=port, tls_port=tls_port, root=NETBOOT)
        (work / "nginx.conf").write_text(conf)
        nginx = subprocess.Popen(["nginx", "-c", str(work / "nginx.conf")])
        try:
            wait_for(lambda: nginx.poll() is None and (work / "nginx" / "nginx.pid").exists(), 10, "nginx")
            with boot_server(kubeconfig, work / "bs", "--no-dhcp", images=NETBOOT) as server:
                pids = {"bootserver": server.process.pid, "nginx": nginx.pid}
                if args.hosts:
                    empty = rss_mib(server.process.pid)
                    started = time.monotonic()
                    create_hosts(kube, args.hosts)
                    wait_for(lambda: hosts_loaded(server, args.hosts), 600, f"{args.hosts} hosts in the boot server")
                    loaded = rss_mib(server.process.pid)
                    took = time.monotonic() - started
                    print(f"{args.hosts} hosts and boot tokens created and cached in {took:.0f} s; boot server RSS "
                          f"{empty:.0f} -> {loaded:.0f} MiB ({(loaded - empty) / args.hosts * 1000:.1f} MiB per 1,000 "
                          "hosts)", flush=True)  # fmt: skip
                bases = {"bootserver": f"{server.url}/v1/images", "nginx": f"http://127.0.0.1:{port}"}
                for name, pid in pids.items():
                    plain[name].rss_before = rss_mib(pid)
                for _ in range(args.rounds):
                    for name, pid in pids.items():
                        measured_storm(plain[name], pid, bases[name], args.clients, work)
                for name, pid in pids.items():
                    plain[name].rss_after = rss_mib(pid)
                if args.tls_clients:
                    wait_for(lambda: "HTTPS for agents" in server.log(), 60, "the boot server's HTTPS port")
                    bases = {
                        "bootserver": f"https://{server.agent_address}/v1/images",
                        "nginx": f"https://127.0.0.1:{tls_port}",
                    }
                    for name, pid in pids.items():
                        secure[name].rss_before = rss_mib(pid)
                    for _ in range(args.rounds):
                        for name, pid in pids.items():
                            measured_storm(secure[name], pid, bases[name], args.tls_clients, work, "--insecure")
                    for name, pid in pids.items():
                        secure[name].rss_after = rss_mib(pid)
        finally:
            nginx.terminate()
            nginx.wait()
    report("HTTP", args.clients, args.rounds, plain)
    if args.tls_clients:
        report("HTTPS (no sendfile on either side)", args.tls_clients, args.rounds, secure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
