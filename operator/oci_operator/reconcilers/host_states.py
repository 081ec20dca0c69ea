"""The BareMetalHost state machine: a table of provisioning states → step functions.

A step observes (reads from the BMC), records what it saw in the working status, and returns at most
one short sequence of commands (boot device, then power). The runner persists the status before it
sends them, so the intent of every command is on record before the command leaves: a restarted
operator reads it and does not repeat it.
Diagram and rules: docs/baremetalhost-states.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ..api.v1alpha1 import (
    INSPECT_ANNOTATION,
    REBOOT_ANNOTATION,
    ErrorType,
    PendingReboot,
    PowerCommand,
    ProvisioningState,
    RebootMode,
    RebootPhase,
)
from ..bmc.driver import BootDevice, PowerAction
from .boot_job import INSPECT, INSTALL, WIPE, end_job, run_boot_job
from .host_context import HostContext, SetBootDevice
from .image import choose_image, missing_image_message
from .root_device import choose_root_devices
from .step import StepResult, command_failing, ready, refused_for_good

Step = Callable[[HostContext], Awaitable[StepResult]]

# Re-observe soon after a command, or straight away after recording a change.
AFTER_COMMAND = 1.0
NOW = 0.0


async def step_registering(ctx: HostContext) -> StepResult:
    """Credentials were proven by the pass (see reconcilers.baremetalhost): the host is manageable."""
    assert ctx.host.spec.bmc is not None
    if ctx.host.status.provisioning is None:
        return StepResult(requeue_after=NOW)  # record 'registering' (and its proof) first, move on next pass
    ctx.event("Normal", "Registered", f"BMC {ctx.host.spec.bmc.address} accepted the credentials")
    inspected = ctx.status.hardware is not None or _inspection_disabled(ctx)
    next_state = ProvisioningState.AVAILABLE if inspected else ProvisioningState.INSPECTING
    return StepResult(next_state=next_state, requeue_after=NOW)


async def step_inspecting(ctx: HostContext) -> StepResult:
    waiting = await run_boot_job(ctx, INSPECT)
    if waiting is not None:
        return waiting
    hardware = ctx.status.hardware
    found = f"{hardware.cpu.count} CPUs, {hardware.ram_mebibytes} MiB, {len(hardware.disks)} disks" if hardware else ""
    ctx.event("Normal", "Inspected", f"hardware reported: {found}")
    end_job(ctx)
    return StepResult(next_state=ProvisioningState.AVAILABLE, requeue_after=NOW)


def _inspection_disabled(ctx: HostContext) -> bool:
    return ctx.host.metadata_annotations().get(INSPECT_ANNOTATION, "").lower() == "disabled"


async def step_available(ctx: HostContext) -> StepResult:
    if ctx.host.spec.role and ctx.status.hardware is None:
        return await _role_without_hardware(ctx)
    if ctx.host.spec.role and ctx.status.hardware is not None:
        chosen = choose_root_devices(ctx.status.hardware, ctx.host.spec.root_device_hints)
        if isinstance(chosen, str):
            return StepResult(error=(ErrorType.PROVISIONING, "RootDeviceNotFound", chosen), requeue_after=None)
        assert ctx.status.provisioning is not None
        ctx.status.provisioning.root_device = chosen
        disks = ", ".join(chosen)
        ctx.event("Normal", "ProvisioningStarted", f"role {ctx.host.spec.role}: installing Debian on {disks}")
        return StepResult(next_state=ProvisioningState.PROVISIONING, requeue_after=NOW)
    return await manage_power(ctx)


async def _role_without_hardware(ctx: HostContext) -> StepResult:
    """rootDeviceHints are resolved against inspected disks, so a role needs an inspection first: it is
    started now, unless inspection is disabled; then a condition says why nothing is installed."""
    if not _inspection_disabled(ctx):
        ctx.event("Normal", "InspectionRequired", f"role {ctx.host.spec.role}: inspecting first, to choose the disk")
        return StepResult(next_state=ProvisioningState.INSPECTING, requeue_after=NOW)
    power = await manage_power(ctx)
    if power.actions or power.error is not None:
        return power  # the power follows spec.online first; the role waits
    message = (
        f"role {ctx.host.spec.role} is not installed: the host was never inspected, so no disk can be chosen by"
        f" rootDeviceHints; remove the {INSPECT_ANNOTATION}: disabled annotation to inspect it, then it is installed"
    )
    return StepResult(error=(ErrorType.PROVISIONING, "InspectionRequired", message), requeue_after=power.requeue_after)


async def step_provisioning(ctx: HostContext) -> StepResult:
    if not ctx.host.spec.role:
        return _deprovision(ctx, "the role was removed during the installation")
    assert ctx.status.provisioning is not None
    if ctx.status.provisioning.boot_id is None:  # an attempt starts: the image is chosen now, kept for the job
        chosen = choose_image(ctx.host, ctx.role, ctx.settings.default_image)
        if chosen is None and ctx.settings.require_image:
            message = missing_image_message(ctx.host)
            return StepResult(error=(ErrorType.PROVISIONING, "ImageMissing", message), requeue_after=None)
        ctx.status.provisioning.image = chosen
    waiting = await run_boot_job(ctx, INSTALL)
    if waiting is not None:
        return waiting
    end_job(ctx)
    image = ctx.status.provisioning.image
    how = f" from {image.url} (sha256 {image.checksum}, the {image.source.value}'s image)" if image else ""
    ctx.event("Normal", "Provisioned", f"Debian is installed{how}; the host boots from its disk")
    uefi = ctx.host.spec.boot_mode == "UEFI"
    # The boot server already answers "boot from disk" for this host; the BMC is told too, if we use it.
    disk = (SetBootDevice(BootDevice.DISK, persistent=True, uefi=uefi),) if ctx.boot_device_control else ()
    return StepResult(
        actions=disk,
        next_state=ProvisioningState.PROVISIONED,
        requeue_after=AFTER_COMMAND,
    )


async def step_provisioned(ctx: HostContext) -> StepResult:
    if not ctx.host.spec.role:
        return _deprovision(ctx, "the role was removed")
    return await manage_power(ctx)


async def step_deprovisioning(ctx: HostContext) -> StepResult:
    waiting = await run_boot_job(ctx, WIPE)
    if waiting is not None:
        return waiting
    end_job(ctx)
    assert ctx.status.provisioning is not None
    ctx.status.provisioning.root_device = ctx.status.provisioning.image = None
    ctx.event("Normal", "Deprovisioned", "partition tables wiped; the host is available again")
    off = (PowerAction.OFF,) if ctx.status.powered_on else ()
    if off:
        ctx.status.last_power_command = PowerCommand(action="off", issued=ctx.now)
    return StepResult(actions=off, next_state=ProvisioningState.AVAILABLE, requeue_after=AFTER_COMMAND)


def _deprovision(ctx: HostContext, why: str) -> StepResult:
    end_job(ctx)
    ctx.event("Normal", "DeprovisioningStarted", f"{why}: wiping the disks before the host is reused")
    return StepResult(next_state=ProvisioningState.DEPROVISIONING, requeue_after=NOW)


STATES: dict[ProvisioningState, Step] = {
    ProvisioningState.REGISTERING: step_registering,
    ProvisioningState.INSPECTING: step_inspecting,
    ProvisioningState.AVAILABLE: step_available,
    ProvisioningState.PROVISIONING: step_provisioning,
    ProvisioningState.PROVISIONED: step_provisioned,
    ProvisioningState.DEPROVISIONING: step_deprovisioning,
}


async def manage_power(ctx: HostContext) -> StepResult:
    """Observe the power, record a difference, then act once on it: reboot requests, then spec.online.
    What was seen and the intent it leads to are persisted together, before the command leaves."""
    assert ctx.bmc is not None
    observed = await ctx.bmc.get_power()
    status = ctx.status
    if status.powered_on != observed:
        # Recorded in the working status: it is written with whatever this pass decides below, and
        # before any command that decision sends (one write, not one for the sight and one for the intent).
        before = "unknown" if status.powered_on is None else ("on" if status.powered_on else "off")
        status.powered_on = observed
        ctx.event("Normal", "PowerStateChanged", f"power is {'on' if observed else 'off'} (was {before})")

    reboot = reboot_step(ctx, observed)
    if reboot is not None:
        return reboot

    desired = ctx.host.spec.online
    if desired == observed:
        ready(ctx, "True", "Available", f"power is {'on' if observed else 'off'} as requested")
        return StepResult(requeue_after=ctx.settings.next_idle_poll())

    action = PowerAction.ON if desired else PowerAction.OFF
    if refused_for_good(ctx):
        return StepResult(requeue_after=ctx.settings.next_poll(), keep_error=(ErrorType.POWER_MANAGEMENT,))
    last = status.last_power_command
    if last is not None and last.action == action.value:
        sent = last.issued.strftime("%H:%M:%S")
        waited = (ctx.now - last.issued).total_seconds()
        if waited < ctx.settings.settle_timeout:
            # Sent already (perhaps by a previous operator process): give the server time, don't repeat.
            ready(ctx, "False", "PowerChanging", f"waiting for power {action.value} (sent at {sent})")
            return StepResult(requeue_after=min(AFTER_COMMAND * 2, ctx.settings.settle_timeout - waited))
        if last.resent:
            # Twice sent, twice not obeyed: a person has to look; a new intent (spec.online) tries again.
            message = (
                f"power {action.value} was sent twice (last at {sent}) and the BMC still reports"
                f" {'on' if observed else 'off'}; check the server, or change spec.online to try again"
            )
            return StepResult(
                error=(ErrorType.POWER_MANAGEMENT, "PowerCommandNotObeyed", message),
                requeue_after=ctx.settings.next_poll(),
            )
        # Observation beats memory: the settle time is over and the power has not changed, so the
        # recorded command did not land (lost on the wire, or never sent by a killed process).
        status.last_power_command = PowerCommand(action=action.value, issued=ctx.now, resent=True)
        ctx.event(
            "Warning",
            "PowerCommandResent",
            f"power {action.value} recorded at {sent} did not land (the BMC still reports"
            f" {'on' if observed else 'off'} after {ctx.settings.settle_timeout:.0f}s): sending it again, once",
        )
        return StepResult(actions=(action,), requeue_after=AFTER_COMMAND, keep_error=(ErrorType.POWER_MANAGEMENT,))
    status.last_power_command = PowerCommand(action=action.value, issued=ctx.now)
    if command_failing(ctx):  # a retry after a refused command keeps the refusal on show until it passes
        return StepResult(actions=(action,), requeue_after=AFTER_COMMAND, keep_error=(ErrorType.POWER_MANAGEMENT,))
    ready(ctx, "False", "PowerChanging", f"powering {action.value}")
    return StepResult(actions=(action,), requeue_after=AFTER_COMMAND)


def reboot_step(ctx: HostContext, observed: bool) -> StepResult | None:
    """Drive a reboot asked for by annotation; None when there is none to drive."""
    status = ctx.status
    requested = ctx.host.metadata_annotations().get(REBOOT_ANNOTATION)
    pending = status.pending_reboot

    if pending is None:
        if requested is None:
            return None
        mode = RebootMode.SOFT if requested.strip().lower() == "soft" else RebootMode.HARD
        if requested.strip().lower() not in ("", "hard", "soft"):
            ctx.event("Warning", "InvalidReboot", f"{REBOOT_ANNOTATION}={requested!r}: expected hard or soft")
            ctx.remove_annotations.append(REBOOT_ANNOTATION)
            return StepResult(requeue_after=NOW)
        if not observed:
            ctx.event("Normal", "RebootSkipped", "the server is off; nothing to reboot")
            ctx.remove_annotations.append(REBOOT_ANNOTATION)
            return StepResult(requeue_after=NOW)
        phase, action = (
            (RebootPhase.SHUTTING_DOWN, PowerAction.SOFT_OFF)
            if mode is RebootMode.SOFT
            else (RebootPhase.CYCLING, PowerAction.CYCLE)
        )
        status.pending_reboot = PendingReboot(mode=mode, phase=phase, started=ctx.now)
        ready(ctx, "False", "Rebooting", f"{mode.value} reboot requested")
        return StepResult(actions=(action,), requeue_after=AFTER_COMMAND)

    if pending.phase is RebootPhase.CYCLING:
        return finish_reboot(ctx, "power cycled")
    if not observed:
        return finish_reboot(ctx, "the OS shut down" if pending.phase is RebootPhase.SHUTTING_DOWN else "forced off")
    waited = (ctx.now - pending.started).total_seconds()
    if pending.phase is RebootPhase.SHUTTING_DOWN and waited >= ctx.settings.soft_reboot_timeout:
        ctx.event("Warning", "SoftRebootTimedOut", f"the OS did not shut down in {waited:.0f}s; forcing power off")
        status.pending_reboot = pending.model_copy(update={"phase": RebootPhase.FORCING_OFF})
        return StepResult(actions=(PowerAction.OFF,), requeue_after=AFTER_COMMAND)
    ready(ctx, "False", "Rebooting", f"waiting for the OS to shut down ({waited:.0f}s)")
    return StepResult(requeue_after=AFTER_COMMAND)


def finish_reboot(ctx: HostContext, how: str) -> StepResult:
    """The reboot's command went out once; the annotation goes, and spec.online powers it back on."""
    assert ctx.status.pending_reboot is not None
    ctx.event("Normal", "Rebooted", f"{ctx.status.pending_reboot.mode.value} reboot: {how}")
    ctx.status.pending_reboot = None
    ctx.status.last_power_command = None
    ctx.remove_annotations.append(REBOOT_ANNOTATION)
    return StepResult(requeue_after=NOW)
