"""BareMetalHost handlers: on every spec change, on resume, and on a resync timer."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf

from ..api.v1alpha1 import GROUP, VERSION, BareMetalHost
from ..bmc.credentials import check_secret
from ..config import OperatorConfig
from ..k8s import client as k8s
from ..reconcilers import baremetalhost
from ..reconcilers.outcome import Outcome
from .common import Logger, run_reconcile

PLURAL = BareMetalHost.info.plural


async def reconcile_host(host: BareMetalHost) -> Outcome:
    secret_name = host.spec.bmc.credentials_name
    found = await asyncio.to_thread(k8s.read_secret, host.namespace, secret_name)
    check = check_secret(secret_name, *found) if found else check_secret(secret_name, None)
    return baremetalhost.reconcile(host, check)


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    async def on_change(body: kopf.Body, patch: kopf.Patch, memo: Any, logger: Logger, **_: Any) -> None:
        await run_reconcile(BareMetalHost, body, patch, memo, logger, reconcile_host)

    for decorate in (kopf.on.create, kopf.on.update, kopf.on.resume):
        decorate(GROUP, VERSION, PLURAL, registry=registry, id="reconcile")(on_change)

    # The Secret may appear or change without the host changing: look again on a timer.
    kopf.timer(
        GROUP,
        VERSION,
        PLURAL,
        registry=registry,
        id="resync",
        interval=config.resync_interval,
        initial_delay=config.resync_interval,
    )(on_change)
