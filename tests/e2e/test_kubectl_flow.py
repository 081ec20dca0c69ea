"""What a user does with the real kubectl: apply the samples, wait for Ready, read the tables."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from support.kube import REPO, Kube
from support.operator_process import OperatorProcess


def kubectl(kube: Kube, *args: str) -> str:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.fail("kubectl not on PATH: hack/test puts the cached build there")
    result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "KUBECONFIG": kube.kubeconfig}, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_apply_samples_wait_and_list(kube: Kube, operator: OperatorProcess, namespace: str) -> None:
    kubectl(kube, "apply", "-n", namespace, "-f", str(REPO / "config" / "samples"))
    kubectl(kube, "wait", "-n", namespace, "--for=condition=Ready", "--timeout=60s",
            "noderole/compute", "openstackcluster/cloud-1")
    # The host is not Ready until its BMC is registered, but it says why, by condition type.
    kubectl(kube, "wait", "-n", namespace, "--for=condition=Ready=False", "--timeout=60s", "bmh/node-01")
    table = kubectl(kube, "get", "oci", "-n", namespace)
    assert "baremetalhost.oci.openstack.org/node-01" in table
    assert "noderole.oci.openstack.org/compute" in table
    wide = kubectl(kube, "get", "bmh", "-n", namespace, "-o", "wide")
    header, row = wide.splitlines()[:2]
    assert header.split()[:3] == ["NAME", "STATE", "READY"]
    assert row.split()[:4] == ["node-01", "registering", "False", "Registering"]
    explain = kubectl(kube, "explain", "baremetalhost.spec.bmc")
    assert "credentialsName" in explain
    assert "ipmi://" in explain
