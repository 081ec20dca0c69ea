"""kstatus' rules (sigs.k8s.io/cli-utils/pkg/kstatus, what Flux's health checks use) for a custom resource
with no type-specific rules, which is what ours are to it."""

from __future__ import annotations

from typing import Any


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
