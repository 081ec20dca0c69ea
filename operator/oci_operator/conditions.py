"""Kubernetes-convention conditions: keyed by type, lastTransitionTime moves only when status does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from .api.v1alpha1.meta import Condition, ConditionStatus

# Longest message kept in a condition or an error field. Messages can quote what nodes and users
# wrote (hardware reports, template errors); far below the model's 32 KiB so a long one never makes
# the whole status invalid, and a status with thousands of hosts stays small.
MESSAGE_LIMIT = 4096


def truncate(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """`message` cut to `limit` characters, saying how much was left out."""
    if len(message) <= limit:
        return message
    note = f"... (truncated: {len(message)} characters in all)"
    return message[: limit - len(note)] + note


def now() -> datetime:
    """Seconds precision: the API server stores RFC 3339 without fractions."""
    return datetime.now(UTC).replace(microsecond=0)


def find(conditions: Sequence[Condition], cond_type: str) -> Condition | None:
    return next((c for c in conditions if c.type == cond_type), None)


def set_condition(
    conditions: Sequence[Condition],
    cond_type: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    generation: int,
    at: datetime | None = None,
) -> list[Condition]:
    """Return the list with `cond_type` set; other conditions keep their order and values."""
    previous = find(conditions, cond_type)
    changed = previous is None or previous.status != status
    updated = Condition(
        type=cond_type,
        status=status,
        reason=reason,
        message=truncate(message),
        last_transition_time=(at or now()) if changed or previous is None else previous.last_transition_time,
        observed_generation=generation,
    )
    result = [updated if c.type == cond_type else c for c in conditions]
    if previous is None:
        result.append(updated)
    return result


def without(conditions: Sequence[Condition], cond_type: str) -> list[Condition]:
    return [c for c in conditions if c.type != cond_type]


SHARED_BMC = "BMCAddressShared"


def note_shared_bmc(
    conditions: Sequence[Condition], address: str, others: Sequence[str], generation: int
) -> list[Condition]:
    """The BMCAddressShared condition: present (True) while other hosts name the same BMC address."""
    if not others:
        return without(conditions, SHARED_BMC)
    message = f"{address} is also the BMC of {', '.join(others)}: one server, managed twice"
    return set_condition(conditions, SHARED_BMC, "True", "SharedBMCAddress", message, generation)
