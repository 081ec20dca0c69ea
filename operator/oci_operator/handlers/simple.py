"""NodeRole handlers: validate, keep observedGeneration current, count the role's converged hosts (on
change and on a timer) and wake its hosts when the role changes."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf
from pydantic import ValidationError

from ..api.v1alpha1 import GROUP, VERSION, BareMetalHost, NodeRole
from ..api.v1alpha1.meta import Resource
from ..config import OperatorConfig
from ..k8s import client as k8s
from ..reconcilers.noderole import reconcile_noderole
from ..reconcilers.outcome import Outcome
from .baremetalhost import wake_hosts_of_role
from .common import Logger, run_reconcile


async def reconcile_role(obj: Resource) -> Outcome:
    assert isinstance(obj, NodeRole)
    raw = await asyncio.to_thread(k8s.list_objects, GROUP, VERSION, BareMetalHost.info.plural, obj.namespace)
    hosts = []
    for item in raw:
        try:
            hosts.append(BareMetalHost.model_validate(item))
        except ValidationError:
            continue  # its own handler reports it
    return await asyncio.to_thread(reconcile_noderole, obj, hosts)  # renders every host's templates: blocking


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    plural = NodeRole.info.plural

    async def on_role(body: kopf.Body, patch: kopf.Patch, logger: Logger, **_: Any) -> None:
        await run_reconcile(NodeRole, body, patch, logger, reconcile_role)

    async def on_role_change(body: kopf.Body, patch: kopf.Patch, memo: Any, logger: Logger, **_: Any) -> None:
        woken = wake_hosts_of_role(memo, str(body.metadata.namespace), str(body.metadata.name))
        if woken:
            logger.info("woke %d host(s) to render the changed role", woken)
        await on_role(body=body, patch=patch, logger=logger)

    for decorate in (kopf.on.create, kopf.on.update, kopf.on.resume):
        decorate(GROUP, VERSION, plural, registry=registry, id="reconcile")(on_role_change)

    async def on_count(body: kopf.Body, patch: kopf.Patch, logger: Logger, **_: Any) -> None:
        # Only a generation the spec handler has judged: before its status write reaches this body, a
        # look from here judged the same change again from the old status (the same Event twice).
        if (body.get("status") or {}).get("observedGeneration") != body.metadata.get("generation"):
            return
        await on_role(body=body, patch=patch, logger=logger)

    # Host convergence changes a role's counts without touching the role: look again on a timer.
    interval = config.role_status_interval
    kopf.timer(GROUP, VERSION, plural, registry=registry, id="count-hosts", interval=interval, initial_delay=interval)(
        on_count
    )
