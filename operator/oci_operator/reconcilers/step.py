"""What a state's step function returns, and the Ready helper every step uses."""

from __future__ import annotations

from dataclasses import dataclass

from ..api.v1alpha1 import ErrorType, ProvisioningState
from ..api.v1alpha1.meta import ConditionStatus
from ..conditions import find, set_condition
from .host_context import Command, HostContext


@dataclass(frozen=True)
class StepResult:
    actions: tuple[Command, ...] = ()
    requeue_after: float | None = None
    next_state: ProvisioningState | None = None  # None: stay
    boot_token: str | None = None  # boot id whose token must exist before the actions are sent
    error: tuple[ErrorType, str, str] | None = None  # type, Ready reason, message
    keep_error: tuple[ErrorType, ...] = ()  # errors of these types stay on show (a job retried, a command refused)


def ready(ctx: HostContext, status: ConditionStatus, reason: str, message: str) -> None:
    ctx.status.conditions = set_condition(ctx.status.conditions, "Ready", status, reason, message, ctx.host.generation)


def command_failing(ctx: HostContext) -> bool:
    """A BMC command failed last time: its error stays on show while it is retried, so Ready does not flip
    between the error and a progress reason (one Warning per distinct error, not one per retry)."""
    return ctx.status.error_type is ErrorType.POWER_MANAGEMENT


def refused_for_good(ctx: HostContext) -> bool:
    """The BMC said it does not support a command we need, and the spec has not changed since: don't retry."""
    cond = find(ctx.status.conditions, "Ready")
    return cond is not None and cond.reason == COMMAND_UNSUPPORTED and cond.observed_generation == ctx.host.generation


COMMAND_UNSUPPORTED = "BMCCommandUnsupported"
