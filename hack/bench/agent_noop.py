"""The node agent's no-op run against two peers on the same Debian root, in the same run.

Resources: one apt package, N files, one systemd unit file and its enablement (plus, for the agent,
nothing else). Each tool first converges the root, then its no-op runs are timed as whole commands
(process start included, which is what a systemd timer pays). Peers: `puppet apply` of the same
resources (Debian's puppet 7, what OCI uses today) and a shell script doing the same checks."""

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

from support.debian_root import DebianRoot, base_root, debian_root  # noqa: E402

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


def timed(root: DebianRoot, runs: int, *cmd: str, ok: tuple[int, ...] = (0,)) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.monotonic()
        proc = root.chroot(*cmd)
        times.append(time.monotonic() - started)
        if proc.returncode not in ok:
            raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stdout[-800:]}{proc.stderr[-800:]}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, debian_root(base_root(), Path(tmp)) as root:
        root.install_agent("127.0.0.1:9", "52:54:00:00:00:01", "bench", "unused")
        (root.path / DESIRED.lstrip("/")).write_text(json.dumps(document(args.files)))
        (root.path / SITE.lstrip("/")).write_text(manifest(args.files))
        (root.path / CHECKS.lstrip("/")).write_text(shell(args.files))
        agent = ("python3", "/usr/local/sbin/oci-agent", "run", "--desired", DESIRED)
        setup = root.chroot(*agent)  # converges: installs hello, writes the files, enables the unit
        assert setup.returncode == 0, setup.stdout + setup.stderr
        install = root.chroot("apt-get", "install", "-y", "-q", "--no-install-recommends", "puppet")
        assert install.returncode == 0, install.stderr[-800:]
        puppet = ("puppet", "apply", "--detailed-exitcodes", SITE)
        timed(root, 1, *puppet, ok=(0, 2))  # converge the puppet copy of the resources
        results = {
            "oci-agent": timed(root, args.runs, *agent),
            "puppet apply": timed(root, max(3, args.runs // 2), *puppet),
            "shell checks": timed(root, args.runs, "sh", CHECKS),
        }
        noop = root.chroot(*agent, "--report-file", REPORT)
        report = json.loads((root.path / REPORT.lstrip("/")).read_text())
        assert report["changed"] == 0, noop.stdout
    print(f"no-op run over 1 package, {args.files} files, 1 unit file + enablement (median of timed runs):")
    medians = {name: statistics.median(t) for name, t in results.items()}
    for name, median in medians.items():
        print(f"  {name:13s} {median * 1000:8.1f} ms   ({len(results[name])} runs)")
    print(f"  ratio oci-agent / puppet apply: {medians['oci-agent'] / medians['puppet apply']:.3f}")
    print(f"  ratio oci-agent / shell checks: {medians['oci-agent'] / medians['shell checks']:.2f}")
    print(f"  the agent's own measure of its last no-op run: {report['durationSeconds'] * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
