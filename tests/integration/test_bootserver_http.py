"""The boot server's HTTP side with real clients (curl): scripts by MAC and state, tokens, images.

Hosts here use simulated BMCs with no server behind them, so they stay in their inspection job:
the token is issued and nothing calls back, which is what these checks need."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from support.bmcsim import SimControl
from support.bootserver import BootServerProcess
from support.hosts import boot_token, create_booting_host, state, status
from support.kube import Kube
from support.operator_process import OperatorProcess
from support.waiting import wait_for

TIMEOUT = 60
MAC_A, MAC_B = "52:54:00:b0:07:0a", "52:54:00:b0:07:0b"


def curl(url: str, *args: str) -> tuple[int, bytes]:
    """Status code and body, as curl sees them (no shell; --path-as-is keeps ../ in the request)."""
    out = subprocess.run(
        ["curl", "-sS", "--path-as-is", "-o", "-", "-w", "\n%{http_code}", *args, url],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    body, _, code = out.rpartition(b"\n")
    return int(code), body


@pytest.fixture
def inspecting(
    kube: Kube, namespace: str, sim: SimControl, operator: OperatorProcess, bootserver: BootServerProcess
) -> dict[str, str]:
    """Two hosts in their inspection job; their tokens, by MAC."""
    tokens = {}
    for name, mac in (("boot-a", MAC_A), ("boot-b", MAC_B)):
        create_booting_host(kube, namespace, name, sim.take(), mac)
    for name, mac in (("boot-a", MAC_A), ("boot-b", MAC_B)):
        tokens[mac] = wait_for(lambda n=name: boot_token(kube, namespace, n), TIMEOUT, f"{name}'s boot token")
        assert state(kube, namespace, name) == "inspecting"
    return tokens


def path(mac: str) -> str:
    return mac.replace(":", "-")


def test_every_pxe_client_is_chained_to_its_own_script(bootserver: BootServerProcess) -> None:
    code, body = curl(f"{bootserver.url}/boot.ipxe")
    assert code == 200
    assert body.startswith(b"#!ipxe")
    assert b"/v1/boot/${netX/mac:hexhyp}.ipxe" in body


def test_an_unknown_mac_boots_its_disk_and_creates_nothing(bootserver: BootServerProcess, kube: Kube) -> None:
    code, body = curl(f"{bootserver.url}/v1/boot/52-54-00-de-ad-01.ipxe")
    assert code == 200
    assert b"\nexit" in body
    assert b"kernel" not in body
    hosts = kube.custom.list_cluster_custom_object("oci.openstack.org", "v1alpha1", "baremetalhosts")["items"]
    assert not [h for h in hosts if h["spec"]["bootMACAddress"] == "52:54:00:de:ad:01"]  # discovery is off


def test_a_host_in_inspection_gets_the_installer_with_its_preseed_url(
    bootserver: BootServerProcess, inspecting: dict[str, str]
) -> None:
    code, body = curl(f"{bootserver.url}/v1/boot/{path(MAC_A)}.ipxe")
    assert code == 200
    text = body.decode()
    assert "kernel http://" in text
    assert "/v1/images/linux" in text
    assert "initrd http://" in text
    # The token rides in the URL's user part: the installer's wget turns it into a header.
    assert f"url=http://{path(MAC_A)}:{inspecting[MAC_A]}@" in text
    # iPXE's own spelling of the MAC works too (upper case).
    assert curl(f"{bootserver.url}/v1/boot/{path(MAC_A).upper()}.ipxe")[0] == 200


def test_preseed_needs_the_hosts_own_token(bootserver: BootServerProcess, inspecting: dict[str, str]) -> None:
    url = f"{bootserver.url}/v1/hosts/{path(MAC_A)}/preseed.cfg"
    code, _ = curl(url)
    assert code == 401
    headers = subprocess.run(["curl", "-sS", "-D", "-", "-o", "/dev/null", url], capture_output=True, check=True)
    assert b'WWW-Authenticate: Basic realm="oci-operator"' in headers.stdout
    assert curl(url, "-u", f"{path(MAC_A)}:not-the-token")[0] == 403
    assert curl(url, "-u", f"{path(MAC_A)}:{inspecting[MAC_B]}")[0] == 403  # another host's token
    assert curl(url, "-H", f"Authorization: Bearer {inspecting[MAC_B]}")[0] == 403
    code, body = curl(url, "-u", f"{path(MAC_A)}:{inspecting[MAC_A]}")
    assert code == 200
    assert b"d-i preseed/early_command string" in body
    assert b"oci-report.sh" in body
    assert b" inspected;" in body


def test_reports_are_checked(bootserver: BootServerProcess, inspecting: dict[str, str], tmp_path: Path) -> None:
    url = f"{bootserver.url}/v1/hosts/{path(MAC_A)}/report"
    auth = ("-u", f"{path(MAC_A)}:{inspecting[MAC_A]}", "-H", "Content-Type: application/json")
    assert curl(url, "-X", "POST", "-d", '{"event": "inspected"}')[0] == 401
    assert curl(url, "-u", f"{path(MAC_A)}:{inspecting[MAC_B]}", "-d", '{"event": "failed"}')[0] == 403
    assert curl(url, *auth, "-d", "not json")[0] == 422
    assert curl(url, *auth, "-d", '{"event": "rm -rf /"}')[0] == 422
    assert curl(url, *auth, "-d", '{"event": "inspected"}')[0] == 422  # no hardware
    assert curl(url, *auth, "-d", '{"event": "installed"}')[0] == 409  # not an installation job
    big = tmp_path / "big.json"
    big.write_text("x" * 300_000)
    assert curl(url, *auth, "--data-binary", f"@{big}")[0] == 413


def test_the_agents_endpoints_need_a_provisioned_host(
    bootserver: BootServerProcess, inspecting: dict[str, str]
) -> None:
    bearer = ("-H", f"Authorization: Bearer {inspecting[MAC_A]}")
    assert curl(f"{bootserver.url}/v1/hosts/{path(MAC_A)}/desired-state", *bearer)[0] == 409
    code, _ = curl(f"{bootserver.url}/v1/hosts/{path(MAC_A)}/convergence", *bearer, "-d", "{}")
    assert code == 409
    assert curl(f"{bootserver.url}/v1/hosts/{path(MAC_A)}/desired-state")[0] == 401


@pytest.mark.parametrize(
    "bad",
    [
        "/v1/boot/52-54-00-zz-00-01.ipxe",
        "/v1/boot/52:54:00:00:00.ipxe",
        "/v1/hosts/not-a-mac/preseed.cfg",
        "/v1/hosts/..%2f..%2fetc/preseed.cfg",
    ],
)
def test_malformed_macs_are_400(bootserver: BootServerProcess, bad: str) -> None:
    code, body = curl(bootserver.url + bad)
    assert code == 400, body


@pytest.mark.parametrize(
    "bad",
    [
        "/v1/images/../../../../etc/passwd",
        "/v1/images/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/v1/images/%2e%2e/%2e%2e/etc/passwd",
        "/v1/images/.hidden",
        "/v1/images/outside",  # a symlink in the images directory pointing out of it
        "/v1/images/",
    ],
)
def test_no_file_outside_the_images_directory(bootserver: BootServerProcess, bad: str) -> None:
    outside = bootserver.images.parent / "secret.txt"
    outside.write_text("root:x:0:0:do not serve me\n")
    link = bootserver.images / "outside"
    if not link.is_symlink():
        link.symlink_to(outside)
    code, body = curl(bootserver.url + bad)
    assert 400 <= code < 500, (code, body[:200])
    assert b"root:" not in body


def test_images_are_served_whole_and_by_range(bootserver: BootServerProcess) -> None:
    kernel = (bootserver.images / "linux").read_bytes()
    code, body = curl(f"{bootserver.url}/v1/images/linux")
    assert code == 200
    assert body == kernel
    code, body = curl(f"{bootserver.url}/v1/images/linux", "-r", "1000-1999")
    assert code == 206
    assert body == kernel[1000:2000]


def test_no_token_lands_in_the_boot_server_log(bootserver: BootServerProcess, inspecting: dict[str, str]) -> None:
    curl(f"{bootserver.url}/v1/boot/{path(MAC_A)}.ipxe")
    curl(f"{bootserver.url}/v1/hosts/{path(MAC_A)}/preseed.cfg", "-u", f"x:{inspecting[MAC_A]}")
    log = bootserver.log()
    assert "GET /v1/hosts/" in log  # the access log is on, and it is the one being checked
    for token in inspecting.values():
        assert token not in log


def test_a_report_cannot_inject_and_a_422_does_not_echo_it(
    bootserver: BootServerProcess, inspecting: dict[str, str]
) -> None:
    """Issue 16 #3 and the 422 body: a disk name with shell or preseed syntax is refused, unquoted."""
    url = f"{bootserver.url}/v1/hosts/{path(MAC_A)}/report"
    auth = ("-u", f"{path(MAC_A)}:{inspecting[MAC_A]}", "-H", "Content-Type: application/json")
    for name in ("/dev/sda; wget evil-payload", "/dev/sda\nd-i preseed/late_command string evil-payload"):
        forged = {"event": "inspected", "hardware": {"disks": [{"name": name}]}, "evil-payload": 1}
        code, body = curl(url, *auth, "-d", json.dumps(forged))
        assert code == 422, body
        assert b"disks.0.name" in body
        assert b"evil-payload" not in body


def test_a_report_after_the_job_ended_is_refused_with_a_trace_on_the_host(
    bootserver: BootServerProcess, inspecting: dict[str, str], kube: Kube, namespace: str
) -> None:
    """Issue 16 #3: whoever sent the first final report, the real node's later one is not silently lost."""
    url = f"{bootserver.url}/v1/hosts/{path(MAC_A)}/report"
    auth = ("-u", f"{path(MAC_A)}:{inspecting[MAC_A]}", "-H", "Content-Type: application/json")
    report = {"event": "inspected", "hardware": {"disks": [{"name": "/dev/sda", "sizeBytes": 10**12}]}}
    assert curl(url, *auth, "-d", json.dumps(report))[0] == 200  # first (say, forged) report
    wait_for(
        lambda: (status(kube, namespace, "boot-a").get("bootReport") or {}).get("step") == "inspected",
        TIMEOUT,
        "the report",
    )
    # The real node, later: refused (once the boot server has seen the first report), with a trace.
    wait_for(lambda: curl(url, *auth, "-d", json.dumps(report))[0] == 409, TIMEOUT, "the late report refused")
    boot_report = wait_for(
        lambda: (r := status(kube, namespace, "boot-a").get("bootReport") or {}).get("refused") and r,
        TIMEOUT,
        "the refusal on the host",
    )
    assert boot_report["source"] == "127.0.0.1"
    assert "from 127.0.0.1" in boot_report["lastRefused"]
    assert "'inspected' from 127.0.0.1 had ended the job" in boot_report["lastRefused"]
