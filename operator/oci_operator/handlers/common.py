"""What every handler does around its reconciler: parse, lock, time, patch, post, log."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import kopf
from pydantic import ValidationError

from ..api.v1alpha1.meta import Resource, StatusBase
from ..k8s import events
from ..k8s.merge_patch import status_patch as status_patch  # where the handlers have always found it
from ..metrics import RECONCILE_DURATION, RECONCILE_ERRORS, RECONCILES
from ..reconcilers.outcome import PROGRESS, Outcome
from ..reconcilers.simple import reconcile_invalid


def without_managed_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy without metadata.managedFields: nothing here reads them, and they are most of an
    object's bytes (a copy of every field per writer), so copying or keeping them costs CPU and memory
    per host for nothing."""
    top = dict(obj)
    metadata = top.get("metadata")
    if isinstance(metadata, Mapping) and "managedFields" in metadata:
        top["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
    return top


def plain(body: Mapping[str, Any]) -> dict[str, Any]:
    """kopf's body views as a plain JSON copy (without managedFields), for pydantic."""
    result: dict[str, Any] = json.loads(json.dumps(without_managed_fields(body), default=dict))
    return result


def invalid_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False))


Reconcile = Callable[[Any], Awaitable[Outcome]]
Logger = logging.Logger | logging.LoggerAdapter[Any]


def account(
    kind: str, status: StatusBase, seconds: float, logger: Logger, detail: str, level: int = logging.INFO
) -> None:
    """Metrics for one finished reconcile, and its one log line with the decision."""
    ready = next((c for c in status.conditions if c.type == "Ready"), None)
    failed = ready is not None and ready.status == "False" and ready.reason not in PROGRESS
    RECONCILES.labels(kind, "error" if failed else "ok").inc()
    RECONCILE_DURATION.labels(kind).observe(seconds)
    if failed and ready is not None:
        RECONCILE_ERRORS.labels(kind, ready.reason).inc()
    decision = f"Ready={ready.status} reason={ready.reason}" if ready else "no Ready condition"
    logger.log(level, "reconciled %s: %s; %s", kind, decision, detail)


async def run_reconcile(
    model: type[Resource],
    body: kopf.Body,
    patch: kopf.Patch,
    logger: Logger,
    reconcile: Reconcile,
) -> None:
    """Validate the body into `model`, reconcile, and write back what changed.

    kopf runs one change handler per object at a time, so no lock is needed here."""
    kind = model.info.kind
    started = time.monotonic()
    raw = plain(body)
    old_status_raw = raw.get("status") or {}
    try:
        obj = model.model_validate(raw)
    except ValidationError as exc:
        old_status = StatusBase.model_validate(
            {k: v for k, v in old_status_raw.items() if k in ("observedGeneration", "conditions")}
        )
        generation = int(raw.get("metadata", {}).get("generation", 0))
        outcome = reconcile_invalid(generation, old_status, invalid_message(exc))
    else:
        try:
            outcome = await reconcile(obj)
        except Exception as exc:
            RECONCILES.labels(kind, "error").inc()
            RECONCILE_ERRORS.labels(kind, type(exc).__name__).inc()
            raise kopf.TemporaryError(f"reconcile failed: {exc}", delay=10) from exc

    changes = status_patch(old_status_raw, outcome.status.wire())
    if changes:
        patch.status.update(changes)
    for event in outcome.events:
        events.record(body, event.type, event.reason, event.message)
    detail = "status fields changed: " + (", ".join(sorted(changes)) or "none")
    account(
        kind, outcome.status, time.monotonic() - started, logger, detail, logging.INFO if changes else logging.DEBUG
    )
