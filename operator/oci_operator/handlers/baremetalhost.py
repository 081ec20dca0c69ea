"""BareMetalHost handlers.

One kopf daemon per host runs its reconcile passes, so exactly one coroutine ever talks to that
host's BMC or writes its status; create/update/resume handlers only wake it. Deletion powers the
server off (unless paused or spec.powerOffOnDelete is false) behind kopf's finalizer.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import kopf
from pydantic import ValidationError

from ..api.v1alpha1 import GROUP, PAUSED_ANNOTATION, VERSION, BareMetalHost, NodeRole, ProvisioningState
from ..api.v1alpha1.meta import StatusBase
from ..bmc.access import BMCAccess, BMCPool
from ..bmc.credentials import CredentialsCheck, check_secret, marked
from ..bmc.driver import BMCError, PowerAction
from ..bmc.governor import NotNow
from ..bootserver import tls
from ..bootserver.macs import normalize
from ..cloud.noderoles import CLUSTER_LABEL, GENERATED_LABEL, host_secret_name
from ..conditions import find, note_shared_bmc, set_condition
from ..config import KOPF_PREFIX, OperatorConfig
from ..k8s import client as k8s
from ..k8s import events
from ..k8s.cluster_secrets import stored_name
from ..metrics import RECONCILE_ERRORS, RECONCILES, forget_host, record_host
from ..reconcilers.baremetalhost import reconcile_pass
from ..reconcilers.desired_state import RoleLookup
from ..reconcilers.executor import PassExecutor, describe
from ..reconcilers.host_context import PassResult
from ..reconcilers.outcome import PROGRESS, EventSpec, with_kstatus
from ..reconcilers.simple import reconcile_invalid, reconcile_refused
from .common import Logger, account, invalid_message, plain, status_patch, without_managed_fields
from .host_reads import CredentialsCache, RoleSecretCache

PLURAL = BareMetalHost.info.plural
KIND = BareMetalHost.info.kind
Key = tuple[str, str]  # namespace, name
# After an unexpected failure (API server away), look again after this many seconds.
RETRY_AFTER_ERROR = 5.0
# How often sessions idle past their limit are ended (bmc/ipmi.py IDLE_SESSION_LIMIT is 20 s).
SESSION_SWEEP_INTERVAL = 5.0
# A good read of a host's Secrets is kept for this many idle polls (a refused password reads again at once).
READS_KEPT_FOR_IDLE_POLLS = 3


def _version(obj: dict[str, Any] | None) -> int | None:
    """An object's resourceVersion as a number (etcd's revision), None when absent or opaque."""
    return _revision(((obj or {}).get("metadata") or {}).get("resourceVersion"))


def _revision(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


class HostView:
    """The host as last known, without a GET: kopf's watch-fed body (a live view in daemons), unless
    this process's own last write is newer than what the watch has delivered so far; then the object
    that write returned. When it cannot tell which is newer, it says so and the pass reads fresh."""

    def __init__(self, body: kopf.Body) -> None:
        self.body = body
        self.written: dict[str, Any] | None = None

    def wrote(self, obj: dict[str, Any]) -> None:
        mine, known = _version(obj), _version(self.written)
        if mine is None or known is None or mine >= known:
            self.written = without_managed_fields(obj)

    def watched(self, version: str | None) -> None:
        """The watch delivered `version`: a write it includes need not be kept (an idle host would hold
        its last write, a copy of the whole object, until its next pass minutes later)."""
        mine, seen = _version(self.written), _revision(version)
        if mine is not None and seen is not None and seen >= mine:
            self.written = None

    def forget(self) -> None:
        self.written = None

    def current(self) -> dict[str, Any] | None:
        seen = plain(self.body)
        if self.written is None:
            return seen
        mine, watched = _version(self.written), _version(seen)
        if mine is None or watched is None:
            return None
        if watched >= mine:
            self.written = None  # the watch has caught up with (or passed) our write
            return seen
        return self.written


class ApiHostPort:
    """The executor's port onto the API server, for one host (the blocking client runs in a thread).
    The host's Secrets live in the operator's system namespace (docs/bootserver.md, trust model).

    `guard`: the next status write records an intent decided on `version` of the host; it is made only
    if the host is still at that version (a cached view may lag), else StaleObject and nothing is sent."""

    def __init__(self, body: kopf.Body, namespace: str, name: str, system_namespace: str) -> None:
        self.body, self.namespace, self.name = body, namespace, name
        self.system_namespace = system_namespace
        self.view = HostView(body)
        self.version: str | None = None
        self.guard = False
        self.stored_digest: str | None = None  # the desired state this process last stored

    async def _api(self, fn: Any, *args: Any) -> Any:
        return await asyncio.to_thread(fn, GROUP, VERSION, PLURAL, self.namespace, self.name, *args)

    def _wrote(self, obj: dict[str, Any]) -> None:
        self.view.wrote(obj)
        self.version = str((obj.get("metadata") or {}).get("resourceVersion", "")) or None

    async def ensure_desired_state(self, uid: str, document: str, digest: str) -> None:
        if digest == self.stored_digest:
            return  # stored by this process already: no read of the Secret on every pass
        where = (self.system_namespace, self.namespace, self.name, uid)
        await asyncio.to_thread(k8s.ensure_desired_state, *where, document, digest)
        self.stored_digest = digest

    async def remove_annotations(self, keys: list[str]) -> None:
        self._wrote(await self._api(k8s.remove_annotations, keys))

    async def ensure_boot_token(self, uid: str, mac: str, boot_id: str, install: bool) -> None:
        where = (self.system_namespace, self.namespace, self.name, uid)
        await asyncio.to_thread(k8s.ensure_boot_token, *where, mac, boot_id, install)

    async def patch_status(self, changes: dict[str, Any]) -> None:
        precondition, self.guard = (self.version if self.guard else None), False
        self._wrote(await self._api(k8s.patch_status, changes, precondition))

    def event(self, event: EventSpec) -> None:
        events.record(self.body, event.type, event.reason, event.message)


class HostRunner:
    """Runs passes for one host: read fresh, decide, then hand the result to the crash-safe executor."""

    def __init__(
        self,
        config: OperatorConfig,
        pool: BMCPool,
        body: kopf.Body,
        logger: Logger,
        roles: dict[Key, str],
        boot_macs: kopf.Index[str, Key] | None = None,
        noderoles: kopf.Index[Key, dict[str, Any]] | None = None,
    ) -> None:
        self.config, self.pool, self.body, self.logger = config, pool, body, logger
        self.boot_macs = boot_macs  # every watched host by boot MAC (kopf index)
        self.noderoles = noderoles  # every watched NodeRole by (namespace, name) (kopf index, watch-fed)
        self.roles = roles  # shared: which role each host has, so a NodeRole change wakes its hosts
        self.namespace, self.name = str(body.metadata.namespace), str(body.metadata.name)
        self.port = ApiHostPort(body, self.namespace, self.name, config.system_namespace)
        self.executor = PassExecutor(self.port, config.power, logger)
        self.read_fresh = False  # the next pass reads the host from the API server, not the cache
        kept = READS_KEPT_FOR_IDLE_POLLS * config.power.idle_poll_base()
        self.credentials = CredentialsCache(read_credentials, kept)
        self.role_secret = RoleSecretCache(_read_role_secret, kept)

    async def _persist(self, old: dict[str, Any], result: PassResult) -> dict[str, Any]:
        return await self.executor.persist(old, result)

    async def _host(self) -> dict[str, Any] | None:
        raw = None if self.read_fresh else self.port.view.current()
        if raw is None:
            raw = await self.port._api(k8s.get_object)
            if raw is not None:
                self.port.view.wrote(raw)
        self.read_fresh = False
        return raw

    async def run_pass(self) -> float | None:
        """One pass; returns seconds until the next one (None: wait for a change)."""
        raw = await self._host()
        if raw is None or raw.get("metadata", {}).get("deletionTimestamp"):
            return None
        self.port.version = str(raw["metadata"].get("resourceVersion", "")) or None
        self.port.guard = False
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
        others = self._mac_claimed_by_others(host)
        if others:
            # Issue 16 finding 4: a MAC two hosts claim would let one take the other's server over at its
            # next PXE boot. Neither is booted (the boot server serves neither); each says why.
            problem = f"boot MAC {host.spec.boot_mac_address} is also claimed by {', '.join(others)}: not booted"
            generation = int(raw["metadata"].get("generation", 0))
            outcome = reconcile_refused(generation, host.status, "DuplicateBootMAC", problem)
            await self._persist(old_status, PassResult(outcome.status, outcome.events))  # type: ignore[arg-type]
            return self.config.power.poll_interval

        started = time.monotonic()
        bmc: BMCAccess | None = None
        credentials = CredentialsCheck.absent()
        if host.spec.bmc is not None:
            credentials = await self._read_credentials(host)
            if credentials.credentials is not None:
                verify = not host.spec.bmc.disable_certificate_verification
                bmc = self.pool.access(
                    host.spec.bmc.address, credentials.credentials, verify, owner=f"{self.namespace}/{self.name}"
                )
        owner, sharing = f"{self.namespace}/{self.name}", []
        if host.spec.bmc is not None:
            sharing = self.pool.claim(owner, host.spec.bmc.address)  # other hosts on this BMC address
        else:
            self.pool.release(owner)
        if k8s.ROTATE_AGENT_CREDENTIAL in host.metadata_annotations():
            await self._offer_agent_credential(host, str(raw["metadata"].get("uid", "")))
        role = await self._role(host)
        secrets = await self._role_secrets(host, role)
        result = await reconcile_pass(host, credentials, bmc, self.config.power, role=role, role_secrets=secrets)
        if await self._refused_a_kept_password(host, result):
            return 0.0  # nothing was sent or written: decide again on the Secret as it is now
        if host.spec.bmc is not None:
            result.status.conditions = note_shared_bmc(
                result.status.conditions, host.spec.bmc.address, sharing, host.generation
            )
        # The safe order (document, annotations, token, status, then the commands) is the executor's.
        # A pass that sends commands records its intent only on the host it decided on (see ApiHostPort).
        self.port.guard = bool(result.actions)
        try:
            applied = await self.executor.apply(host, str(raw["metadata"].get("uid", "")), old_status, result, bmc)
        except k8s.StaleObject:
            self.logger.info("the host changed while this pass decided: nothing sent, deciding again on a fresh read")
            self.port.view.forget()
            self.read_fresh = True
            return 0.0
        if applied.failure is not None:
            self._account(applied.failure, 0.0)
        self._account(result, time.monotonic() - started)
        return applied.requeue_after

    async def _offer_agent_credential(self, host: BareMetalHost, uid: str) -> None:
        """Rotation asked for: a successor credential beside the current one (the boot server hands it
        to the agent and retires the old one when the agent first uses it)."""
        prov = host.status.provisioning
        if prov is None or prov.state is not ProvisioningState.PROVISIONED:
            return  # nothing installed to rotate; the annotation waits
        offer = (self.config.system_namespace, self.namespace, self.name, uid)
        if await asyncio.to_thread(k8s.offer_agent_credential, *offer):
            message = "a new agent credential is offered to the node's agent"
            events.record(self.body, "Normal", "AgentCredentialRotating", message)
        await self.port.remove_annotations([k8s.ROTATE_AGENT_CREDENTIAL])

    async def _read_credentials(self, host: BareMetalHost) -> CredentialsCheck:
        """The host's BMC credentials; a good read is kept by a healthy host (handlers/host_reads.py)."""
        assert host.spec.bmc is not None
        healthy = host.status.error_type is None
        return await self.credentials.get(host.namespace, host.spec.bmc.credentials_name, healthy)

    async def _refused_a_kept_password(self, host: BareMetalHost, result: PassResult) -> bool:
        """The BMC refused credentials kept from an earlier read: true when the Secret changed since (a
        rotation), so the pass is decided again rather than reporting an error for a password replaced."""
        newly_refused = result.status.rejected_credentials not in (None, host.status.rejected_credentials)
        if not (newly_refused and self.credentials.reused and host.spec.bmc is not None):
            return False
        return await self.credentials.changed_since_reuse(host.namespace, host.spec.bmc.credentials_name)

    def _mac_claimed_by_others(self, host: BareMetalHost) -> list[str]:
        mac = normalize(host.spec.boot_mac_address)
        if self.boot_macs is None or mac is None:
            return []
        claimants = {f"{ns}/{name}" for ns, name in self.boot_macs.get(mac, [])}
        return sorted(claimants - {f"{self.namespace}/{self.name}"})

    async def _role(self, host: BareMetalHost) -> RoleLookup:
        """The host's NodeRole, when it has one: its image for an install, its resources once provisioned."""
        self.roles[(self.namespace, self.name)] = host.spec.role or ""
        if not host.spec.role or host.status.provisioning is None:
            return None
        key = (self.namespace, host.spec.role)
        if self.noderoles is not None:
            raw = next(iter(self.noderoles.get(key, [])), None)
        else:
            raw = await asyncio.to_thread(k8s.get_object, GROUP, VERSION, NodeRole.info.plural, *key)
        if raw is None:
            return f"NodeRole {host.spec.role!r} not found in {self.namespace}"
        try:
            return NodeRole.model_validate(raw)
        except ValidationError as exc:
            return f"NodeRole {host.spec.role!r} is invalid: {invalid_message(exc)}"

    async def _role_secrets(self, host: BareMetalHost, role: RoleLookup) -> dict[str, str] | None:
        """A NodeRole its OpenStackCluster generated names secrets by reference: this host's own Secret
        (cloud/noderoles.py) fills them; only that host's, in its namespace's keeping."""
        if not isinstance(role, NodeRole) or GENERATED_LABEL not in role.metadata_labels():
            return None
        prov = host.status.provisioning
        if prov is None or prov.state is not ProvisioningState.PROVISIONED:
            return None  # only a provisioned host's desired state is rendered
        name = stored_name(self.namespace, host_secret_name(role.metadata_labels().get(CLUSTER_LABEL, ""), host.name))
        version = str(role.metadata.get("resourceVersion") or "")
        return await self.role_secret.get(self.config.system_namespace, name, version)

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


def _essence(body: kopf.Body) -> tuple[Any, ...]:
    """What others change: a user the spec (its generation), labels, and annotations other than kopf's
    own; the boot server status.bootReport (a node's report wakes its boot job: it does not poll)."""
    meta = body.get("metadata", {})
    annotations = meta.get("annotations") or {}
    mine = tuple(sorted((k, v) for k, v in annotations.items() if not k.startswith(f"{KOPF_PREFIX}/")))
    report = (body.get("status") or {}).get("bootReport") or {}
    node = tuple(sorted((k, str(v)) for k, v in report.items()))
    return meta.get("generation"), mine, tuple(sorted((meta.get("labels") or {}).items())), node


def wake_hosts_of_role(memo: Any, namespace: str, role: str) -> int:
    """A NodeRole changed: its hosts re-render now rather than at their next poll."""
    woken = 0
    for key, event in list(memo.host_wakers.items()):
        if key[0] == namespace and memo.host_roles.get(key) == role:
            event.set()
            woken += 1
    return woken


async def _read_role_secret(namespace: str, name: str) -> dict[str, str] | None:
    found = await asyncio.to_thread(k8s.read_secret, namespace, name)
    return found[0] if found else None


async def read_credentials(namespace: str, secret_name: str) -> CredentialsCheck:
    found = await asyncio.to_thread(k8s.read_secret_typed, namespace, secret_name)
    if found is None:
        return check_secret(secret_name, None)
    data, resource_version, secret_type, labels = found
    return check_secret(secret_name, data, resource_version, marked(secret_type, labels))


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    def wake(memo: Any) -> asyncio.Event:
        event: asyncio.Event = memo.setdefault("wake", asyncio.Event())
        return event

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry, id="wake")
    async def on_event(memo: Any, body: kopf.Body, type: str | None, **kwargs: Any) -> None:
        """A change someone else made (spec, labels, annotations, a node's report) wakes the host's
        daemon now. A watch event handler, not kopf's create/update handlers: those store a copy or
        digest of what they handled on the object, one more write per host and per change."""
        view: HostView | None = memo.get("view")
        if view is not None:
            view.watched(body.get("metadata", {}).get("resourceVersion"))
        essence = _essence(body)
        if type == "DELETED" or memo.get("essence") == essence:
            return  # our own status writes, kopf's bookkeeping
        memo["essence"] = essence
        wake(memo).set()
        # Hosts sharing this boot MAC look again now (one of them may have just claimed or released it).
        mac = normalize(str(body.get("spec", {}).get("bootMACAddress", "")))
        index: kopf.Index[str, Key] = kwargs["boot_macs"]
        for key in index.get(mac, []) if mac else []:
            waker = memo.host_wakers.get(key)
            if waker is not None:
                waker.set()

    @kopf.index(GROUP, VERSION, NodeRole.info.plural, registry=registry, id="noderoles")
    async def noderoles(namespace: str | None, name: str, body: kopf.Body, **_: Any) -> dict[Key, dict[str, Any]]:
        """Roles as the watch delivers them: a provisioned host's pass renders from here, with no GET."""
        return {(str(namespace), name): plain(body)}

    @kopf.index(GROUP, VERSION, PLURAL, registry=registry, id="boot_macs")
    async def boot_macs(namespace: str | None, name: str, spec: kopf.Spec, **_: Any) -> dict[str, Key] | None:
        mac = normalize(str(spec.get("bootMACAddress", "")))
        return {mac: (str(namespace), name)} if mac else None

    @kopf.daemon(GROUP, VERSION, PLURAL, registry=registry, id="reconcile", cancellation_timeout=30)
    async def host_loop(
        body: kopf.Body,
        stopped: kopf.DaemonStopped,
        memo: Any,
        logger: Logger,
        **kwargs: Any,
    ) -> None:
        indexes = kwargs["boot_macs"], kwargs["noderoles"]
        runner = HostRunner(config, memo.bmc_pool, body, logger, memo.host_roles, *indexes)
        woken = wake(memo)
        key = (runner.namespace, runner.name)
        memo.host_wakers[key] = woken
        memo["view"] = runner.port.view
        try:
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
        finally:  # also when kopf cancels the daemon mid-pass (deletion)
            memo.host_wakers.pop(key, None)
            memo.host_roles.pop(key, None)
            memo.bmc_pool.release(f"{key[0]}/{key[1]}")
            forget_host(*key)

    @kopf.on.startup(registry=registry)
    async def idle_sessions(memo: Any, logger: Logger, **_: Any) -> None:
        memo.session_sweeper = asyncio.create_task(_end_idle_sessions(memo.bmc_pool, logger))

    @kopf.on.startup(registry=registry)
    async def boot_server_certificate(memo: Any, logger: Logger, **_: Any) -> None:
        # Installed agents pin it (issue 16, finding 9): made once, before any installation hands it over.
        # Made in the background: an API server still starting or a system namespace not there yet must
        # not keep the operator from serving hosts (a failing startup handler holds every watch back).
        memo.certificate_task = asyncio.create_task(_make_boot_server_certificate(config, logger))

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, id="host-secrets")
    async def drop_secrets(body: kopf.Body, **_: Any) -> None:
        # Owner references cannot reach the system namespace: the finalizer holds the host until its
        # tokens, credential and desired state are gone.
        await asyncio.to_thread(k8s.delete_host_secrets, config.system_namespace, str(body.metadata.uid or ""))

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, id="power-off")
    async def on_delete(body: kopf.Body, memo: Any, logger: Logger, **_: Any) -> None:
        """Power off, then let go. While the BMC does not answer, retry within this one call (kopf's
        own retry delay would hide a pause added meanwhile for minutes) and say so on the host."""
        pool: BMCPool = memo.bmc_pool
        try:
            host: BareMetalHost | None = BareMetalHost.model_validate(plain(body))
        except ValidationError:
            return  # never valid, never managed
        assert host is not None
        if host.spec.bmc is None:
            return  # a discovered host: no BMC to power off
        address = host.spec.bmc.address
        warned = False
        while host is not None and host.spec.bmc is not None:
            skip = _no_power_off(host)
            if skip:
                logger.info("deleted without powering off (%s)", skip)
                break
            credentials = await read_credentials(host.namespace, host.spec.bmc.credentials_name)
            if credentials.credentials is None:
                skipped = "no usable BMC credentials: the server was left as is"
                events.record(body, "Warning", "PowerOffSkipped", skipped)
                break
            bmc = pool.access(
                host.spec.bmc.address, credentials.credentials, not host.spec.bmc.disable_certificate_verification
            )
            try:
                if await bmc.get_power():  # observe first: an off server gets no command
                    await bmc.set_power(PowerAction.OFF)
                    logger.info("powered off on delete")
                break
            except NotNow as wait:  # nothing was sent: a spent rate budget is no problem, a backoff is
                delay, problem = wait.retry_after, (None if "budget" in wait.reason else str(wait))
            except BMCError as exc:
                delay, problem = max(5.0, pool.governor.retry_after(address)), str(exc)
                RECONCILE_ERRORS.labels(KIND, DELETE_REASON).inc()
            if problem is not None and not warned:  # one Warning and status write per delete, not per retry
                warned = await _say_powering_off(body, host, problem)
            host = await _recheck(host, delay)
        pool.drop(address, owner=f"{body.metadata.namespace}/{body.metadata.name}")


# While a delete waits for a BMC, the host is re-read this often (seconds): a pause annotation or
# powerOffOnDelete=false added to let it go is honoured within this delay, not at the next BMC retry.
DELETE_RECHECK = 2.0
DELETE_REASON = "PoweringOffBeforeDelete"


def _no_power_off(host: BareMetalHost) -> str | None:
    """Why this deleted host is let go without a power-off, if it is."""
    prov = host.status.provisioning
    if PAUSED_ANNOTATION in host.metadata_annotations():
        return "paused"
    if not host.spec.power_off_on_delete:
        return "powerOffOnDelete=false"
    if prov is None or prov.state in (ProvisioningState.DISCOVERED, ProvisioningState.REGISTERING):
        return "never registered: no command was ever sent, nothing to power off"
    return None


async def _say_powering_off(body: kopf.Body, host: BareMetalHost, error: str) -> bool:
    message = (
        f"powering off before delete: {error}; to delete without it, annotate {PAUSED_ANNOTATION} "
        "or set spec.powerOffOnDelete=false"
    )
    status = host.status.model_copy(deep=True)
    conditions = set_condition(status.conditions, "Ready", "False", DELETE_REASON, message, host.generation)
    status.conditions = with_kstatus(conditions, host.generation)
    changes = status_patch(host.status.wire(), status.wire())
    await asyncio.to_thread(k8s.patch_status, GROUP, VERSION, PLURAL, host.namespace, host.name, changes)
    events.record(body, "Warning", DELETE_REASON, message)
    return True


async def _recheck(host: BareMetalHost, delay: float) -> BareMetalHost | None:
    """Wait `delay` seconds for the BMC, re-reading the host meanwhile; None once it is gone."""
    deadline = time.monotonic() + delay
    while True:
        await asyncio.sleep(min(DELETE_RECHECK, max(0.0, deadline - time.monotonic())))
        raw = await asyncio.to_thread(k8s.get_object, GROUP, VERSION, PLURAL, host.namespace, host.name)
        if raw is None:
            return None
        try:
            host = BareMetalHost.model_validate(raw)
        except ValidationError:
            return None  # made invalid while deleting: nothing this operator can act on
        if _no_power_off(host) or time.monotonic() >= deadline:
            return host


async def _make_boot_server_certificate(config: OperatorConfig, logger: Logger, retry: float = 10.0) -> None:
    """Until the boot server's certificate exists; the failure is logged once, not at every try."""
    warned = False
    while True:
        try:
            made = await asyncio.to_thread(k8s.ensure_boot_server_tls, config.system_namespace, tls.self_signed)
        except Exception as exc:  # the API server away, the namespace missing: try again
            if not warned:
                logger.error(
                    "cannot make the boot server's certificate in %s (installed agents wait for it): %s",
                    config.system_namespace,
                    exc,
                )
                warned = True
            await asyncio.sleep(retry)
            continue
        if made:
            logger.info("made the boot server's certificate in %s", config.system_namespace)
        return


async def _end_idle_sessions(pool: BMCPool, logger: Logger) -> None:
    """Sessions of settled hosts end once idle past their limit, not at the host's next call minutes
    later (bmc/ipmi.py, end_if_idle): the operator's cost stays with the hosts being acted on."""
    while True:
        await asyncio.sleep(SESSION_SWEEP_INTERVAL)
        try:
            ended = await asyncio.to_thread(pool.end_idle_sessions)
        except Exception as exc:  # one bad driver must not end the sweeping
            logger.warning("ending idle BMC sessions failed: %s", exc)
            continue
        if ended:
            logger.debug("ended %d idle BMC sessions", ended)


async def _sleep(stopped: kopf.DaemonStopped, woken: asyncio.Event, delay: float | None) -> None:
    """Until the delay passes, the host changes, or the daemon is stopped."""
    waiters = {asyncio.ensure_future(stopped.wait()), asyncio.ensure_future(woken.wait())}
    try:
        await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
