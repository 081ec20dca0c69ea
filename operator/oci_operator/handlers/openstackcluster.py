"""OpenStackCluster: body -> model -> cloud.reconcile (in a thread: the kubernetes client blocks) ->
status and Events. Hosts join a cluster by label without touching it, so a timer looks again."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf

from ..api.v1alpha1 import GROUP, VERSION, OpenStackCluster
from ..api.v1alpha1.meta import Resource
from ..cloud.reconcile import reconcile_cluster
from ..config import OperatorConfig
from ..k8s.cluster_secrets import KubeClusterStore
from ..reconcilers.outcome import Outcome
from .common import Logger, run_reconcile


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    plural = OpenStackCluster.info.plural

    async def reconcile(obj: Resource) -> Outcome:
        assert isinstance(obj, OpenStackCluster)
        store = KubeClusterStore(obj.namespace, config.system_namespace)
        outcome, _ = await asyncio.to_thread(reconcile_cluster, obj, store)
        return outcome

    async def on_cluster(body: kopf.Body, patch: kopf.Patch, logger: Logger, **_: Any) -> None:
        await run_reconcile(OpenStackCluster, body, patch, logger, reconcile)

    for decorate in (kopf.on.create, kopf.on.update, kopf.on.resume):
        decorate(GROUP, VERSION, plural, registry=registry, id="reconcile")(on_cluster)
    kopf.timer(GROUP, VERSION, plural, registry=registry, id="plan-hosts", interval=config.role_status_interval)(
        on_cluster
    )
