"""How GitOps tools judge our objects: Argo CD's health check (config/argocd/health.lua, run by Debian's
Lua 5.1 as Argo CD runs it) and kstatus' rules (sigs.k8s.io/cli-utils/pkg/kstatus, what Flux's health
checks use) for a custom resource with no type-specific rules, which is what ours are to it."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from .kube import REPO

HEALTH = REPO / "config" / "argocd" / "health.lua"


def lua(value: Any) -> str:
    """A Python value as a Lua table literal (what Argo CD hands the script as `obj`)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua(k)}] = {lua(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "{" + ", ".join(lua(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def health(obj: dict[str, Any]) -> tuple[str, str]:
    binary = shutil.which("lua5.1")
    if binary is None:
        pytest.fail("lua5.1 missing: hack/setup installs it (Argo CD runs health checks with Lua 5.1)")
    program = (
        f"obj = {lua(obj)}\n"
        f"local check = assert(loadfile({lua(str(HEALTH))}))\n"
        "local hs = check()\n"
        "io.write(hs.status, '|', hs.message)\n"
    )
    out = subprocess.run([binary, "-"], input=program, capture_output=True, text=True, check=True, timeout=10)
    status, _, message = out.stdout.partition("|")
    return status, message


def kstatus(obj: dict[str, Any]) -> str:
    """Current, InProgress, Failed or Terminating, the order kstatus decides them in."""
    metadata = obj.get("metadata") or {}
    if metadata.get("deletionTimestamp"):
        return "Terminating"
    status = obj.get("status") or {}
    observed = status.get("observedGeneration")
    if observed is not None and observed != metadata.get("generation"):
        return "InProgress"
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    if conditions.get("Reconciling") == "True":
        return "InProgress"
    if conditions.get("Stalled") == "True":
        return "Failed"
    return "Current"
