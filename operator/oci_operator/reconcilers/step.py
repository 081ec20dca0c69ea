"""What a state's step function returns, and the Ready helper every step uses."""

from __future__ import annotations

from dataclasses import dataclass

from ..api.v1alpha1 import ErrorType, ProvisioningState
from ..api.v1alpha1.meta import ConditionStatus
from ..conditions import set_condition
from .host_context import Command, HostContext


@dataclass(frozen=True)
class StepResult:
    actions: tuple[Command, ...] = ()
    requeue_after: float | None = None
    next_state: ProvisioningState | None = None  # None: stay
    boot_token: str | None = None  # boot id whose token must exist before the actions are sent
    error: tuple[ErrorType, str, str] | None = None  # type, Ready reason, message
    keep_job_error: bool = False  # a boot job being retried keeps its error on show until it succeeds


def ready(ctx: HostContext, status: ConditionStatus, reason: str, message: str) -> None:
    ctx.status.conditions = set_condition(ctx.status.conditions, "Ready", status, reason, message, ctx.host.generation)
