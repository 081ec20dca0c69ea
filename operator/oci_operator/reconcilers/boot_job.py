"""A network boot job: PXE-boot the host once, then wait for the node's final report or a timeout.

Inspecting, provisioning and deprovisioning are each one job. The job's boot id is recorded first;
the token Secret for it is created before the BMC commands go out (see PassResult.boot_token); the
boot request is recorded with the power command before it is sent, so a restarted operator waits
for the node instead of power-cycling it again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from ..api.v1alpha1 import ErrorType, PowerCommand
from ..api.v1alpha1.hardware import BootReport, BootStep
from ..bmc.driver import BootDevice, PowerAction
from ..bmc.governor import backoff_delay
from .host_context import HostContext, HostSettings, SetBootDevice
from .step import StepResult, command_failing, ready, refused_for_good

# A failed job is tried again after this backoff (seconds), growing with errorCount.
RETRY_BASE, RETRY_CAP = 30.0, 1800.0
# A wait ends this much past its deadline, so the pass it ends in finds the deadline passed.
DEADLINE_MARGIN = 0.1
JOB_ERRORS: tuple[ErrorType, ...] = (ErrorType.INSPECTION, ErrorType.PROVISIONING)


@dataclass(frozen=True)
class BootJob:
    purpose: str  # what the node boots for: inspect, install, wipe (the boot server's script modes)
    done: BootStep  # the report that ends the job
    reason: str  # Ready reason while it runs
    error_type: ErrorType

    def timeout(self, settings: HostSettings) -> float:
        return {
            "inspect": settings.inspect_timeout,
            "install": settings.provision_timeout,
            "wipe": settings.deprovision_timeout,
        }[self.purpose]


INSPECT = BootJob("inspect", BootStep.INSPECTED, "Inspecting", ErrorType.INSPECTION)
INSTALL = BootJob("install", BootStep.INSTALLED, "Provisioning", ErrorType.PROVISIONING)
WIPE = BootJob("wipe", BootStep.WIPED, "Deprovisioning", ErrorType.PROVISIONING)


def new_boot_id() -> str:
    return secrets.token_hex(8)


def current_report(ctx: HostContext) -> BootReport | None:
    """The node's last report, if it belongs to the job in progress (older jobs' reports are ignored)."""
    prov, report = ctx.status.provisioning, ctx.status.boot_report
    if prov is None or report is None or prov.boot_id is None or report.boot_id != prov.boot_id:
        return None
    return report


def end_job(ctx: HostContext) -> None:
    prov = ctx.status.provisioning
    assert prov is not None
    prov.boot_id = prov.boot_requested = prov.step = None
    ctx.status.last_power_command = None


async def run_boot_job(ctx: HostContext, job: BootJob) -> StepResult | None:
    """One pass of the job; None once the node has sent the job's final report.

    Only two kinds of pass talk to the BMC: the one that boots the host, and the one a settle time later
    that checks the power command landed. Waiting passes read the host from the API only, and write
    nothing unless the node reported something."""
    assert ctx.bmc is not None
    assert ctx.status.provisioning is not None
    prov, status, settings = ctx.status.provisioning, ctx.status, ctx.settings
    keep = JOB_ERRORS

    if prov.boot_id is None:
        if status.error_type in JOB_ERRORS and status.last_updated is not None:
            pause = backoff_delay(status.error_count, RETRY_BASE, RETRY_CAP, rand=lambda: 0.5)
            left = pause - (ctx.now - status.last_updated).total_seconds()
            if left > 0:  # a failed attempt: wait before power-cycling the server again
                return StepResult(requeue_after=left, keep_error=keep)
        prov.boot_id, prov.boot_requested, prov.step = new_boot_id(), None, None
        ctx.event("Normal", "NetworkBoot", f"booting the host from the network to {job.purpose}")
        return StepResult(requeue_after=0.0, keep_error=keep)  # recorded; the next pass boots it

    report = current_report(ctx)
    if report is not None:
        prov.step = report.step.value
        status.powered_on = True  # the node called back for this job: it is running (observed, not assumed)
        if report.step is job.done:
            return None
        if report.step is BootStep.FAILED:
            return _failed(ctx, job, f"the node reported a failure: {report.message or 'no details'}")

    if prov.boot_requested is None:
        if refused_for_good(ctx):
            return StepResult(requeue_after=None, keep_error=(*keep, ErrorType.POWER_MANAGEMENT))
        return await _boot(ctx, job)

    waited = (ctx.now - prov.boot_requested).total_seconds()
    if waited > job.timeout(settings):
        return _failed(ctx, job, f"{job.purpose} did not finish in {waited:.0f}s")
    if prov.step is None and waited > settings.boot_script_timeout:
        # On, but never asked for its script (the boot server was down when it PXE-booted, say): the
        # firmware gave up. Retried like any failed job, without waiting for the whole job's timeout.
        return _failed(ctx, job, f"the node did not fetch its boot script in {waited:.0f}s")
    pending = status.last_power_command
    if pending is not None and report is not None:
        status.last_power_command = None  # the node called back: the boot landed
    elif pending is not None:
        since = (ctx.now - pending.issued).total_seconds()
        if since >= settings.settle_timeout:
            return await _check_boot_landed(ctx, job, pending, keep)
        _progress(ctx, job, f"{job.purpose}: {_last_step(prov.step)}")
        left = settings.settle_timeout - since
        return StepResult(requeue_after=min(settings.boot_poll_interval, left), keep_error=keep)
    # The boot went out (a failed send withdraws boot_requested): an earlier refusal is over.
    _progress(ctx, job, f"{job.purpose}: {_last_step(prov.step)}")
    return StepResult(requeue_after=_until_deadline(ctx, job), keep_error=keep)


def _until_deadline(ctx: HostContext, job: BootJob) -> float:
    """A waiting job looks again at its next deadline: the node's reports wake it sooner (the handler
    watches status.bootReport), so waiting costs nothing per host. The poll interval only bounds the
    wait, for a report whose watch event was missed."""
    prov, settings = ctx.status.provisioning, ctx.settings
    assert prov is not None
    assert prov.boot_requested is not None
    waited = (ctx.now - prov.boot_requested).total_seconds()
    left = job.timeout(settings) - waited
    if prov.step is None:
        left = min(left, settings.boot_script_timeout - waited)
    return min(settings.boot_poll_interval, max(0.0, left) + DEADLINE_MARGIN)


def _progress(ctx: HostContext, job: BootJob, message: str) -> None:
    """Ready says how the job goes, unless a failed attempt's error is on show: it stays until a job
    succeeds, so a retried job that fails again is no new Warning (one per distinct error, not per retry)."""
    if ctx.status.error_type not in JOB_ERRORS:
        ready(ctx, "False", job.reason, message)


def _boot_device(ctx: HostContext) -> tuple[SetBootDevice, ...]:
    if not ctx.boot_device_control:
        return ()  # the server boots from the network first; the boot server's answer for it decides
    return (SetBootDevice(BootDevice.PXE, persistent=False, uefi=ctx.host.spec.boot_mode == "UEFI"),)


async def _boot(ctx: HostContext, job: BootJob) -> StepResult:
    """Observe, record the boot and its power command, then (after the runner persisted it) send them."""
    assert ctx.bmc is not None
    assert ctx.status.provisioning is not None
    prov, status = ctx.status.provisioning, ctx.status
    observed = await ctx.bmc.get_power()
    status.powered_on = observed
    action = PowerAction.CYCLE if observed else PowerAction.ON
    prov.boot_requested = ctx.now
    status.last_power_command = PowerCommand(action=action.value, issued=ctx.now)
    keep: tuple[ErrorType, ...] = JOB_ERRORS
    if command_failing(ctx):  # a retry after a refused command keeps the refusal on show until it passes
        keep = (*keep, ErrorType.POWER_MANAGEMENT)
    else:
        _progress(ctx, job, f"network boot to {job.purpose} requested (power {action.value})")
    return StepResult(
        actions=(*_boot_device(ctx), action),
        boot_token=prov.boot_id,
        requeue_after=min(ctx.settings.boot_poll_interval, ctx.settings.settle_timeout),
        keep_error=keep,
    )


async def _check_boot_landed(
    ctx: HostContext, job: BootJob, pending: PowerCommand, keep: tuple[ErrorType, ...]
) -> StepResult:
    """The settle time has passed without a word from the node: the observed power decides whether the
    boot's command landed. Off means it was lost (say, the operator was killed before it left): send it
    again, once per boot; a second loss fails the job (retried with a new boot id after a backoff)."""
    assert ctx.bmc is not None
    assert ctx.status.provisioning is not None
    status, settings = ctx.status, ctx.settings
    observed = await ctx.bmc.get_power()
    status.powered_on = observed
    if observed:
        status.last_power_command = None  # on: it landed (a cycle can only be judged by the node calling back)
        return StepResult(requeue_after=_until_deadline(ctx, job), keep_error=keep)
    if pending.resent:
        return _failed(ctx, job, "power on was sent twice and the BMC still reports the server off")
    device: tuple[SetBootDevice, ...] = ()
    if ctx.boot_device_control and await ctx.bmc.get_boot_device() is not BootDevice.PXE:
        device = _boot_device(ctx)  # read back: the boot device was lost with the power command
    status.last_power_command = PowerCommand(action=PowerAction.ON.value, issued=ctx.now, resent=True)
    sent = pending.issued.strftime("%H:%M:%S")
    ctx.event(
        "Warning",
        "PowerCommandResent",
        f"power {pending.action} recorded at {sent} for the {job.purpose} boot did not land (the BMC still"
        f" reports off after {settings.settle_timeout:.0f}s): sending power on again, once",
    )
    pause = min(settings.boot_poll_interval, settings.settle_timeout)
    return StepResult(actions=(*device, PowerAction.ON), requeue_after=pause, keep_error=keep)


def _last_step(step: str | None) -> str:
    return f"last step reached: {step}" if step else "waiting for the node to fetch its boot script"


def _failed(ctx: HostContext, job: BootJob, what: str) -> StepResult:
    """Record the failure with the last step reached; the next attempt gets a new boot id and token."""
    prov = ctx.status.provisioning
    assert prov is not None
    message = f"{what}; {_last_step(prov.step)}"
    end_job(ctx)
    pause = backoff_delay(ctx.status.error_count + 1, RETRY_BASE, RETRY_CAP, rand=lambda: 0.5)
    return StepResult(error=(job.error_type, f"{job.reason}Failed", message), requeue_after=pause)
