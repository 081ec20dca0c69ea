"""The boot server's HTTP side with real clients (curl): scripts by MAC and state, tokens, images.

Hosts here mostly use simulated BMCs with no server behind them, so they stay in their inspection job:
the token is issued and nothing calls back, which is what these checks need. The token currency
checks use simulated servers (`nodes`) that go through their jobs."""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.bmcsim import SimControl
from support.bootserver import BootServerProcess
from support.hosts import (
    boot_server_certificate,
    create_booting_host,
    host_secret,
    job_tokens,
    provisioned_host,
    state,
    status,
    token_of,
)
from support.kube import Kube, condition
from support.operator_process import OperatorProcess
from support.waiting import wait_for

TIMEOUT = 60
# Hosts of a deleted namespace may linger behind their finalizer: each test's hosts get their own MACs,
# since two hosts claiming one MAC are (rightly) both refused.
_MACS = (f"52:54:00:b1:{n // 256:02x}:{n % 256:02x}" for n in itertools.count())


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


@dataclass
class Inspecting:
    """Two hosts (boot-a, boot-b) in their inspection job: MACs in URL form and their tokens."""

    namespace: str
    path_a: str
    path_b: str
    ipxe_a: str  # the token the iPXE script shows
    ipxe_b: str
    job_a: str  # the token only the preseed shows

    def tokens(self) -> list[str]:
        return [self.ipxe_a, self.ipxe_b, self.job_a]


@pytest.fixture
def inspecting(
    kube: Kube, namespace: str, sim: SimControl, operator: OperatorProcess, bootserver: BootServerProcess
) -> Inspecting:
    macs = {"a": next(_MACS), "b": next(_MACS)}
    for name, mac in macs.items():
        create_booting_host(kube, namespace, f"boot-{name}", sim.take(), mac)
    issued: dict[str, dict[str, str]] = {}
    for name in macs:
        issued[name] = wait_for(
            lambda n=name: job_tokens(kube, namespace, f"boot-{n}"), TIMEOUT, f"boot-{name}'s tokens"
        )
        assert state(kube, namespace, f"boot-{name}") == "inspecting"
    return Inspecting(
        namespace, path(macs["a"]), path(macs["b"]), issued["a"]["token"], issued["b"]["token"], issued["a"]["jobToken"]
    )


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
    bootserver: BootServerProcess, inspecting: Inspecting
) -> None:
    code, body = curl(f"{bootserver.url}/v1/boot/{inspecting.path_a}.ipxe")
    assert code == 200
    text = body.decode()
    assert "kernel http://" in text
    assert "/v1/images/linux" in text
    assert "initrd http://" in text
    # The token rides in the URL's user part: the installer's wget turns it into a header.
    assert f"url=http://{inspecting.path_a}:{inspecting.ipxe_a}@" in text
    # iPXE's own spelling of the MAC works too (upper case).
    assert curl(f"{bootserver.url}/v1/boot/{inspecting.path_a.upper()}.ipxe")[0] == 200


def test_preseed_needs_the_hosts_own_token(bootserver: BootServerProcess, inspecting: Inspecting) -> None:
    url = f"{bootserver.url}/v1/hosts/{inspecting.path_a}/preseed.cfg"
    code, _ = curl(url)
    assert code == 401
    headers = subprocess.run(["curl", "-sS", "-D", "-", "-o", "/dev/null", url], capture_output=True, check=True)
    assert b'WWW-Authenticate: Basic realm="oci-operator"' in headers.stdout
    assert curl(url, "-u", f"{inspecting.path_a}:not-the-token")[0] == 403
    assert curl(url, "-u", f"{inspecting.path_a}:{inspecting.ipxe_b}")[0] == 403  # another host's token
    assert curl(url, "-H", f"Authorization: Bearer {inspecting.ipxe_b}")[0] == 403
    code, body = curl(url, "-u", f"{inspecting.path_a}:{inspecting.ipxe_a}")
    assert code == 200
    assert b"d-i preseed/early_command string" in body
    assert b"oci-report.sh" in body
    assert b" inspected;" in body


def test_reports_are_checked(bootserver: BootServerProcess, inspecting: Inspecting, tmp_path: Path) -> None:
    url = f"{bootserver.url}/v1/hosts/{inspecting.path_a}/report"
    auth = ("-u", f"{inspecting.path_a}:{inspecting.job_a}", "-H", "Content-Type: application/json")
    # The iPXE token opens the preseed only: anyone may read it in the script.
    assert curl(url, "-u", f"{inspecting.path_a}:{inspecting.ipxe_a}", "-d", '{"event": "failed"}')[0] == 403
    assert curl(url, "-X", "POST", "-d", '{"event": "inspected"}')[0] == 401
    assert curl(url, "-u", f"{inspecting.path_a}:{inspecting.ipxe_b}", "-d", '{"event": "failed"}')[0] == 403
    assert curl(url, *auth, "-d", "not json")[0] == 422
    assert curl(url, *auth, "-d", '{"event": "rm -rf /"}')[0] == 422
    assert curl(url, *auth, "-d", '{"event": "inspected"}')[0] == 422  # no hardware
    assert curl(url, *auth, "-d", '{"event": "installed"}')[0] == 409  # not an installation job
    big = tmp_path / "big.json"
    big.write_text("x" * 300_000)
    assert curl(url, *auth, "--data-binary", f"@{big}")[0] == 413


def test_the_agents_endpoints_need_the_agent_credential(bootserver: BootServerProcess, inspecting: Inspecting) -> None:
    for token in (inspecting.ipxe_a, inspecting.job_a):  # a boot job's tokens open nothing of the agent's
        bearer = ("-H", f"Authorization: Bearer {token}")
        assert curl(f"{bootserver.url}/v1/hosts/{inspecting.path_a}/desired-state", *bearer)[0] == 403
        code, _ = curl(f"{bootserver.url}/v1/hosts/{inspecting.path_a}/convergence", *bearer, "-d", "{}")
        assert code == 403
    # An inspection hands no agent credential over.
    code, _ = curl(f"{bootserver.url}/v1/hosts/{inspecting.path_a}/agent-credential", "-u", f"x:{inspecting.job_a}")
    assert code == 409
    assert curl(f"{bootserver.url}/v1/hosts/{inspecting.path_a}/desired-state")[0] == 401


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


def test_no_token_lands_in_the_boot_server_log(bootserver: BootServerProcess, inspecting: Inspecting) -> None:
    curl(f"{bootserver.url}/v1/boot/{inspecting.path_a}.ipxe")
    curl(f"{bootserver.url}/v1/hosts/{inspecting.path_a}/preseed.cfg", "-u", f"x:{inspecting.ipxe_a}")
    log = bootserver.log()
    assert "GET /v1/hosts/" in log  # the access log is on, and it is the one being checked
    for token in inspecting.tokens():
        assert token not in log


# Who may write a host's Secrets (issue 16, findings 1 and 12) ------------------------------------------


def forged(kind: str, uid: str, host: str, data: dict[str, str], annotations: dict[str, str] | None = None) -> Any:
    """A Secret a tenant can write in their own namespace, labelled and named like the real one (by the
    old scheme, <host>-<kind> + host annotation, and by the new one, host-<uid>-<kind> + UID label)."""
    label = {"boot-token": "oci.openstack.org/boot-token", "desired-state": "oci.openstack.org/desired-state"}[kind]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"host-{uid}-{kind}",
            "labels": {label: "true", "oci.openstack.org/host-uid": uid},
            "annotations": {"oci.openstack.org/host": host, **(annotations or {})},
        },
        "stringData": data,
    }


def test_a_forged_boot_token_in_the_tenants_namespace_opens_nothing(
    kube: Kube, bootserver: BootServerProcess, inspecting: Inspecting
) -> None:
    host = kube.get(inspecting.namespace, "BareMetalHost", "boot-a")
    boot_id = host["status"]["provisioning"]["bootId"]
    uid = host["metadata"]["uid"]
    kube.create(inspecting.namespace, forged("boot-token", uid, "boot-a", {"token": "forged", "bootId": boot_id,
                                                                             "jobToken": "forged"}))  # fmt: skip
    url = f"{bootserver.url}/v1/hosts/{inspecting.path_a}"
    # The boot server's cache has seen the forged Secret once it has seen a later write (a host's status).
    marker = f"{bootserver.url}/v1/boot/{inspecting.path_a}.ipxe"
    wait_for(lambda: curl(marker)[0] == 200, TIMEOUT, "the boot server answering")
    script = curl(marker)[1].decode()
    assert "forged" not in script
    assert curl(f"{url}/preseed.cfg", "-u", f"{inspecting.path_a}:forged")[0] == 403
    assert curl(f"{url}/report", "-u", "x:forged", "-d", '{"event": "failed"}')[0] == 403
    assert curl(f"{url}/preseed.cfg", "-u", f"{inspecting.path_a}:{inspecting.ipxe_a}")[0] == 200


def test_the_ipxe_token_is_spent_by_the_preseed(bootserver: BootServerProcess, inspecting: Inspecting) -> None:
    """Anyone may fetch a host's iPXE script: its token opens the job's preseed once, and nothing else."""
    url = f"{bootserver.url}/v1/hosts/{inspecting.path_a}"
    code, preseed = curl(f"{url}/preseed.cfg", "-u", f"x:{inspecting.ipxe_a}")
    assert code == 200
    assert inspecting.ipxe_a.encode() not in preseed  # the reports use the job token
    assert inspecting.job_a.encode() in preseed
    assert curl(f"{url}/preseed.cfg", "-u", f"x:{inspecting.ipxe_a}")[0] == 403  # a second time: spent
    assert curl(f"{url}/report", "-u", f"x:{inspecting.job_a}", "-d", '{"event": "failed"}')[0] == 200
    assert curl(f"{url}/report", "-u", f"x:{inspecting.ipxe_a}", "-d", '{"event": "failed"}')[0] == 403


def test_a_mac_claimed_in_two_namespaces_boots_neither(
    kube: Kube, bootserver: BootServerProcess, sim: SimControl, inspecting: Inspecting
) -> None:
    """Another tenant's host with boot-a's MAC takes nothing over: neither host is served (finding 4)."""
    other = kube.new_namespace("t-")
    try:
        mac = inspecting.path_a.replace("-", ":")
        create_booting_host(kube, other, "thief", sim.take(), mac)
        script = f"{bootserver.url}/v1/boot/{inspecting.path_a}.ipxe"
        wait_for(lambda: b"\nexit" in curl(script)[1], TIMEOUT, "the claimed MAC to boot its local disk")
        assert b"kernel" not in curl(script)[1]
        preseed = f"{bootserver.url}/v1/hosts/{inspecting.path_a}/preseed.cfg"
        assert curl(preseed, "-u", f"x:{inspecting.ipxe_a}")[0] == 403
        assert "claimed by 2 hosts" in bootserver.log()
        # Every host involved says so, naming the other.
        for ns, name, rival in ((inspecting.namespace, "boot-a", f"{other}/thief"),
                                (other, "thief", f"{inspecting.namespace}/boot-a")):  # fmt: skip
            cond = wait_for(lambda n=ns, h=name: duplicate(kube, n, h), TIMEOUT, f"{name}'s DuplicateBootMAC")
            assert rival in cond["message"]
        assert job_tokens(kube, other, "thief") is None  # the operator never started a boot job for it
    finally:
        kube.delete_namespace(other)
    # The claim withdrawn, boot-a is served again and its condition goes.
    wait_for(lambda: b"kernel" in curl(script)[1], TIMEOUT, "boot-a's installer script again")
    wait_for(lambda: not duplicate(kube, inspecting.namespace, "boot-a"), TIMEOUT, "DuplicateBootMAC cleared")


def duplicate(kube: Kube, namespace: str, name: str) -> dict[str, Any] | None:
    cond = condition(kube.get(namespace, "BareMetalHost", name), "Ready")
    return cond if cond and cond["reason"] == "DuplicateBootMAC" else None


# Token currency (issue 16, finding 2): a token opens only its own host's current job ---------------------


def role(name: str) -> dict[str, Any]:
    motd = {"type": "file", "name": "motd", "path": "/etc/motd", "template": "hi\n"}
    return {"apiVersion": "oci.openstack.org/v1alpha1", "kind": "NodeRole", "metadata": {"name": name},
            "spec": {"resources": [motd]}}  # fmt: skip


def test_earlier_jobs_tokens_open_nothing(
    kube: Kube, namespace: str, nodes: SimControl, operator: OperatorProcess, bootserver: BootServerProcess
) -> None:
    """A provisioned host and one that is neither in a job nor provisioned (inspected, no role): the tokens
    of their finished jobs open no door; only the agent credential (handed over once) opens the agent's."""
    kube.create(namespace, role("motd"))
    installed, spare = nodes.take(), nodes.take()
    provisioned_host(kube, namespace, "inst", installed, "motd")
    create_booting_host(kube, namespace, "spare", spare, spare.mac, online=True)
    wait_for(lambda: state(kube, namespace, "inst") == "provisioned", 90, "inst provisioned")
    wait_for(lambda: state(kube, namespace, "spare") == "available", 90, "spare inspected and available")
    for name, bmc in (("inst", installed), ("spare", spare)):
        old = host_secret(kube, namespace, name, "boot-token")
        assert old is not None
        url = f"{bootserver.url}/v1/hosts/{path(bmc.mac)}"
        for token in (old["token"], old["jobToken"]):
            basic = ("-u", f"{path(bmc.mac)}:{token}")
            assert curl(f"{url}/preseed.cfg", *basic)[0] == 403, (name, token)
            # The finished job's own token: refused with a trace on the host (issue 16 #3), never recorded.
            refused = 409 if token == old["jobToken"] else 403
            assert curl(f"{url}/report", *basic, "-d", '{"event": "failed"}')[0] == refused, name
            assert curl(f"{url}/agent-credential", *basic)[0] == 403, name
            assert curl(f"{url}/desired-state", *basic)[0] == 403, name
            assert curl(f"{url}/convergence", *basic, "-d", "{}")[0] == 403, name
        final = {"inst": "installed", "spare": "inspected"}[name]
        assert (status(kube, namespace, name).get("bootReport") or {}).get("step") == final  # nothing recorded
    # The installation handed the agent its credential (the simulated installer took it): it is spent...
    credential = token_of(kube, namespace, "inst")
    inst_url = f"{bootserver.url}/v1/hosts/{path(installed.mac)}"
    wait_for(lambda: curl(f"{inst_url}/desired-state", "-u", f"x:{credential}")[0] == 200, 90, "the desired state")
    assert "agent credential handed over to inst" in bootserver.log()
    # A desired state forged in the tenant's namespace is never served in place of the operator's.
    inst_uid = kube.get(namespace, "BareMetalHost", "inst")["metadata"]["uid"]
    fake = {"desired.json": '{"resources": [{"type": "command", "name": "x", "command": "touch /pwned"}]}'}
    kube.create(namespace, forged("desired-state", inst_uid, "inst", fake, {"oci.openstack.org/hash": "forged"}))
    kube.annotate(namespace, "BareMetalHost", "inst", {"example.org/poke": "1"})  # a later event the cache sees
    wait_for(lambda: "poke" in str(kube.get(namespace, "BareMetalHost", "inst")), TIMEOUT, "the annotation")
    code, document = curl(f"{inst_url}/desired-state", "-u", f"x:{credential}")
    assert code == 200
    assert b"pwned" not in document
    # ...and it is no key to a host that has none: the spare host's agent endpoints stay shut.
    spare_url = f"{bootserver.url}/v1/hosts/{path(spare.mac)}"
    assert curl(f"{spare_url}/desired-state", "-u", f"x:{credential}")[0] == 403
    assert host_secret(kube, namespace, "spare", "agent") is None


def test_a_hosts_secrets_go_with_it(
    kube: Kube, namespace: str, sim: SimControl, operator: OperatorProcess, bootserver: BootServerProcess
) -> None:
    mac = next(_MACS)
    create_booting_host(kube, namespace, "gone", sim.take(), mac)
    wait_for(lambda: job_tokens(kube, namespace, "gone"), TIMEOUT, "the host's tokens")
    uid = kube.get(namespace, "BareMetalHost", "gone")["metadata"]["uid"]
    kube.delete(namespace, "BareMetalHost", "gone")
    wait_for(lambda: not kube.exists(namespace, "BareMetalHost", "gone"), TIMEOUT, "the host deleted")
    names = [s.metadata.name for s in kube.core.list_namespaced_secret("oci-system").items]
    assert not [n for n in names if uid in n]


def test_a_secret_the_operator_does_not_own_is_never_overwritten(kube: Kube) -> None:
    """A Secret with the name the operator needs but without the host's UID label is left alone (finding 12)."""
    from oci_operator.k8s import client as k8s

    k8s.load(kube.kubeconfig)
    system = kube.new_namespace("p-")
    try:
        uid = "0b5e7d0a-0000-4000-8000-000000000012"
        name = k8s.host_secret_name(uid, "desired-state")
        kube.create(system, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                             "stringData": {"desired.json": "someone else's"}})  # fmt: skip
        with pytest.raises(k8s.NotOurSecret):
            k8s.ensure_desired_state(system, "tenant", "host", uid, '{"resources": []}', "abc")
        kept = kube.core.read_namespaced_secret(name, system)
        assert base64.b64decode(kept.data["desired.json"]) == b"someone else's"
    finally:
        kube.delete_namespace(system)


def test_the_agent_credential_is_handed_over_once_and_opens_only_a_provisioned_host(
    kube: Kube, namespace: str, sim: SimControl, operator: OperatorProcess, bootserver: BootServerProcess
) -> None:
    """Played by hand with curl (the BMC has no server behind it): inspection, then the installation job,
    whose job token takes the agent credential exactly once; that credential opens nothing until the host
    is provisioned."""
    from oci_operator.bmc.sim.node import hardware_for

    kube.create(namespace, role("motd"))
    mac = next(_MACS)
    create_booting_host(kube, namespace, "hand", sim.take(), mac, role="motd")
    url = f"{bootserver.url}/v1/hosts/{path(mac)}"
    inspection = wait_for(lambda: job_tokens(kube, namespace, "hand"), TIMEOUT, "the inspection's tokens")
    wait_for(lambda: curl(f"{url}/preseed.cfg", "-u", f"x:{inspection['token']}")[0] == 200, TIMEOUT, "the preseed")
    report = json.dumps({"event": "inspected", "hardware": hardware_for(1, mac)})
    assert curl(f"{url}/report", "-u", f"x:{inspection['jobToken']}", "-d", report)[0] == 200
    # A machine that reboots at once gets no installer again, even before the boot server's cache has
    # seen the final report it just wrote (its iPXE token is spent: it would be stuck).
    assert b"kernel" not in curl(f"{bootserver.url}/v1/boot/{path(mac)}.ipxe")[1]
    wait_for(lambda: state(kube, namespace, "hand") == "provisioning", TIMEOUT, "the installation job")
    install = wait_for(lambda: job_tokens(kube, namespace, "hand"), TIMEOUT, "the installation's tokens")
    credential = wait_for(lambda: host_secret(kube, namespace, "hand", "agent"), TIMEOUT, "the agent credential")
    # Not provisioned yet: the credential opens none of the agent's endpoints.
    assert curl(f"{url}/desired-state", "-u", f"x:{credential['token']}")[0] == 403
    assert curl(f"{url}/convergence", "-u", f"x:{credential['token']}", "-d", "{}")[0] == 403
    # Only the job token (which only the preseed shows) takes it, and only once.
    assert curl(f"{url}/agent-credential", "-u", f"x:{install['token']}")[0] == 403
    assert curl(f"{url}/agent-credential", "-u", f"x:{inspection['jobToken']}")[0] == 403  # an earlier job's

    def handed() -> dict[str, str] | None:
        code, body = curl(f"{url}/agent-credential", "-u", f"x:{install['jobToken']}")
        return dict(json.loads(body)) if code == 200 else None

    given = wait_for(handed, TIMEOUT, "the handover")
    assert given == {"token": credential["token"], "server": bootserver.agent_address,
                     "serverCertificate": boot_server_certificate(kube)}  # fmt: skip
    assert curl(f"{url}/agent-credential", "-u", f"x:{install['jobToken']}")[0] == 409


# The agent authenticates the server (issue 16, finding 9) --------------------------------------------


def test_the_agent_talks_only_to_the_server_whose_certificate_it_pinned(
    kube: Kube, namespace: str, nodes: SimControl, operator: OperatorProcess, bootserver: BootServerProcess
) -> None:
    """The agent's own client (oci_agent.request): HTTPS trusting only the certificate handed over with
    its credential. A server without that key, or plain HTTP, gets no request (and no credential)."""
    from oci_operator.agent import oci_agent
    from oci_operator.bootserver import tls

    kube.create(namespace, role("motd"))
    bmc = nodes.take()
    provisioned_host(kube, namespace, "pin", bmc, "motd")
    wait_for(lambda: state(kube, namespace, "pin") == "provisioned", 90, "pin provisioned")
    config = {"mac": path(bmc.mac)}
    credential = {"token": token_of(kube, namespace, "pin"), "server": bootserver.agent_address,
                  "serverCertificate": boot_server_certificate(kube)}  # fmt: skip
    wait_for(lambda: oci_agent.request(config, credential, "/desired-state")[0] == 200, 90, "the state over HTTPS")
    impostor = {**credential, "serverCertificate": tls.self_signed()[0]}  # another key: not our server
    code, why, _ = oci_agent.request(config, impostor, "/desired-state")
    assert code == 0
    assert b"CERTIFICATE_VERIFY_FAILED" in why
    cleartext = {**credential, "server": bootserver.url.removeprefix("http://")}  # the HTTP port: no TLS
    assert oci_agent.request(config, cleartext, "/desired-state")[0] == 0


def test_a_running_nodes_agent_credential_rotates(
    kube: Kube,
    namespace: str,
    nodes: SimControl,
    operator: OperatorProcess,
    bootserver: BootServerProcess,
    tmp_path: Path,
) -> None:
    """Annotate the host: the operator offers a successor, the boot server hands it to the agent over the
    pinned HTTPS, the agent keeps it, and its first use retires the old credential (finding 2)."""
    from oci_operator.agent import oci_agent
    from oci_operator.k8s.client import ROTATE_AGENT_CREDENTIAL

    kube.create(namespace, role("motd"))
    bmc = nodes.take()
    provisioned_host(kube, namespace, "rot", bmc, "motd")
    wait_for(lambda: state(kube, namespace, "rot") == "provisioned", 90, "rot provisioned")
    old = token_of(kube, namespace, "rot")
    config = {"mac": path(bmc.mac)}
    credential = {"token": old, "server": bootserver.agent_address, "serverCertificate": boot_server_certificate(kube)}
    wait_for(lambda: oci_agent.request(config, credential, "/desired-state")[0] == 200, 90, "the state over HTTPS")
    kube.annotate(namespace, "BareMetalHost", "rot", {ROTATE_AGENT_CREDENTIAL: "now"})
    offered = wait_for(lambda: (host_secret(kube, namespace, "rot", "agent") or {}).get("next"), TIMEOUT, "a successor")
    wait_for(lambda: ROTATE_AGENT_CREDENTIAL not in str(kube.get(namespace, "BareMetalHost", "rot")), TIMEOUT, "done")

    def handed() -> dict[str, str] | None:
        code, _, headers = oci_agent.request(config, credential, "/desired-state")
        return headers if code == 200 and "X-OCI-Agent-Credential" in headers else None

    headers = wait_for(handed, TIMEOUT, "the successor offered to the agent")
    assert curl(f"{bootserver.url}/v1/hosts/{path(bmc.mac)}/desired-state", "-u", f"x:{old}")[0] == 200
    assert "X-OCI-Agent-Credential" not in subprocess.run(  # never offered in clear
        ["curl", "-sS", "-D", "-", "-o", "/dev/null", "-u", f"x:{old}",
         f"{bootserver.url}/v1/hosts/{path(bmc.mac)}/desired-state"], capture_output=True, text=True, check=True
    ).stdout  # fmt: skip
    stored = tmp_path / "credential.json"
    adopted = oci_agent.adopt_successor(stored, credential, headers)
    assert adopted["token"] == offered
    assert stored.stat().st_mode & 0o777 == 0o600
    assert json.loads(stored.read_text())["token"] == offered
    assert oci_agent.request(config, adopted, "/desired-state")[0] == 200  # its first use...
    wait_for(lambda: host_secret(kube, namespace, "rot", "agent") == {"token": offered}, TIMEOUT, "the promotion")
    # ...retires the old credential.
    wait_for(lambda: oci_agent.request(config, credential, "/desired-state")[0] == 403, TIMEOUT, "the old one refused")
    assert oci_agent.request(config, adopted, "/desired-state")[0] == 200


def test_the_boot_server_refuses_a_mac_claimed_where_the_operator_does_not_look(
    kube: Kube, namespace: str, sim: SimControl, operator: OperatorProcess, bootserver: BootServerProcess
) -> None:
    """A host in a namespace the operator does not watch (but the boot server serves) names a MAC first;
    the victim's job then starts normally, yet the boot server serves neither (no last-one-wins)."""
    mac = next(_MACS)
    unwatched = kube.new_namespace("p-")
    try:
        create_booting_host(kube, unwatched, "squatter", sim.take(), mac)
        create_booting_host(kube, namespace, "victim", sim.take(), mac)
        tokens = wait_for(lambda: job_tokens(kube, namespace, "victim"), TIMEOUT, "the victim's job")
        script = f"{bootserver.url}/v1/boot/{path(mac)}.ipxe"
        seen = f"boot MAC {mac} is claimed by 2 hosts"

        def refused() -> bool:
            return b"kernel" not in curl(script)[1] and seen in bootserver.log()

        wait_for(refused, TIMEOUT, "the boot server to see both claims and serve neither")
        assert b"kernel" not in curl(script)[1]
        preseed = f"{bootserver.url}/v1/hosts/{path(mac)}/preseed.cfg"
        assert curl(preseed, "-u", f"x:{tokens['token']}")[0] == 403
    finally:
        kube.delete_namespace(unwatched)


def test_a_report_cannot_inject_and_a_422_does_not_echo_it(
    bootserver: BootServerProcess, inspecting: Inspecting
) -> None:
    """Issue 16 #3 and the 422 body: a disk name with shell or preseed syntax is refused, unquoted."""
    url = f"{bootserver.url}/v1/hosts/{inspecting.path_a}/report"
    auth = ("-u", f"{inspecting.path_a}:{inspecting.job_a}", "-H", "Content-Type: application/json")
    for name in ("/dev/sda; wget evil-payload", "/dev/sda\nd-i preseed/late_command string evil-payload"):
        forged = {"event": "inspected", "hardware": {"disks": [{"name": name}]}, "evil-payload": 1}
        code, body = curl(url, *auth, "-d", json.dumps(forged))
        assert code == 422, body
        assert b"disks.0.name" in body
        assert b"evil-payload" not in body


def test_a_report_after_the_job_ended_is_refused_with_a_trace_on_the_host(
    bootserver: BootServerProcess, inspecting: Inspecting, kube: Kube
) -> None:
    """Issue 16 #3: whoever sent the first final report, the real node's later one is not silently lost."""
    url = f"{bootserver.url}/v1/hosts/{inspecting.path_a}/report"
    auth = ("-u", f"{inspecting.path_a}:{inspecting.job_a}", "-H", "Content-Type: application/json")
    report = {"event": "inspected", "hardware": {"disks": [{"name": "/dev/sda", "sizeBytes": 10**12}]}}
    assert curl(url, *auth, "-d", json.dumps(report))[0] == 200  # first (say, forged) report
    wait_for(
        lambda: (status(kube, inspecting.namespace, "boot-a").get("bootReport") or {}).get("step") == "inspected",
        TIMEOUT,
        "the report",
    )
    # The real node, later: refused (once the boot server has seen the first report), with a trace.
    wait_for(lambda: curl(url, *auth, "-d", json.dumps(report))[0] == 409, TIMEOUT, "the late report refused")
    boot_report = wait_for(
        lambda: (r := status(kube, inspecting.namespace, "boot-a").get("bootReport") or {}).get("refused") and r,
        TIMEOUT,
        "the refusal on the host",
    )
    assert boot_report["source"] == "127.0.0.1"
    assert "from 127.0.0.1" in boot_report["lastRefused"]
    assert "'inspected' from 127.0.0.1 had ended the job" in boot_report["lastRefused"]
