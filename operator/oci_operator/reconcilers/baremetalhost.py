"""One reconcile pass of a BareMetalHost: references, registration, then its state's step."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime

from ..api.v1alpha1 import (
    BareMetalHost,
    BareMetalHostStatus,
    ErrorType,
    OperationalStatus,
    ProvisioningState,
    ProvisioningStatus,
)
from ..api.v1alpha1.baremetalhost import CredentialsReference
from ..api.v1alpha1.meta import Condition
from ..bmc.access import BMCAccess
from ..bmc.credentials import CredentialsCheck
from ..bmc.driver import (
    BMCAuthError,
    BMCCommandError,
    BMCCommandUnsupported,
    BMCError,
    BMCNotSent,
    BMCTimeout,
    BMCUnreachable,
    BMCUnsupported,
)
from ..bmc.governor import NotNow, backoff_delay
from ..conditions import find, set_condition, truncate
from ..conditions import now as utcnow
from .desired_state import RoleLookup, judge_convergence
from .host_context import HostContext, HostSettings, PassResult
from .host_states import NOW, STATES
from .outcome import EventSpec, ready_transition_event, with_kstatus
from .step import COMMAND_UNSUPPORTED, StepResult, ready

# Consecutive failed calls before a BMC that does not answer is reported on the host.
UNREACHABLE_AFTER = 2
# While references are broken there is no BMC to protect: look again on this backoff (seconds).
REFERENCE_BACKOFF_BASE, REFERENCE_BACKOFF_CAP = 2.0, 300.0

# A pass walks through at most this many states (a cycle between states would otherwise never end).
MAX_STATES_PER_PASS = 4

# Converged reasons that mean "the agent has yet to apply it", not a failure.
CONVERGING = ("Converging", "NotRendered")

# Ready while a state's work is still ahead, written in the same status as the state itself: a reader
# (kubectl wait, Argo CD, kstatus) must never see a new state under the previous state's Ready=True.
ENTERING: dict[ProvisioningState, tuple[str, str]] = {
    ProvisioningState.REGISTERING: ("Registering", "proving the BMC credentials"),
    ProvisioningState.INSPECTING: ("Inspecting", "inspection starts"),
    ProvisioningState.AVAILABLE: ("PowerChanging", "checking the power against spec.online"),
    ProvisioningState.PROVISIONING: ("Provisioning", "installation starts"),
    ProvisioningState.PROVISIONED: ("PowerChanging", "checking the power against spec.online"),
    ProvisioningState.DEPROVISIONING: ("Deprovisioning", "wiping starts"),
}


def _working_copy(host: BareMetalHost) -> BareMetalHostStatus:
    status = host.status.model_copy(deep=True)
    status.observed_generation = host.generation
    if status.provisioning is None:
        status.provisioning = ProvisioningStatus(state=ProvisioningState.REGISTERING)
    return status


def _finish(host: BareMetalHost, status: BareMetalHostStatus, events: list[EventSpec]) -> list[EventSpec]:
    """Stamp lastUpdated when anything changed; add the Event for a Ready transition.

    Every condition was judged against this generation, even one whose value did not change: say so,
    as health checks compare a condition's observedGeneration with metadata.generation."""
    status.conditions = [
        c.model_copy(update={"observed_generation": host.generation})
        for c in _with_convergence(with_kstatus(status.conditions, host.generation), host.generation)
    ]
    status.conditions = keep_transition_times(status.conditions, host.status.conditions)
    if status.model_dump(exclude={"last_updated"}) != host.status.model_dump(exclude={"last_updated"}):
        status.last_updated = utcnow()
    transition = ready_transition_event(host.status, status)
    return [*events, transition] if transition else events


def keep_transition_times(conditions: list[Condition], stored: list[Condition]) -> list[Condition]:
    """A pass may go through several states: a condition that changed on the way but ends with the status
    it has on record did not change for any reader, so it keeps its lastTransitionTime on record."""
    kept = []
    for condition in conditions:
        before = find(stored, condition.type)
        if before is not None and before.status == condition.status:
            condition = condition.model_copy(update={"last_transition_time": before.last_transition_time})
        kept.append(condition)
    return kept


def _with_convergence(conditions: list[Condition], generation: int) -> list[Condition]:
    """A Ready host whose role is not applied yet is still in progress (or stalled, when it failed) for
    kstatus too, as it is for the Argo CD health check: Flux and Argo CD wait for the same thing."""
    ready, converged = find(conditions, "Ready"), find(conditions, "Converged")
    if ready is None or ready.status != "True" or converged is None or converged.status == "True":
        return conditions
    kind = "Reconciling" if converged.reason in CONVERGING else "Stalled"
    return set_condition(conditions, kind, "True", converged.reason, converged.message, generation)


def _clear_errors(status: BareMetalHostStatus) -> None:
    status.operational_status = OperationalStatus.OK
    status.error_type = None
    status.error_message = None
    status.error_count = 0


def _set_error(status: BareMetalHostStatus, generation: int, error_type: ErrorType, reason: str, message: str) -> None:
    status.operational_status = OperationalStatus.ERROR
    status.error_type = error_type
    status.error_message = truncate(message)
    status.error_count += 1  # consecutive failures: drives backoff and alerts
    status.conditions = set_condition(status.conditions, "Ready", "False", reason, message, generation)


def _on_show(status: BareMetalHostStatus, error_type: ErrorType, reason: str, message: str) -> bool:
    ready = find(status.conditions, "Ready")
    return status.error_type is error_type and ready is not None and (ready.reason, ready.message) == (reason, message)


def _advice(command: str) -> str:
    """What the user can do about a command this BMC does not support (it is not retried until the spec changes)."""
    if command.startswith("set boot device"):
        return (
            "this BMC cannot set the boot device: set spec.bootDeviceControl: false (the server then boots from"
            " the network first and the boot server decides between a boot job and its disk)"
        )
    return f"this BMC cannot do {command}: fix or update the BMC, then edit the host's spec to try again"


def record_bmc_error(host: BareMetalHost, status: BareMetalHostStatus, exc: BMCError) -> None:
    """A BMC call failed: say how, on the host."""
    registering = status.provisioning is None or status.provisioning.state is ProvisioningState.REGISTERING
    if isinstance(exc, BMCAuthError):
        reason, error_type = "CredentialsRejected", ErrorType.REGISTRATION
        status.good_credentials = None  # prove them again once they change
    elif isinstance(exc, BMCUnsupported):
        reason, error_type = "BMCUnsupported", ErrorType.REGISTRATION
    elif isinstance(exc, BMCCommandUnsupported):
        reason = COMMAND_UNSUPPORTED
        error_type = ErrorType.REGISTRATION if registering else ErrorType.POWER_MANAGEMENT
        _set_error(status, host.generation, error_type, reason, f"{exc}; {_advice(exc.command)}")
        return
    elif isinstance(exc, BMCCommandError):
        reason = "PowerCommandFailed"
        error_type = ErrorType.REGISTRATION if registering else ErrorType.POWER_MANAGEMENT
    else:
        reason = "BMCUnreachable"
        error_type = ErrorType.REGISTRATION if registering else ErrorType.POWER_MANAGEMENT
    _set_error(status, host.generation, error_type, reason, str(exc))


def _not_sent(persisted: BareMetalHostStatus) -> BareMetalHostStatus:
    """The recorded intent, withdrawn: the commands did not (all) go out, so sending them again is no duplicate."""
    status = persisted.model_copy(deep=True)
    status.last_power_command = None
    if status.provisioning is not None and status.provisioning.boot_requested is not None:
        status.provisioning.boot_requested = None
    return status


def record_action_deferred(persisted: BareMetalHostStatus) -> PassResult:
    """The governor said "not now" before the commands went out: withdraw the intent, no error."""
    status = _not_sent(persisted)
    return PassResult(status=status, events=[], deferred=True)


def transient(exc: BMCError, failures: int) -> bool:
    """A BMC that did not answer once is not yet an outage: under packet loss single calls fail now and
    then, and reporting each one made hosts flap between Available and BMCUnreachable (a Warning each
    time). The host says BMCUnreachable from the second consecutive failure on (so within two polls);
    the breaker's backoff applies from the first."""
    return isinstance(exc, (BMCUnreachable, BMCTimeout)) and failures < UNREACHABLE_AFTER


def may_have_landed(exc: BMCError) -> bool:
    """No answer to a command that left: only the reply may have been lost, so the BMC may have done it.
    A refusal, or no answer before the command left (login failed, session lost), means it was not done."""
    return isinstance(exc, (BMCUnreachable, BMCTimeout)) and not isinstance(exc, BMCNotSent)


def record_action_failure(
    host: BareMetalHost,
    persisted: BareMetalHostStatus,
    exc: BMCError,
    failures: int = UNREACHABLE_AFTER,
    power_attempted: bool = True,
) -> PassResult:
    """The action sent after persisting `persisted` failed: the next status and its Events.
    `failures`: the BMC's consecutive failures, this one included. `power_attempted`: False when an
    earlier command of the pass (the boot device) failed, so the power command never left.

    A command that was not done (refused, or never sent) has its intent withdrawn: sending it again is
    no duplicate. A command that left and got no answer may have been done (only the reply was lost):
    its intent stays, and a settle time later the observed power decides whether it is sent again
    (once) - never a second power cycle because a reply was lost."""
    keep = power_attempted and may_have_landed(exc)
    status = persisted.model_copy(deep=True) if keep else _not_sent(persisted)
    if transient(exc, failures):
        return PassResult(status=status, events=[], deferred=True)
    record_bmc_error(host, status, exc)
    before = host.model_copy(update={"status": persisted})
    return PassResult(status=status, events=_finish(before, status, []))


def within_poll(delay: float, settings: HostSettings) -> float:
    """Passes come at least every poll interval, even in a long backoff: a pass inside the backoff only
    re-reads the Secret (the breaker keeps the BMC untouched), and new credentials reset the breaker, so
    a corrected Secret heals the host within one poll interval rather than one backoff."""
    return min(delay, settings.poll_interval)


def _needs_registration(status: BareMetalHostStatus, credentials: CredentialsCheck) -> bool:
    good = status.good_credentials
    proven = credentials.credentials
    return (
        proven is None
        or good is None
        or (good.name, good.resource_version)
        != (
            credentials.secret_name,
            proven.resource_version,
        )
    )


def _reference(credentials: CredentialsCheck) -> CredentialsReference:
    version = credentials.credentials.resource_version if credentials.credentials else ""
    return CredentialsReference(name=credentials.secret_name, resource_version=version)


def _still_rejected(status: BareMetalHostStatus, credentials: CredentialsCheck, exc: BMCError) -> bool:
    """The BMC rejected these very credentials before; a lost answer now does not make it unreachable (under
    packet loss a login fails either way): the precise reason stays, and no Warning flips back and forth."""
    return isinstance(exc, (BMCUnreachable, BMCTimeout)) and status.rejected_credentials == _reference(credentials)


def _record_step(ctx: HostContext, step: StepResult) -> None:
    """A step's outcome on the working status: its error (or the end of one), and the state it moves to."""
    status = ctx.status
    assert status.provisioning is not None
    if step.error is not None:
        if not _on_show(status, *step.error):  # stated again, not failed again: no new count, no write
            _set_error(status, ctx.host.generation, *step.error)
    elif status.error_type not in step.keep_error:
        _clear_errors(status)
    if step.next_state is not None and step.next_state is not status.provisioning.state:
        status.provisioning.state = step.next_state
        if step.error is None:
            ready(ctx, "False", *ENTERING[step.next_state])


def _moves_on_now(ctx: HostContext, step: StepResult) -> bool:
    """The step only moved the host to another state, at once: no command to send (so no intent to
    persist first), no error, no token, no annotation to remove (the next step reads the annotations)."""
    assert ctx.status.provisioning is not None
    return (
        step.next_state is not None
        and step.next_state is not ctx.status.provisioning.state
        and step.requeue_after == NOW
        and not step.actions
        and step.error is None
        and step.boot_token is None
        and not ctx.remove_annotations
    )


async def _run_states(ctx: HostContext) -> StepResult:
    """The current state's step, then, as long as a step only moves the host on, the next state's step
    in the same pass: the states passed through are one status write, not one each. A step that sends
    a command ends the pass, so its intent is still persisted before the command leaves."""
    assert ctx.status.provisioning is not None
    step = await STATES[ctx.status.provisioning.state](ctx)
    for _ in range(MAX_STATES_PER_PASS - 1):
        if not _moves_on_now(ctx, step):
            break
        _record_step(ctx, step)
        step = await STATES[ctx.status.provisioning.state](ctx)
    return step


async def reconcile_pass(
    host: BareMetalHost,
    credentials: CredentialsCheck,
    bmc: BMCAccess | None,
    settings: HostSettings,
    now: datetime | None = None,
    role: RoleLookup = None,
    role_secrets: Mapping[str, str] | None = None,
) -> PassResult:
    status = _working_copy(host)
    assert status.provisioning is not None
    if host.spec.bmc is None:
        # Discovered on the provisioning network: nothing to manage until someone says how.
        status.provisioning.state = ProvisioningState.DISCOVERED
        status.operational_status = OperationalStatus.DISCOVERED
        status.conditions = set_condition(
            status.conditions, "Ready", "False", "AwaitingBMC", "set spec.bmc to manage this host", host.generation
        )
        return PassResult(status, _finish(host, status, []))
    if status.provisioning.state is ProvisioningState.DISCOVERED:
        status.provisioning.state = ProvisioningState.REGISTERING
    if credentials.problem is not None or credentials.credentials is None or bmc is None:
        problem = credentials.problem.value if credentials.problem else "CredentialsMissing"
        _set_error(status, host.generation, ErrorType.REGISTRATION, problem, credentials.detail)
        retry = backoff_delay(status.error_count, REFERENCE_BACKOFF_BASE, REFERENCE_BACKOFF_CAP)
        return PassResult(status, _finish(host, status, []), requeue_after=min(retry, settings.poll_interval))

    ctx = HostContext(host, status, credentials, bmc, settings, now or utcnow(), role=role)
    try:
        if _needs_registration(status, credentials):
            await bmc.check_credentials()
            status.good_credentials = _reference(credentials)
            status.rejected_credentials = None
            ready(ctx, "False", "Registering", "the BMC accepted the credentials")
        step = await _run_states(ctx)
    except NotNow as wait:
        # Nothing was sent: change nothing, come back when the governor allows.
        return PassResult(host.status, [], requeue_after=within_poll(wait.retry_after, settings), deferred=True)
    except BMCError as exc:
        retry = within_poll(bmc.governor.retry_after(bmc.key), settings)
        if transient(exc, bmc.governor.failures(bmc.key)) or _still_rejected(status, credentials, exc):
            return PassResult(host.status, [], requeue_after=retry, deferred=True)
        record_bmc_error(host, status, exc)
        if isinstance(exc, BMCAuthError):
            status.rejected_credentials = _reference(credentials)
        return PassResult(status, _finish(host, status, ctx.events), requeue_after=retry)
    _record_step(ctx, step)
    # Templates render in worker processes and may take seconds: never on the event loop.
    desired, converge_events = await asyncio.to_thread(judge_convergence, host, status, role, role_secrets)
    requeue = step.requeue_after
    converged = find(status.conditions, "Converged")
    if requeue is not None and converged is not None and converged.status != "True":
        requeue = min(requeue, settings.next_poll())  # an agent's report is judged at the usual pace
    return PassResult(
        status,
        _finish(host, status, [*ctx.events, *converge_events]),
        desired=desired,
        actions=step.actions,
        boot_token=step.boot_token,
        remove_annotations=ctx.remove_annotations,
        requeue_after=requeue,
    )
