"""The operator and the boot server authenticated as the chart's ServiceAccounts, under the chart's RBAC
only (the API server authorizes with RBAC): a host goes from its Secret to powered on and provisioned,
and a NodeRole converges on it; neither process is ever refused. And no account can do more than this
needs: every answer of `kubectl auth can-i` that matters is listed below (issue 16, finding 5)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from support.accounts import token_kubeconfig
from support.bmcsim import bmc_sim
from support.bootserver import boot_server
from support.chart import render
from support.debian_root import DebianRoot
from support.hosts import agent_installed, converged, provisioned_host, status
from support.kube import Kube, condition
from support.operator_process import operator_process
from support.waiting import wait_for

TIMEOUT = 90
RBAC_KINDS = {"Namespace", "ServiceAccount", "Secret", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
WATCHED, SYSTEM, OTHER = "{watched}", "{system}", "kube-system"  # namespaces, filled in per test
# (verb, resource, namespace or "" for --all-namespaces / cluster scope, allowed) per account.
OPERATOR_CAN = [
    ("get", "baremetalhosts", WATCHED, True),
    ("patch", "baremetalhosts/status", WATCHED, True),
    ("create", "events", WATCHED, True),
    ("get", "secrets", WATCHED, True),  # BMC credentials, by name
    ("list", "secrets", WATCHED, False),
    ("watch", "secrets", WATCHED, False),
    ("create", "secrets", WATCHED, False),
    ("update", "secrets", WATCHED, False),
    ("delete", "secrets", WATCHED, False),
    ("get", "secrets", SYSTEM, True),
    ("create", "secrets", SYSTEM, True),
    ("update", "secrets", SYSTEM, True),
    ("delete", "secrets", SYSTEM, True),
    ("list", "secrets", SYSTEM, False),
    ("get", "secrets", OTHER, False),
    ("get", "secrets", "default", False),
    ("list", "secrets", "", False),
    ("create", "secrets", OTHER, False),
    ("get", "baremetalhosts", OTHER, False),
    ("delete", "baremetalhosts", WATCHED, False),
    ("list", "namespaces", "", True),  # kopf follows namespaces
]
BOOTSERVER_CAN = [
    ("list", "baremetalhosts", WATCHED, True),
    ("watch", "baremetalhosts", WATCHED, True),
    ("patch", "baremetalhosts/status", WATCHED, True),
    ("patch", "baremetalhosts", WATCHED, False),
    ("create", "baremetalhosts", WATCHED, False),  # discovery is off
    ("list", "secrets", SYSTEM, True),
    ("watch", "secrets", SYSTEM, True),
    ("patch", "secrets", SYSTEM, True),  # an agent's rotated credential, promoted on first use
    ("get", "secrets", SYSTEM, False),
    ("create", "secrets", SYSTEM, False),
    ("update", "secrets", SYSTEM, False),
    ("delete", "secrets", SYSTEM, False),
    ("get", "secrets", WATCHED, False),
    ("list", "secrets", WATCHED, False),
    ("patch", "secrets", WATCHED, False),
    ("list", "secrets", OTHER, False),
    ("list", "secrets", "", False),
    ("get", "secrets", "default", False),
    ("list", "baremetalhosts", OTHER, False),
]


def can_i(kube: Kube, account: str, verb: str, resource: str, namespace: str) -> bool:
    kubectl = shutil.which("kubectl")
    assert kubectl
    where = ["-n", namespace] if namespace else ["--all-namespaces"]
    kind, _, sub = resource.partition("/")  # can-i reads kind/name: a subresource is a flag
    subresource = [f"--subresource={sub}"] if sub else []
    out = subprocess.run([kubectl, "--kubeconfig", kube.kubeconfig, "auth", "can-i", verb, kind, *subresource,
                          *where, "--as", account], capture_output=True, text=True, check=False)  # fmt: skip
    assert out.stdout.strip() in ("yes", "no"), out.stderr
    return out.stdout.strip() == "yes"


def answers(kube: Kube, account: str, table: list[tuple[str, str, str, bool]], names: dict[str, str]) -> list[str]:
    """The rows where the API server's answer is not the listed one."""
    wrong = []
    for verb, resource, where, allowed in table:
        namespace = names.get(where, where)
        if can_i(kube, account, verb, resource, namespace) != allowed:
            wrong.append(f"{account}: can-i {verb} {resource} -n {namespace or '*'} should be {allowed}")
    return wrong


def test_a_host_and_a_role_under_the_charts_rbac(
    kube: Kube, private_namespace: str, debian: DebianRoot, tmp_path: Path
) -> None:
    ns = private_namespace
    system = f"{ns}-sys"
    values = {"operator": {"watchNamespaces": [ns]}, "systemNamespace": {"name": system, "create": True}}
    docs = [d for d in render(tmp_path, values, namespace=ns, name="rbac") if d["kind"] in RBAC_KINDS]
    docs.sort(key=lambda d: d["kind"] != "Namespace")  # helm installs namespaces first
    manifest = tmp_path / "rbac.yaml"
    manifest.write_text(yaml.safe_dump_all(docs))
    kubectl = shutil.which("kubectl")
    assert kubectl
    applied = subprocess.run([kubectl, "--kubeconfig", kube.kubeconfig, "apply", "-f", str(manifest)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    operator_kc = token_kubeconfig(kube, ns, "rbac-oci-operator-operator-token", tmp_path / "operator.kubeconfig")
    boot_kc = token_kubeconfig(kube, ns, "rbac-oci-operator-bootserver-token", tmp_path / "boot.kubeconfig")

    try:
        run_under_rbac(kube, ns, system, tmp_path, debian, operator_kc, boot_kc)
    finally:
        kube.delete_namespace(system)


def run_under_rbac(
    kube: Kube, ns: str, system: str, tmp_path: Path, debian: DebianRoot, operator_kc: Path, boot_kc: Path
) -> None:
    # The accounts cannot do more than the chart says, and can do what they need.
    names = {WATCHED: ns, SYSTEM: system}
    wrong = answers(kube, f"system:serviceaccount:{ns}:rbac-oci-operator-operator", OPERATOR_CAN, names)
    wrong += answers(kube, f"system:serviceaccount:{ns}:rbac-oci-operator-bootserver", BOOTSERVER_CAN, names)
    assert not wrong, "\n".join(wrong)
    kubectl = shutil.which("kubectl")
    assert kubectl
    denied = subprocess.run([kubectl, "--kubeconfig", str(boot_kc), "-n", ns, "get", "secret", "x"],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert "forbidden" in denied.stderr.lower()

    fast = ("--boot-poll-interval", "0.5", "--role-status-interval", "1", "--power-poll-interval", "2")
    with (
        boot_server(
            str(boot_kc), tmp_path / "boot", "--no-dhcp", "--namespace", ns, "--system-namespace", system
        ) as server,
        bmc_sim(
            tmp_path / "sim",
            2,
            "--prefix",
            "rb",
            "--first-mac",
            "52:54:00:7b:00:00",
            "--boot-server",
            server.url,
            "--install-seconds",
            "0.3",
        ) as sim,  # fmt: skip
        operator_process(str(operator_kc), tmp_path, "--namespace", ns, "--system-namespace", system, *fast) as op,
    ):
        kube.create(ns, {
            "apiVersion": "oci.openstack.org/v1alpha1", "kind": "NodeRole", "metadata": {"name": "motd"},
            "spec": {"resources": [{"type": "file", "name": "motd", "path": "/etc/motd",
                                    "template": "{{ host.name }} under RBAC\n"}]},
        })  # fmt: skip
        bmc = sim.take()
        provisioned_host(kube, ns, "rb-1", bmc, "motd")
        agent_installed(kube, ns, "rb-1", bmc.mac, server, debian, system)
        assert status(kube, ns, "rb-1")["poweredOn"] is True
        code, _, output = debian.run_agent()
        assert code == 0, output
        wait_for(lambda: (converged(kube, ns, "rb-1") or ("",))[0] == "True", TIMEOUT, "converged")
        wait_for(lambda: (condition(kube.get(ns, "NodeRole", "motd"), "Ready") or {}).get("reason") == "Converged",
                 TIMEOUT, "the role converged")  # fmt: skip
        for log in (op.log(), server.log()):
            assert " 403" not in log
            assert "Forbidden" not in log
