"""The node agent's no-op run against two peers on the same Debian root, in the same run.

Resources: one apt package, N files, one systemd unit file and its enablement. The agent runs as its
systemd timer runs it: `oci-agent run` fetches the desired state from the real boot server (a real API
server, the operator and a simulated node provisioned with a NodeRole holding these resources), applies
it, and posts its report. Each tool first converges the root, then its no-op runs are timed as whole
commands (process start included, which is what a timer pays), in interleaved rounds. Peers: `puppet
apply` of the same resources (Debian's puppet 7, what OCI uses today) and a shell script doing the same
checks. The agent applying a local document (no fetch, no report) is printed too, for the network's share."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from support.bmcsim import bmc_sim  # noqa: E402
from support.bootserver import boot_server  # noqa: E402
from support.cluster import api_server  # noqa: E402
from support.debian_root import DebianRoot, base_root, debian_root  # noqa: E402
from support.hosts import agent_installed, provisioned_host  # noqa: E402
from support.kube import Kube  # noqa: E402
from support.operator_process import operator_process  # noqa: E402
from support.waiting import wait_for  # noqa: E402

# Paths inside the Debian root (its /tmp is the test's own overlay).
DESIRED, SITE, CHECKS, REPORT = "/tmp/desired.json", "/tmp/site.pp", "/tmp/checks.sh", "/tmp/r.json"  # noqa: S108
UNIT = "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"


def document(files: int) -> dict[str, object]:
    resources: list[dict[str, object]] = [{"type": "package", "name": "hello", "state": "present"}]
    resources += [
        {"type": "file", "name": f"f{i}", "path": f"/etc/oci-bench/f{i}.conf", "content": f"value={i}\n" * 20,
         "owner": "root", "group": "root", "mode": "0644", "state": "present"}
        for i in range(files)
    ]  # fmt: skip
    unit = {"type": "file", "name": "unit", "path": "/etc/systemd/system/oci-bench.service", "content": UNIT}
    resources.append({**unit, "owner": "root", "group": "root", "mode": "0644", "state": "present"})
    resources.append({"type": "service", "name": "oci-bench", "enabled": True})
    return {"hash": "bench", "resources": resources}


def role(files: int) -> dict[str, object]:
    """The same resources as a NodeRole (files are templates without placeholders)."""
    resources = []
    for resource in document(files)["resources"]:  # type: ignore[attr-defined]
        resource = dict(resource)
        if "content" in resource:
            resource["template"] = resource.pop("content")
        resources.append(resource)
    return {"apiVersion": "oci.openstack.org/v1alpha1", "kind": "NodeRole", "metadata": {"name": "bench"},
            "spec": {"resources": resources}}  # fmt: skip


def manifest(files: int) -> str:
    lines = ["package { 'hello': ensure => installed }", "file { '/etc/oci-bench-pp': ensure => directory }"]
    for i in range(files):
        content = json.dumps(f"value={i}\n" * 20)
        lines.append(f"file {{ '/etc/oci-bench-pp/f{i}.conf': content => {content}, mode => '0644' }}")
    lines.append(f"file {{ '/etc/systemd/system/oci-bench-pp.service': content => {json.dumps(UNIT)} }}")
    # puppet's systemd provider refuses to work without a running systemd (a chroot): the same check
    # and action as the agent's, as an exec.
    lines.append(
        "exec { 'enable oci-bench-pp': command => '/bin/systemctl enable oci-bench-pp.service',"
        " unless => '/bin/systemctl is-enabled -q oci-bench-pp.service' }"
    )
    return "\n".join(lines) + "\n"


def shell(files: int) -> str:
    checks = ["dpkg-query -W -f='${db:Status-Abbrev}' hello | grep -q '^ii'"]
    checks += [f"printf 'value={i}\\n%.0s' $(seq 20) | cmp -s - /etc/oci-bench/f{i}.conf" for i in range(files)]
    checks.append("systemctl is-enabled -q oci-bench.service")
    return "set -e\n" + "\n".join(checks) + "\n"


def timed(root: DebianRoot, *cmd: str, ok: tuple[int, ...] = (0,)) -> float:
    started = time.monotonic()
    proc = root.chroot(*cmd)
    seconds = time.monotonic() - started
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stdout[-800:]}{proc.stderr[-800:]}")
    return seconds


def measure(root: DebianRoot, files: int, runs: int, kube: Kube, namespace: str) -> dict[str, list[float]]:
    (root.path / DESIRED.lstrip("/")).write_text(json.dumps(document(files)))
    (root.path / SITE.lstrip("/")).write_text(manifest(files))
    (root.path / CHECKS.lstrip("/")).write_text(shell(files))
    timer = ("python3", "/usr/local/sbin/oci-agent", "run")  # what oci-agent.service runs
    local = (*timer, "--desired", DESIRED, "--state-dir", "/var/lib/oci-agent-local")  # its own fingerprints
    setup = root.chroot(*timer)  # converges: installs hello, writes the files, enables the unit
    assert setup.returncode == 0, setup.stdout + setup.stderr
    install = root.chroot("apt-get", "install", "-y", "-q", "--no-install-recommends", "puppet")
    assert install.returncode == 0, install.stderr[-800:]
    puppet = ("puppet", "apply", "--detailed-exitcodes", SITE)
    timed(root, *puppet, ok=(0, 2))  # converge the puppet copy of the resources
    commands = {
        "oci-agent (timer: fetch, apply, report)": timer,
        "oci-agent (local document)": local,
        "puppet apply": puppet,
        "shell checks": ("sh", CHECKS),
    }
    results: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(runs):  # interleaved rounds: a machine slowing down weighs on every tool alike
        for name, cmd in commands.items():
            if name == "puppet apply" and round_ % 2:
                continue  # puppet is slow: every other round
            results[name].append(timed(root, *cmd))
    noop = root.chroot(*timer, "--report-file", REPORT)
    report = json.loads((root.path / REPORT.lstrip("/")).read_text())
    assert report["changed"] == 0, noop.stdout
    results["agent's own measure"] = [report["durationSeconds"]]
    wait_for(  # the report reached the host's status through the boot server
        lambda: (
            kube.get(namespace, "BareMetalHost", "bench-1")["status"].get("convergence", {}).get("appliedHash")
            == report["appliedHash"]
        ),
        60,
        "the agent's report on the host",
    )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        with api_server(tmp / "apiserver") as kubeconfig:
            kube = Kube.connect(kubeconfig)
            kube.apply_crds()
            namespace = kube.new_namespace("bench-")
            (tmp / "operator").mkdir()
            with (
                boot_server(kubeconfig, tmp / "bootserver", "--no-dhcp") as server,
                bmc_sim(tmp / "nodes", 1, "--prefix", "srv", "--first-mac", "52:54:00:5e:00:00",
                        "--boot-server", server.url, "--install-seconds", "0.3") as nodes,
                operator_process(kubeconfig, tmp / "operator", "--namespace", namespace,
                                 "--boot-poll-interval", "0.5", "--power-poll-interval", "2"),
                debian_root(base_root(), tmp / "debian") as root,
            ):  # fmt: skip
                kube.create(namespace, role(args.files))
                bmc = nodes.take()
                provisioned_host(kube, namespace, "bench-1", bmc, "bench")
                agent_installed(kube, namespace, "bench-1", bmc.mac, server.url, root)
                results = measure(root, args.files, args.runs, kube, namespace)
    own = results.pop("agent's own measure")[0]
    print(f"no-op run over 1 package, {args.files} files, 1 unit file + enablement (median of interleaved runs):")
    medians = {name: statistics.median(t) for name, t in results.items()}
    for name, median in medians.items():
        print(f"  {name:40s} {median * 1000:8.1f} ms   ({len(results[name])} runs)")
    agent = medians["oci-agent (timer: fetch, apply, report)"]
    print(f"  ratio oci-agent (timer) / puppet apply: {agent / medians['puppet apply']:.3f}")
    print(f"  ratio oci-agent (timer) / shell checks: {agent / medians['shell checks']:.2f}")
    print(
        f"  ratio oci-agent (timer) / oci-agent (local document): {agent / medians['oci-agent (local document)']:.2f}"
    )
    print(f"  the agent's own measure of its last no-op run (fetch, apply, report): {own * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
