"""BareMetalHost reconcile: check the references a host needs before any BMC is touched."""

from __future__ import annotations

from ..api.v1alpha1 import (
    BareMetalHost,
    ErrorType,
    OperationalStatus,
    ProvisioningState,
    ProvisioningStatus,
)
from ..bmc.credentials import CredentialsCheck
from ..conditions import now, set_condition
from .outcome import Outcome, ready_transition_event


def reconcile(host: BareMetalHost, credentials: CredentialsCheck) -> Outcome:
    """Decide the host's status from what was observed (its credentials Secret)."""
    old = host.status
    status = old.model_copy(deep=True)
    status.observed_generation = host.generation
    if status.provisioning is None:
        status.provisioning = ProvisioningStatus(state=ProvisioningState.REGISTERING)

    if credentials.problem is not None:
        status.operational_status = OperationalStatus.ERROR
        status.error_type = ErrorType.REGISTRATION
        status.error_message = credentials.detail
        status.error_count = old.error_count + 1  # consecutive failures; drives backoff and alerts
        status.conditions = set_condition(
            status.conditions,
            "Ready",
            "False",
            credentials.problem.value,
            credentials.detail,
            host.generation,
        )
    else:
        status.operational_status = OperationalStatus.OK
        status.error_type = None
        status.error_message = None
        status.error_count = 0
        status.conditions = set_condition(
            status.conditions,
            "Ready",
            "False",
            "Registering",
            f"credentials found in Secret {credentials.secret_name!r}; waiting for BMC registration",
            host.generation,
        )

    if status.model_dump(exclude={"last_updated"}) != old.model_dump(exclude={"last_updated"}):
        status.last_updated = now()
    events = [e for e in [ready_transition_event(old, status)] if e]
    return Outcome(status=status, events=events)
