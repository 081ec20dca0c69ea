#!/usr/bin/python3
"""oci-agent: converge this Debian host to the desired state of its NodeRole.

Standard library only: it runs on a freshly installed Debian with nothing but python3. The installer's
late_command puts it at /usr/local/sbin/oci-agent with its settings (/etc/oci-operator/agent.json) and
its credential (credential.json, root-only: its own token and the boot server's certificate, handed
over once during the installation) and enables its service, which runs `oci-agent run` once at boot as soon
as the network is up (a fresh host converges without waiting), and a timer that runs it again every few
minutes (5 by default; the NodeRole's `convergeIntervalSeconds` changes it through the desired state).

One run: fetch the desired state from the boot server over HTTPS that trusts only the pinned
certificate (the credential as a Bearer header; an ETag makes
an unchanged state cost one 304), apply each resource in order (apt packages, files, systemd units,
guarded commands, `puppet apply` of classes with hiera data), each idempotently, then report what
changed, drifted and failed. A run with nothing to do changes nothing on the host. Drift is a
resource that an earlier run applied with the same desired value and that had to be changed again.
"""

from __future__ import annotations

import argparse
import errno
import grp
import hashlib
import json
import os
import pwd
import shutil
import ssl
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

CONFIG = Path("/etc/oci-operator/agent.json")
# Handed over once by the installation: {"token", "server" (HTTPS host:port), "serverCertificate" (PEM)}.
CREDENTIAL = Path("/etc/oci-operator/credential.json")
STATE_DIR = Path("/var/lib/oci-agent")
APT_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
APT_LISTS_MAX_AGE = 3600.0
TAIL = 1500  # characters of an error kept in a report

SERVICE_UNIT = """[Unit]
Description=oci-operator node agent: converge this host to its NodeRole
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=/usr/bin/python3 /usr/local/sbin/oci-agent run

[Install]
WantedBy=multi-user.target
"""
DEFAULT_INTERVAL = 300  # seconds between runs unless the desired state says otherwise
TIMER_UNIT = """[Unit]
Description=Run the oci-operator node agent regularly (drift is repaired on the next run)

[Timer]
OnBootSec=5min
OnUnitActiveSec=5min
RandomizedDelaySec=30s

[Install]
WantedBy=timers.target
"""


@dataclass
class Outcome:
    name: str
    type: str
    changed: bool = False
    drift: bool = False
    failed: bool = False
    message: str = ""


@dataclass
class Run:
    """What one run knows: the previous run's fingerprints, and which files it changed."""

    previous: dict[str, str]
    fingerprints: dict[str, str] = field(default_factory=dict)
    changed_files: set[str] = field(default_factory=set)
    apt_updated: bool = False


def sh(args: list[str], env: dict[str, str] | None = None, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout, check=False)


def tail(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stderr.strip() or proc.stdout.strip())[-TAIL:]


# Packages ---------------------------------------------------------------------------------------
def installed_version(name: str) -> str | None:
    proc = sh(["dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Version}", name])
    if proc.returncode != 0 or not proc.stdout.startswith("ii"):
        return None
    return proc.stdout.split()[-1]


def refresh_apt_lists(run: Run) -> str | None:
    """apt-get update at most once a run, and only when the lists are missing or old."""
    if run.apt_updated:
        return None
    run.apt_updated = True
    lists = list(Path("/var/lib/apt/lists").glob("*_Packages"))
    if lists and time.time() - max(p.stat().st_mtime for p in lists) < APT_LISTS_MAX_AGE:
        return None
    proc = sh(["apt-get", "update", "-q"], env=APT_ENV)
    return None if proc.returncode == 0 else f"apt-get update failed: {tail(proc)}"


def apply_package(resource: dict[str, Any], run: Run) -> Outcome:
    name, version = resource["name"], resource.get("version")
    out = Outcome(name, "package")
    current = installed_version(name)
    if resource.get("state", "present") == "absent":
        if current is None:
            return out
        proc = sh(["apt-get", "remove", "-y", "-q", name], env=APT_ENV)
        out.changed, out.failed = proc.returncode == 0, proc.returncode != 0
        out.message = "removed" if out.changed else tail(proc)
        return out
    if current is not None and (version is None or current == version):
        return out
    problem = refresh_apt_lists(run)
    spec = f"{name}={version}" if version else name
    proc = sh(["apt-get", "install", "-y", "-q", "--no-install-recommends", spec], env=APT_ENV)
    if proc.returncode != 0:
        out.failed, out.message = True, (problem + "; " if problem else "") + tail(proc)
        return out
    out.changed = True
    out.message = f"installed {name} {installed_version(name) or ''}".strip()
    return out


# Files ------------------------------------------------------------------------------------------
class UnsafePath(OSError):
    """A path runs through a link that someone other than root could have planted."""


def _root_only(dir_fd: int) -> bool:
    """Only root can change what this directory holds: root's, not writable by group or others."""
    st = os.fstat(dir_fd)
    return st.st_uid == 0 and not st.st_mode & 0o022


def open_dir(path: Path, create: bool = False, mode: int = 0o755) -> int:
    """A descriptor of directory `path`, walked from / one component at a time (openat, O_NOFOLLOW).

    A symbolic link on the way is followed only when it sits in a directory that only root can
    change (/lib -> usr/lib on Debian); one in a directory a local user controls is refused, so a
    file resource under /home/alice/.config never writes or deletes outside it. Missing directories
    are created when `create`."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    parts = [p for p in str(path).split("/") if p]
    fd = os.open("/", flags)
    links = 0
    try:
        while parts:
            name = parts.pop(0)
            if name == ".":
                continue
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                if not create or name == "..":
                    raise
                os.mkdir(name, mode, dir_fd=fd)
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > 40 or not _root_only(fd):
                    raise UnsafePath(errno.ELOOP, "a symbolic link in a directory not only root can change", name)
                target = os.readlink(name, dir_fd=fd)
                parts = [p for p in target.split("/") if p] + parts
                if target.startswith("/"):
                    os.close(fd)
                    fd = os.open("/", flags)
                continue
            child = os.open(name, flags, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _same_file(dir_fd: int, name: str, content: bytes, mode: int, uid: int, gid: int) -> bool:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return False  # absent, or a link (ELOOP): either way it must be (re)written
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_mode & 0o7777, st.st_uid, st.st_gid) != (mode, uid, gid):
            return False
        if st.st_size != len(content):
            return False
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read() == content
    finally:
        os.close(fd)


def write_file(path: Path, content: bytes, mode: int = 0o600, uid: int = 0, gid: int = 0) -> bool:
    """Write `path` atomically unless it already holds exactly this; True when it was written.

    The new file is created with no access for anyone (0600 until fchmod), owned as asked, then
    renamed over the old one inside its directory: readers never see half a file, and a link in
    place of the file is replaced, never followed."""
    dir_fd = open_dir(path.parent, create=True)
    try:
        if _same_file(dir_fd, path.name, content, mode, uid, gid):
            return False
        tmp = f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, 0o600, dir_fd=dir_fd)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
        except BaseException:
            os.close(fd)
            os.unlink(tmp, dir_fd=dir_fd)
            raise
        os.close(fd)
        os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return True
    finally:
        os.close(dir_fd)


def remove_file(path: Path) -> bool:
    """Remove `path` (a link itself, never what it points to); True when there was one."""
    try:
        dir_fd = open_dir(path.parent)
    except FileNotFoundError:
        return False
    try:
        os.unlink(path.name, dir_fd=dir_fd)
        return True
    except FileNotFoundError:
        return False
    finally:
        os.close(dir_fd)


def apply_file(resource: dict[str, Any], run: Run) -> Outcome:
    path = Path(resource["path"])
    out = Outcome(resource["name"], "file")
    try:
        if resource.get("state", "present") == "absent":
            if remove_file(path):
                out.changed, out.message = True, f"removed {path}"
            return out
        content = resource.get("content", "").encode()
        mode = int(resource.get("mode", "0644"), 8)
        try:
            uid = pwd.getpwnam(resource.get("owner", "root")).pw_uid
            gid = grp.getgrnam(resource.get("group", "root")).gr_gid
        except KeyError as exc:
            out.failed, out.message = True, f"unknown owner or group: {exc}"
            return out
        if not write_file(path, content, mode, uid, gid):
            return out
    except OSError as exc:
        out.failed, out.message = True, f"{path}: {exc}"
        return out
    run.changed_files.add(resource["name"])
    out.changed, out.message = True, f"wrote {path}"
    return out


# systemd units ----------------------------------------------------------------------------------
def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def apply_service(resource: dict[str, Any], run: Run) -> Outcome:
    unit = resource["name"] if "." in resource["name"] else f"{resource['name']}.service"
    out = Outcome(resource["name"], "service")
    notes: list[str] = []
    enabled = resource.get("enabled")
    if enabled is not None:
        state = sh(["systemctl", "is-enabled", unit]).stdout.strip()
        is_enabled = state in ("enabled", "enabled-runtime", "alias", "static", "indirect")
        if is_enabled != enabled:
            proc = sh(["systemctl", "enable" if enabled else "disable", unit])
            if proc.returncode != 0:
                out.failed, out.message = True, tail(proc)
                return out
            out.changed = True
            notes.append("enabled" if enabled else "disabled")
    running = resource.get("running")
    restart = [name for name in resource.get("restartOn", []) if name in run.changed_files]
    if running is not None or restart:
        if not systemd_running():
            notes.append("running state not managed: systemd is not running here (chroot or container)")
        else:
            active = sh(["systemctl", "is-active", unit]).stdout.strip() == "active"
            action = None
            if running and not active:
                action = "start"
            elif running is False and active:
                action = "stop"
            elif restart and active:
                action = "restart"
            if action:
                proc = sh(["systemctl", action, unit])
                if proc.returncode != 0:
                    out.failed, out.message = True, tail(proc)
                    return out
                out.changed = True
                notes.append(f"{action}ed" + (f" ({', '.join(restart)} changed)" if action == "restart" else ""))
    out.message = "; ".join(notes)
    return out


# Commands ---------------------------------------------------------------------------------------
def apply_command(resource: dict[str, Any], run: Run) -> Outcome:
    out = Outcome(resource["name"], "command")
    creates, unless = resource.get("creates"), resource.get("unless")
    if creates and Path(creates).exists():
        return out
    if unless and sh(["/bin/sh", "-c", unless]).returncode == 0:
        return out
    proc = sh(["/bin/sh", "-c", resource["command"]])
    out.changed, out.failed = proc.returncode == 0, proc.returncode != 0
    out.message = f"exit {proc.returncode}" + (f": {tail(proc)}" if proc.returncode else "")
    return out


# Puppet ----------------------------------------------------------------------------------------
PUPPET_DIR = Path("/etc/oci-operator/puppet")
HIERA_CONFIG = """---
version: 5
defaults:
  datadir: data
  data_hash: yaml_data
hierarchy:
  - name: "oci-operator"
    path: "common.yaml"
"""


def apply_puppet(resource: dict[str, Any], run: Run) -> Outcome:
    """`puppet apply` with --detailed-exitcodes: 0 nothing to do, 2 changes made, 4 or 6 failures."""
    out = Outcome(resource["name"], "puppet")
    puppet = shutil.which("puppet") or ("/usr/bin/puppet" if Path("/usr/bin/puppet").exists() else None)
    if puppet is None:
        out.failed, out.message = True, "puppet is not installed (list a package resource 'puppet' before this one)"
        return out
    base = PUPPET_DIR / resource["name"]
    classes = "".join(f"include {name}\n" for name in resource.get("classes", []))
    site = f"{classes}{resource.get('manifest') or ''}\n"
    for path, text in (
        (base / "site.pp", site),
        (base / "hiera.yaml", HIERA_CONFIG),
        (base / "data/common.yaml", resource.get("hiera") or "---\n"),  # may hold secrets: 0600 from birth
    ):
        write_file(path, text.encode(), 0o600)
    proc = sh([puppet, "apply", "--detailed-exitcodes", "--color=false", f"--hiera_config={base / 'hiera.yaml'}",
               str(base / "site.pp")])  # fmt: skip
    if proc.returncode in (0, 2):
        out.changed = proc.returncode == 2
        changes = [line for line in proc.stdout.splitlines() if "Notice: /Stage" in line]
        out.message = "; ".join(changes)[-TAIL:]
        return out
    out.failed, out.message = True, f"puppet apply exit {proc.returncode}: {tail(proc)}"
    return out


APPLY = {
    "package": apply_package,
    "file": apply_file,
    "service": apply_service,
    "command": apply_command,
    "puppet": apply_puppet,
}


# The agent's own schedule --------------------------------------------------------------------------
TIMER_DROPIN = Path("/etc/systemd/system/oci-agent.timer.d/interval.conf")


def timer_dropin(seconds: int) -> str:
    """The timer's override for a run every `seconds`; the random spread stays a tenth of it (at most 30 s,
    as the packaged timer's) so that a fleet does not call the boot server all at once."""
    spread = min(30, seconds // 10)
    # An empty assignment clears the packaged timer's value (a timer keeps every OnUnitActiveSec= it is given).
    return (
        f"[Timer]\nOnBootSec=\nOnBootSec={seconds}s\nOnUnitActiveSec=\nOnUnitActiveSec={seconds}s\n"
        f"RandomizedDelaySec={spread}s\n"
    )


def apply_schedule(desired: dict[str, Any], dropin: Path = TIMER_DROPIN, systemd: bool | None = None,
                   uid: int = 0, gid: int = 0) -> Outcome | None:  # fmt: skip
    """Set the timer to the interval the desired state asks for (`agent.intervalSeconds`; none: the
    packaged 5 minutes), reloaded when systemd runs here. An outcome only when something changed or failed."""
    seconds = (desired.get("agent") or {}).get("intervalSeconds")
    out = Outcome("oci-agent.timer", "schedule")
    try:
        if seconds is None or int(seconds) == DEFAULT_INTERVAL:
            if not remove_file(dropin):
                return None
            out.message = f"back to every {DEFAULT_INTERVAL}s"
        else:
            if not write_file(dropin, timer_dropin(int(seconds)).encode(), 0o644, uid, gid):
                return None
            out.message = f"every {int(seconds)}s"
    except (OSError, ValueError) as exc:
        out.failed, out.message = True, f"{dropin}: {exc}"
        return out
    out.changed = True
    if systemd_running() if systemd is None else systemd:
        for args in (["daemon-reload"], ["restart", "oci-agent.timer"]):
            proc = sh(["systemctl", *args])
            if proc.returncode != 0:
                out.failed, out.message = True, tail(proc)
                break
    return out


def fingerprint(resource: dict[str, Any]) -> str:
    """What the resource asks for; equal fingerprints mean the same desired value."""
    return hashlib.sha256(json.dumps(resource, sort_keys=True).encode()).hexdigest()[:16]


def apply(desired: dict[str, Any], run: Run) -> list[Outcome]:
    outcomes = []
    for resource in desired.get("resources", []):
        key = f"{resource['type']}/{resource['name']}"
        try:
            out = APPLY[resource["type"]](resource, run)
        except Exception as exc:  # one broken resource must not stop the others
            out = Outcome(resource.get("name", "?"), resource.get("type", "?"), failed=True, message=repr(exc)[-TAIL:])
        wanted = fingerprint(resource)
        # Drift: an earlier run applied this very value, yet this run had to change it again (a restart
        # because a file of its restartOn changed in this run is that change's doing, not drift).
        caused = bool(run.changed_files.intersection(resource.get("restartOn", [])))
        out.drift = out.changed and run.previous.get(key) == wanted and not caused
        if not out.failed:
            run.fingerprints[key] = wanted
        outcomes.append(out)
    return outcomes


# Talking to the boot server ---------------------------------------------------------------------
def pinned(certificate: str) -> ssl.SSLContext:
    """TLS that trusts exactly the boot server's own certificate (handed over with the credential): the
    network cannot stand in for the server, and the credential never travels in clear."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False  # the pin is the identity: the address may change, the key may not
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=certificate)
    return context


def request(config: dict[str, str], credential: dict[str, str], path: str, body: bytes | None = None,
            etag: str | None = None) -> tuple[int, bytes, dict[str, str]]:  # fmt: skip
    """Status, body and headers of one call to the boot server (status 0: unreachable or not it)."""
    url = f"https://{credential['server']}/v1/hosts/{config['mac']}{path}"
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    req.add_header("Authorization", f"Bearer {credential['token']}")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if etag:
        req.add_header("If-None-Match", etag)
    try:
        context = pinned(credential["serverCertificate"])
        with urllib.request.urlopen(req, timeout=30, context=context) as response:  # noqa: S310 - https only
            return response.status, response.read(), dict(response.headers.items())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers.items())
    except urllib.error.URLError as exc:  # unreachable, or not the server we pinned: nothing applied
        return 0, str(exc.reason).encode(), {}


def adopt_successor(path: Path, credential: dict[str, str], headers: dict[str, str]) -> dict[str, str]:
    """Rotation: the server offered a new credential (over the pinned HTTPS only): keep it (root-only
    file, replaced atomically) and use it from now on; its first use retires the old one."""
    successor = headers.get("X-OCI-Agent-Credential", "").strip()
    if not successor or successor == credential.get("token"):
        return credential
    updated = {**credential, "token": successor}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(updated))
    os.replace(tmp, path)
    print("oci-agent: switched to the credential the boot server rotated in")
    return updated


def load_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    except (OSError, ValueError):
        return {}


def save_json(path: Path, data: dict[str, Any]) -> None:
    """Only when it changed: a run with nothing to do writes nothing."""
    write_file(path, (json.dumps(data, sort_keys=True, indent=1) + "\n").encode(), 0o600)


def run_once(args: argparse.Namespace) -> int:
    started = time.monotonic()
    state_file, cache_file = args.state_dir / "state.json", args.state_dir / "desired.json"
    state = load_json(state_file)
    config: dict[str, str] = {}
    credential: dict[str, str] = {}
    if args.desired:
        desired = load_json(args.desired)
    else:
        config, credential = load_json(args.config), load_json(args.credential_file)
        if not all(credential.get(k) for k in ("token", "server", "serverCertificate")):
            print(f"oci-agent: {args.credential_file}: no usable credential", file=sys.stderr)
            return 2
        cached = load_json(cache_file)
        etag = f'"{cached["hash"]}"' if cached.get("hash") else None
        status, body, headers = request(config, credential, "/desired-state", etag=etag)
        credential = adopt_successor(args.credential_file, credential, headers)
        if status == 304:
            desired = cached
        elif status == 200:
            desired = json.loads(body)
            save_json(cache_file, desired)
        else:
            print(f"oci-agent: desired state: HTTP {status}: {body[:300]!r}", file=sys.stderr)
            return 2
    run = Run(previous=state.get("fingerprints", {}))
    outcomes = apply(desired, run)
    if not args.desired and (schedule := apply_schedule(desired)) is not None:
        outcomes.append(schedule)
    save_json(state_file, {"hash": desired.get("hash", ""), "fingerprints": run.fingerprints})
    report = {
        "appliedHash": desired.get("hash", ""),
        "time": datetime.now(timezone.utc).isoformat(),  # noqa: UP017 - runs on older Pythons too
        "durationSeconds": round(time.monotonic() - started, 3),
        "changed": sum(o.changed for o in outcomes),
        "drifted": sum(o.drift for o in outcomes),
        "failed": sum(o.failed for o in outcomes),
        "resources": [asdict(o) for o in outcomes if o.changed or o.drift or o.failed],
    }
    if args.report_file:
        args.report_file.write_text(json.dumps(report, indent=1))
    if not args.desired:
        status, body, _ = request(config, credential, "/convergence", json.dumps(report).encode())
        if status != 200:
            print(f"oci-agent: report: HTTP {status}: {body[:300]!r}", file=sys.stderr)
    for o in outcomes:
        if o.changed or o.failed:
            flag = "FAILED" if o.failed else ("drift repaired" if o.drift else "changed")
            print(f"oci-agent: {o.type} {o.name}: {flag}: {o.message}")
    print(f"oci-agent: {report['changed']} changed, {report['drifted']} drifted, {report['failed']} failed "
          f"in {report['durationSeconds']}s")  # fmt: skip
    return 1 if report["failed"] else 0


def install(args: argparse.Namespace) -> int:
    """Install the systemd service (a run at boot) and timer and enable both (works without a running
    systemd)."""
    units = Path("/etc/systemd/system")
    units.mkdir(parents=True, exist_ok=True)
    (units / "oci-agent.service").write_text(SERVICE_UNIT)
    (units / "oci-agent.timer").write_text(TIMER_UNIT)
    if shutil.which("systemctl"):
        proc = sh(["systemctl", "enable", "oci-agent.service", "oci-agent.timer"])
        if proc.returncode != 0:
            print(f"oci-agent: systemctl enable: {tail(proc)}", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="oci-agent", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="converge once and report")
    run.add_argument("--config", type=Path, default=CONFIG)
    run.add_argument("--credential-file", type=Path, default=CREDENTIAL)
    run.add_argument("--state-dir", type=Path, default=STATE_DIR)
    run.add_argument("--desired", type=Path, help="apply this document instead of fetching one (no report sent)")
    run.add_argument("--report-file", type=Path, help="also write the run report here")
    run.set_defaults(func=run_once)
    inst = sub.add_parser("install", help="install and enable the systemd service and timer")
    inst.set_defaults(func=install)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
