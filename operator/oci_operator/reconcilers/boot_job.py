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
from .step import StepResult, ready

# A failed job is tried again after this backoff (seconds), growing with errorCount.
RETRY_BASE, RETRY_CAP = 30.0, 1800.0
JOB_ERRORS = (ErrorType.INSPECTION, ErrorType.PROVISIONING)


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
    """One pass of the job; None once the node has sent the job's final report."""
    assert ctx.bmc is not None
    assert ctx.status.provisioning is not None
    prov, status, settings = ctx.status.provisioning, ctx.status, ctx.settings
    observed = await ctx.bmc.get_power()
    status.powered_on = observed

    if prov.boot_id is None:
        if status.error_type in JOB_ERRORS and status.last_updated is not None:
            pause = backoff_delay(status.error_count, RETRY_BASE, RETRY_CAP, rand=lambda: 0.5)
            left = pause - (ctx.now - status.last_updated).total_seconds()
            if left > 0:  # a failed attempt: wait before power-cycling the server again
                return StepResult(requeue_after=left, keep_job_error=True)
        prov.boot_id, prov.boot_requested, prov.step = new_boot_id(), None, None
        return StepResult(requeue_after=0.0, keep_job_error=True)  # recorded; the next pass boots it

    report = current_report(ctx)
    if report is not None:
        prov.step = report.step.value
        if report.step is job.done:
            return None
        if report.step is BootStep.FAILED:
            return _failed(ctx, job, f"the node reported a failure: {report.message or 'no details'}")

    if prov.boot_requested is None:
        action = PowerAction.CYCLE if observed else PowerAction.ON
        prov.boot_requested = ctx.now
        status.last_power_command = PowerCommand(action=action.value, issued=ctx.now)
        ready(ctx, "False", job.reason, f"network boot to {job.purpose} requested (power {action.value})")
        ctx.event("Normal", "NetworkBoot", f"booting the host from the network to {job.purpose}")
        uefi = ctx.host.spec.boot_mode == "UEFI"
        return StepResult(
            actions=(SetBootDevice(BootDevice.PXE, persistent=False, uefi=uefi), action),
            boot_token=prov.boot_id,
            requeue_after=settings.boot_poll_interval,
            keep_job_error=True,
        )

    waited = (ctx.now - prov.boot_requested).total_seconds()
    if waited > job.timeout(settings):
        return _failed(ctx, job, f"{job.purpose} did not finish in {waited:.0f}s")
    ready(ctx, "False", job.reason, f"{job.purpose}: {_last_step(prov.step)} ({waited:.0f}s)")
    return StepResult(requeue_after=settings.boot_poll_interval, keep_job_error=True)


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
