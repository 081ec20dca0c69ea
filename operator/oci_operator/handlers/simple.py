"""NodeRole and OpenStackCluster handlers: validate, mark Ready, keep observedGeneration current."""

from __future__ import annotations

from typing import Any

import kopf

from ..api.v1alpha1 import GROUP, VERSION, NodeRole, OpenStackCluster
from ..api.v1alpha1.meta import Resource
from ..config import OperatorConfig
from ..reconcilers.outcome import Outcome
from ..reconcilers.simple import reconcile_validated
from .common import Logger, run_reconcile


async def reconcile_resource(obj: Resource) -> Outcome:
    return reconcile_validated(obj, obj.status)


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    for model in (NodeRole, OpenStackCluster):

        def make(model: type[Resource]) -> Any:
            async def on_change(body: kopf.Body, patch: kopf.Patch, logger: Logger, **_: Any) -> None:
                await run_reconcile(model, body, patch, logger, reconcile_resource)

            return on_change

        handler = make(model)
        for decorate in (kopf.on.create, kopf.on.update, kopf.on.resume):
            decorate(GROUP, VERSION, model.info.plural, registry=registry, id="reconcile")(handler)
