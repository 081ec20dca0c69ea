"""The operator and the boot server authenticated as the chart's ServiceAccounts, under the chart's RBAC
only (the API server authorizes with RBAC): a host goes from its Secret to powered on and provisioned,
and a NodeRole converges on it; neither process is ever refused."""

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
RBAC_KINDS = {"ServiceAccount", "Secret", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}


def test_a_host_and_a_role_under_the_charts_rbac(
    kube: Kube, private_namespace: str, debian: DebianRoot, tmp_path: Path
) -> None:
    ns = private_namespace
    docs = [d for d in render(tmp_path, namespace=ns, name="rbac") if d["kind"] in RBAC_KINDS]
    manifest = tmp_path / "rbac.yaml"
    manifest.write_text(yaml.safe_dump_all(docs))
    kubectl = shutil.which("kubectl")
    assert kubectl
    applied = subprocess.run([kubectl, "--kubeconfig", kube.kubeconfig, "apply", "-f", str(manifest)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    operator_kc = token_kubeconfig(kube, ns, "rbac-oci-operator-operator-token", tmp_path / "operator.kubeconfig")
    boot_kc = token_kubeconfig(kube, ns, "rbac-oci-operator-bootserver-token", tmp_path / "boot.kubeconfig")

    # The accounts cannot do more than the chart says: e.g. the boot server cannot read a Secret by name.
    denied = subprocess.run([kubectl, "--kubeconfig", str(boot_kc), "-n", ns, "get", "secret", "x"],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert "forbidden" in denied.stderr.lower()

    fast = ("--boot-poll-interval", "0.5", "--role-status-interval", "1", "--power-poll-interval", "2")
    with (
        boot_server(str(boot_kc), tmp_path / "boot", "--no-dhcp", "--namespace", ns) as server,
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
        operator_process(str(operator_kc), tmp_path, "--namespace", ns, *fast) as op,
    ):
        kube.create(ns, {
            "apiVersion": "oci.openstack.org/v1alpha1", "kind": "NodeRole", "metadata": {"name": "motd"},
            "spec": {"resources": [{"type": "file", "name": "motd", "path": "/etc/motd",
                                    "template": "{{ host.name }} under RBAC\n"}]},
        })  # fmt: skip
        bmc = sim.take()
        provisioned_host(kube, ns, "rb-1", bmc, "motd")
        agent_installed(kube, ns, "rb-1", bmc.mac, server.url, debian)
        assert status(kube, ns, "rb-1")["poweredOn"] is True
        code, _, output = debian.run_agent()
        assert code == 0, output
        wait_for(lambda: (converged(kube, ns, "rb-1") or ("",))[0] == "True", TIMEOUT, "converged")
        wait_for(lambda: (condition(kube.get(ns, "NodeRole", "motd"), "Ready") or {}).get("reason") == "Converged",
                 TIMEOUT, "the role converged")  # fmt: skip
        for log in (op.log(), server.log()):
            assert " 403" not in log
            assert "Forbidden" not in log
