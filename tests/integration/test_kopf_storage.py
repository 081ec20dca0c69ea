"""kopf's bookkeeping on our objects stays small (issue 17, bug 2): a NodeRole with a 150 KB template,
applied client-side like `kubectl apply` does, is reconciled, edited, and deleted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from support.kube import Kube
from support.operator_process import OperatorProcess
from support.waiting import wait_for

TIMEOUT = 60
DIFFBASE = "oci.openstack.org/last-handled-configuration"


def role(text: str) -> dict[str, Any]:
    return {
        "apiVersion": "oci.openstack.org/v1alpha1",
        "kind": "NodeRole",
        "metadata": {"name": "big"},
        "spec": {"resources": [{"type": "file", "name": "big", "path": "/etc/big.conf", "template": text}]},
    }


def kubectl_apply(kube: Kube, namespace: str, manifest: dict[str, Any], tmp_path: Path) -> None:
    """Client-side apply: kubectl itself keeps a full copy of the object in an annotation."""
    binary = shutil.which("kubectl")
    assert binary, "kubectl not on PATH: hack/test puts the cached build there"
    path = tmp_path / "role.json"
    path.write_text(json.dumps(manifest))
    out = subprocess.run([binary, "apply", "-n", namespace, "-f", str(path)], capture_output=True, text=True,
                         timeout=120, check=False, env={**os.environ, "KUBECONFIG": kube.kubeconfig})  # fmt: skip
    assert out.returncode == 0, out.stderr


def judged(kube: Kube, namespace: str) -> tuple[int, int, str | None]:
    obj = kube.get(namespace, "NodeRole", "big")
    ready = [c for c in (obj.get("status") or {}).get("conditions", []) if c["type"] == "Ready"]
    return (
        obj["metadata"]["generation"],
        (obj.get("status") or {}).get("observedGeneration", 0),
        (ready[0]["status"] if ready else None),
    )


def test_a_role_with_a_large_template_is_reconciled_edited_and_deleted(
    kube: Kube, namespace: str, operator: OperatorProcess, tmp_path: Path
) -> None:
    text = "# generated\n" + "option = value-{{ host.name }}\n" * 5200  # ~150 KB, under the 192 KiB limit
    assert 140_000 < len(text) < 192 * 1024
    kubectl_apply(kube, namespace, role(text), tmp_path)
    wait_for(lambda: judged(kube, namespace) == (1, 1, "True"), TIMEOUT, "the role reconciled")
    annotations = kube.get(namespace, "NodeRole", "big")["metadata"]["annotations"]
    assert len(annotations.get(DIFFBASE, "")) < 200, "kopf's diff base is a digest, not a copy of the spec"

    kubectl_apply(kube, namespace, role(text + "# edited\n"), tmp_path)
    wait_for(lambda: judged(kube, namespace) == (2, 2, "True"), TIMEOUT, "the edit reconciled")

    kube.delete(namespace, "NodeRole", "big")
    # Generous: kopf lets go only after the role's timer has stopped, and the shared operator may be busy.
    wait_for(lambda: not kube.exists(namespace, "NodeRole", "big"), 2 * TIMEOUT, "the finalizer to let go")
    assert "Too long" not in operator.log()
