"""OpenStackCluster: body -> model -> cloud.reconcile (in a thread: the kubernetes client blocks) ->
status and Events. Hosts change without touching the cluster (inspection, convergence), so a timer
looks again. Deleting the cluster goes through kopf's finalizer: its hosts are given back first."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf

from ..api.v1alpha1 import GROUP, VERSION, OpenStackCluster
from ..api.v1alpha1.meta import Resource
from ..cloud.reconcile import reconcile_cluster, release_all
from ..config import OperatorConfig
from ..k8s import events
from ..k8s.cluster_secrets import KubeClusterStore
from ..reconcilers.outcome import Outcome
from .common import Logger, plain, run_reconcile


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    plural = OpenStackCluster.info.plural

    def store_for(namespace: str) -> KubeClusterStore:
        return KubeClusterStore(namespace, config.system_namespace)

    async def reconcile(obj: Resource) -> Outcome:
        assert isinstance(obj, OpenStackCluster)
        outcome, _ = await asyncio.to_thread(reconcile_cluster, obj, store_for(obj.namespace))
        return outcome

    async def on_cluster(body: kopf.Body, patch: kopf.Patch, logger: Logger, **_: Any) -> None:
        if body.metadata.get("deletionTimestamp"):
            return  # the delete handler has it
        await run_reconcile(OpenStackCluster, body, patch, logger, reconcile)

    async def on_delete(body: kopf.Body, logger: Logger, **_: Any) -> None:
        cluster = OpenStackCluster.model_validate(plain(body))
        released = await asyncio.to_thread(release_all, cluster, store_for(cluster.namespace))
        events.record(body, "Normal", "HostsReleased", f"{released} host(s) given back")
        logger.info("gave back %d host(s)", released)

    for decorate in (kopf.on.create, kopf.on.update, kopf.on.resume):
        decorate(GROUP, VERSION, plural, registry=registry, id="reconcile")(on_cluster)
    kopf.on.delete(GROUP, VERSION, plural, registry=registry, id="release-hosts")(on_delete)
    kopf.timer(GROUP, VERSION, plural, registry=registry, id="plan-hosts", interval=config.role_status_interval)(
        on_cluster
    )
