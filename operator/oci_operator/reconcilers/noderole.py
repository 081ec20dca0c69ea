"""A NodeRole's status: how many of its hosts are converged, and whether its templates render for all."""

from __future__ import annotations

from ..api.v1alpha1 import BareMetalHost, ProvisioningState
from ..api.v1alpha1.meta import ConditionStatus
from ..api.v1alpha1.noderole import HostCounts, NodeRole
from ..conditions import find, set_condition
from .desired_state import render_desired_state
from .outcome import Outcome, ready_transition_event, with_kstatus

FAILED_REASONS = ("ResourcesFailed", "RenderFailed")


def reconcile_noderole(role: NodeRole, hosts: list[BareMetalHost]) -> Outcome:
    old = role.status
    status = old.model_copy(deep=True)
    status.observed_generation = role.generation
    provisioned = [
        h
        for h in hosts
        if h.spec.role == role.name
        and h.status.provisioning is not None
        and h.status.provisioning.state is ProvisioningState.PROVISIONED
    ]
    render_errors = [f"{h.name}: {r}" for h in provisioned if isinstance(r := render_desired_state(h, role), str)]
    converged = failed = 0
    for host in provisioned:
        cond = find(host.status.conditions, "Converged")
        current = host.status.desired_state is not None and host.status.desired_state.role_generation == role.generation
        if cond is not None and cond.status == "True" and current:
            converged += 1
        elif cond is not None and cond.status == "False" and cond.reason in FAILED_REASONS:
            failed += 1
    status.hosts = HostCounts(desired=len(provisioned), converged=converged, failed=failed)

    ready: tuple[ConditionStatus, str, str]
    if render_errors:
        ready = ("False", "RenderFailed", "; ".join(render_errors)[:4000])
    elif failed:
        ready = ("False", "HostsFailed", f"{failed} of {len(provisioned)} host(s) failed to converge")
    elif not provisioned:
        ready = ("True", "NoHosts", "spec is valid; no provisioned host has this role")
    elif converged == len(provisioned):
        ready = ("True", "Converged", f"all {converged} host(s) converged")
    else:
        ready = ("False", "Converging", f"{converged} of {len(provisioned)} host(s) converged")
    ready_status, reason, message = ready
    status.conditions = set_condition(status.conditions, "Ready", ready_status, reason, message, role.generation)
    status.conditions = with_kstatus(status.conditions, role.generation)
    return Outcome(status=status, events=[e for e in [ready_transition_event(old, status)] if e])
