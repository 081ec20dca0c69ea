"""BareMetalHost handlers.

One kopf daemon per host runs its reconcile passes, so exactly one coroutine ever talks to that
host's BMC or writes its status; create/update/resume handlers only wake it. Deletion powers the
server off (unless paused or spec.powerOffOnDelete is false) behind kopf's finalizer.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import kopf
from pydantic import ValidationError

from ..api.v1alpha1 import GROUP, PAUSED_ANNOTATION, VERSION, BareMetalHost, NodeRole, ProvisioningState
from ..api.v1alpha1.meta import StatusBase
from ..bmc.access import BMCAccess, BMCPool
from ..bmc.credentials import CredentialsCheck, check_secret
from ..bmc.driver import BMCError, PowerAction
from ..bmc.governor import NotNow
from ..conditions import find
from ..config import OperatorConfig
from ..k8s import client as k8s
from ..metrics import RECONCILE_ERRORS, RECONCILES, forget_host, record_host
from ..reconcilers.baremetalhost import (
    reconcile_pass,
    record_action_deferred,
    record_action_failure,
    within_poll,
)
from ..reconcilers.desired_state import RoleLookup
from ..reconcilers.host_context import Command, PassResult, SetBootDevice
from ..reconcilers.outcome import PROGRESS
from ..reconcilers.simple import reconcile_invalid
from .common import Logger, account, invalid_message, plain, status_patch

PLURAL = BareMetalHost.info.plural
KIND = BareMetalHost.info.kind
Key = tuple[str, str]  # namespace, name
# After an unexpected failure (API server away), look again after this many seconds.
RETRY_AFTER_ERROR = 5.0


class HostRunner:
    """Runs passes for one host: read fresh, decide, persist, then act once."""

    def __init__(
        self, config: OperatorConfig, pool: BMCPool, body: kopf.Body, logger: Logger, roles: dict[Key, str]
    ) -> None:
        self.config, self.pool, self.body, self.logger = config, pool, body, logger
        self.roles = roles  # shared: which role each host has, so a NodeRole change wakes its hosts
        self.namespace, self.name = str(body.metadata.namespace), str(body.metadata.name)

    async def _api(self, fn: Any, *args: Any) -> Any:
        return await asyncio.to_thread(fn, GROUP, VERSION, PLURAL, self.namespace, self.name, *args)

    async def _persist(self, old: dict[str, Any], result: PassResult) -> dict[str, Any]:
        new = result.status.wire()
        changes = status_patch(old, new)
        if changes:
            await self._api(k8s.patch_status, changes)
        for event in result.events:
            kopf.event(self.body, type=event.type, reason=event.reason, message=event.message)
        return new

    async def run_pass(self) -> float | None:
        """One pass; returns seconds until the next one (None: wait for a change)."""
        raw = await self._api(k8s.get_object)
        if raw is None or raw.get("metadata", {}).get("deletionTimestamp"):
            return None
        old_status = raw.get("status") or {}
        try:
            host = BareMetalHost.model_validate(raw)
        except ValidationError as exc:
            outcome = reconcile_invalid(
                int(raw["metadata"].get("generation", 0)), StatusBase.model_validate(old_status), invalid_message(exc)
            )
            await self._persist(old_status, PassResult(outcome.status, outcome.events))  # type: ignore[arg-type]
            return None
        if PAUSED_ANNOTATION in host.metadata_annotations():
            self.logger.debug("paused: no BMC call, no status change")
            return None

        started = time.monotonic()
        bmc: BMCAccess | None = None
        credentials = CredentialsCheck.absent()
        if host.spec.bmc is not None:
            credentials = await read_credentials(host.namespace, host.spec.bmc.credentials_name)
            if credentials.credentials is not None:
                bmc = self.pool.access(host.spec.bmc.address, credentials.credentials)
        role = await self._role(host)
        result = await reconcile_pass(host, credentials, bmc, self.config.power, role=role)
        if result.desired is not None:
            # The document first: the status that names its hash must never point at an older one.
            document = json.dumps(result.desired.document, sort_keys=True, indent=1)
            uid = str(raw["metadata"].get("uid", ""))
            await asyncio.to_thread(
                k8s.ensure_desired_state, self.namespace, self.name, uid, document, result.desired.hash
            )
        # Order matters for crash safety: annotations first (a finished reboot must not look new),
        # then the status that records the intent, then the single command.
        if result.remove_annotations:
            await self._api(k8s.remove_annotations, result.remove_annotations)
        if result.boot_token is not None:
            # Before the status that records the boot: if this fails, nothing says the server was booted.
            uid = str(raw["metadata"].get("uid", ""))
            mac = host.spec.boot_mac_address
            await asyncio.to_thread(k8s.ensure_boot_token, self.namespace, self.name, uid, mac, result.boot_token)
        persisted = await self._persist(old_status, result)
        requeue = result.requeue_after
        if result.actions and bmc is not None:
            requeue = await self._act(host, bmc, result, persisted)
        self._account(result, time.monotonic() - started)
        return requeue

    async def _role(self, host: BareMetalHost) -> RoleLookup:
        """The host's NodeRole, when it is provisioned with one (the only time it is needed)."""
        self.roles[(self.namespace, self.name)] = host.spec.role or ""
        prov = host.status.provisioning
        if not host.spec.role or prov is None or prov.state is not ProvisioningState.PROVISIONED:
            return None
        raw = await asyncio.to_thread(
            k8s.get_object, GROUP, VERSION, NodeRole.info.plural, self.namespace, host.spec.role
        )
        if raw is None:
            return f"NodeRole {host.spec.role!r} not found in {self.namespace}"
        try:
            return NodeRole.model_validate(raw)
        except ValidationError as exc:
            return f"NodeRole {host.spec.role!r} is invalid: {invalid_message(exc)}"

    async def _act(self, host: BareMetalHost, bmc: BMCAccess, result: PassResult, persisted: dict[str, Any]) -> float:
        try:
            for command in result.actions:
                self.logger.info("sending %s to %s", describe(command), bmc.key)
                if isinstance(command, SetBootDevice):
                    await bmc.set_boot_device(command.device, command.persistent, command.uefi)
                else:
                    await bmc.set_power(command)
        except NotNow as wait:
            await self._persist(persisted, record_action_deferred(result.status))
            return within_poll(wait.retry_after, self.config.power)
        except BMCError as exc:
            failed = record_action_failure(host, result.status, exc, bmc.governor.failures(bmc.key))
            await self._persist(persisted, failed)
            self._account(failed, 0.0)
            return within_poll(bmc.governor.retry_after(bmc.key), self.config.power)
        return result.requeue_after or 0.0

    def _account(self, result: PassResult, seconds: float) -> None:
        if result.deferred:
            self.logger.debug("deferred by BMC governance for %.1fs", result.requeue_after or 0.0)
            return
        state = result.status.provisioning.state.value if result.status.provisioning else "-"
        ready = find(result.status.conditions, "Ready")
        problem = ready.reason if ready and ready.status == "False" and ready.reason not in PROGRESS else None
        conv = find(result.status.conditions, "Converged")
        converged = (1.0 if conv.status == "True" else 0.0, conv.reason) if conv else None
        record_host(self.namespace, self.name, state, problem, converged)
        action = f" actions={','.join(describe(c) for c in result.actions)}" if result.actions else ""
        account(KIND, result.status, seconds, self.logger, f"state={state}{action}")


def describe(command: Command) -> str:
    if isinstance(command, SetBootDevice):
        return f"bootdev-{command.device.value}{'-persistent' if command.persistent else ''}"
    return f"power-{command.value}"


def wake_hosts_of_role(memo: Any, namespace: str, role: str) -> int:
    """A NodeRole changed: its hosts re-render now rather than at their next poll."""
    woken = 0
    for key, event in list(memo.host_wakers.items()):
        if key[0] == namespace and memo.host_roles.get(key) == role:
            event.set()
            woken += 1
    return woken


async def read_credentials(namespace: str, secret_name: str) -> CredentialsCheck:
    found = await asyncio.to_thread(k8s.read_secret, namespace, secret_name)
    return check_secret(secret_name, *found) if found else check_secret(secret_name, None)


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    def wake(memo: Any) -> asyncio.Event:
        event: asyncio.Event = memo.setdefault("wake", asyncio.Event())
        return event

    async def on_change(memo: Any, **_: Any) -> None:
        wake(memo).set()

    for decorate in (kopf.on.create, kopf.on.update, kopf.on.resume):
        decorate(GROUP, VERSION, PLURAL, registry=registry, id="wake")(on_change)

    @kopf.daemon(GROUP, VERSION, PLURAL, registry=registry, id="reconcile", cancellation_timeout=30)
    async def host_loop(body: kopf.Body, stopped: kopf.DaemonStopped, memo: Any, logger: Logger, **_: Any) -> None:
        runner = HostRunner(config, memo.bmc_pool, body, logger, memo.host_roles)
        woken = wake(memo)
        key = (runner.namespace, runner.name)
        memo.host_wakers[key] = woken
        while not stopped:
            woken.clear()
            try:
                delay = await runner.run_pass()
            except Exception as exc:  # the API server away, a bug: log, count, and keep the loop alive
                RECONCILES.labels(KIND, "error").inc()
                RECONCILE_ERRORS.labels(KIND, type(exc).__name__).inc()
                logger.exception("reconcile pass failed: %s", exc)
                delay = RETRY_AFTER_ERROR
            if delay is None or delay > 0:
                await _sleep(stopped, woken, delay)
        memo.host_wakers.pop(key, None)
        memo.host_roles.pop(key, None)
        forget_host(*key)

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, id="power-off")
    async def on_delete(body: kopf.Body, memo: Any, logger: Logger, **_: Any) -> None:
        pool: BMCPool = memo.bmc_pool
        try:
            host = BareMetalHost.model_validate(plain(body))
        except ValidationError:
            return  # never valid, never managed
        if host.spec.bmc is None:
            return  # a discovered host: no BMC to power off
        address = host.spec.bmc.address
        if PAUSED_ANNOTATION in host.metadata_annotations() or not host.spec.power_off_on_delete:
            logger.info("deleted without powering off (paused or powerOffOnDelete=false)")
            pool.drop(address)
            return
        credentials = await read_credentials(host.namespace, host.spec.bmc.credentials_name)
        if credentials.credentials is None:
            kopf.warn(body, reason="PowerOffSkipped", message="no usable BMC credentials: the server was left as is")
            pool.drop(address)
            return
        bmc = pool.access(address, credentials.credentials)
        try:
            if await bmc.get_power():  # observe first: an off server gets no command
                await bmc.set_power(PowerAction.OFF)
                logger.info("powered off on delete")
        except NotNow as wait:
            raise kopf.TemporaryError(str(wait), delay=wait.retry_after) from None
        except BMCError as exc:
            delay = max(5.0, pool.governor.retry_after(address))
            raise kopf.TemporaryError(f"power off on delete: {exc}", delay=delay) from None
        pool.drop(address)


async def _sleep(stopped: kopf.DaemonStopped, woken: asyncio.Event, delay: float | None) -> None:
    """Until the delay passes, the host changes, or the daemon is stopped."""
    waiters = {asyncio.ensure_future(stopped.wait()), asyncio.ensure_future(woken.wait())}
    try:
        await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
