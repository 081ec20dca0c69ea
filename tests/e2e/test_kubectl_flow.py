"""What a user does with the real kubectl: apply the samples, wait for their conditions, read the tables."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support.bmcsim import SimControl
from support.kube import REPO, Kube
from support.operator_process import OperatorProcess


def kubectl(kube: Kube, *args: str) -> str:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.fail("kubectl not on PATH: hack/test puts the cached build there")
    result = subprocess.run(
        [binary, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KUBECONFIG": kube.kubeconfig},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def samples_for(nodes: SimControl, target: Path) -> Path:
    """config/samples/ as shipped, with the host's BMC and MAC those of a simulated server (which gets
    inspected through the boot server before it is Ready)."""
    bmc = nodes.take()
    for sample in (REPO / "config" / "samples").glob("*.yaml"):
        docs = [d for d in yaml.safe_load_all(sample.read_text()) if d]
        for doc in docs:
            if doc["kind"] == "Secret":
                doc["stringData"].update(username=bmc.username, password=bmc.password)
            elif doc["kind"] == "BareMetalHost":
                doc["spec"]["bmc"]["address"] = bmc.address
                doc["spec"]["bootMACAddress"] = bmc.mac
        (target / sample.name).write_text(yaml.safe_dump_all(docs))
    return target


def test_apply_samples_wait_and_list(
    kube: Kube, operator: OperatorProcess, nodes: SimControl, namespace: str, tmp_path: Path
) -> None:
    kubectl(kube, "apply", "-n", namespace, "-f", str(samples_for(nodes, tmp_path)))
    kubectl(
        kube,
        "wait",
        "-n",
        namespace,
        "--for=condition=Ready",
        "--timeout=90s",
        "noderole/compute",
        "baremetalhost/node-01",
    )
    # The sample cloud names 14 hosts by role and only one server is here: the cluster is Stalled and
    # says which role is short (kubectl wait reads the kstatus condition as it reads Ready).
    kubectl(kube, "wait", "-n", namespace, "--for=condition=Stalled", "--timeout=90s", "openstackcluster/cloud-1")
    reason = kubectl(
        kube, "get", "osc", "cloud-1", "-n", namespace, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].reason}"
    )
    assert reason == "RoleShort"
    table = kubectl(kube, "get", "oci", "-n", namespace)
    assert "baremetalhost.oci.openstack.org/node-01" in table
    assert "noderole.oci.openstack.org/compute" in table
    assert "openstackcluster.oci.openstack.org/cloud-1" in table
    wide = kubectl(kube, "get", "bmh", "-n", namespace, "-o", "wide")
    header, row = wide.splitlines()[:2]
    assert header.split()[:6] == ["NAME", "STATE", "READY", "REASON", "ONLINE", "POWERED"]
    assert row.split()[:6] == ["node-01", "available", "True", "Available", "true", "true"]
    explain = kubectl(kube, "explain", "baremetalhost.spec.bmc")
    assert "credentialsName" in explain
    assert "ipmi://" in explain
