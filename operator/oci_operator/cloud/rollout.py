"""OCI's install order as a table, and the gate between its steps: a pure function from the cloud's
roles and what each host reports to the current step and the hosts that may start provisioning now.

The caller records `Decision.release` (and `initial_setup_done`) in the cluster's status before it
touches any host, as the BMC path records an intent before a command leaves."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ..api.v1alpha1.openstackcluster import RoleStatus, RolloutStatus

PAUSE_ANNOTATION = "oci.openstack.org/rollout-paused"
"""Present on an OpenStackCluster (any value but "false"): the roll-out releases no more hosts."""
DEFAULT_LIMIT = 20
"""Hosts provisioning at once, like metal3's default."""
CONTROLLER = "controller"

# The data: (step, roles of the step, released together). OCI's cluster-install order; "sql" is not
# in OCI's list: its databases must exist before the controllers use them. "dns" is in OCI's list but
# not (yet) a role here: a role the cloud does not have is skipped.
INSTALL_ORDER: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("cephmon", ("cephmon",), False),
    ("cephosd", ("cephosd",), False),
    ("messaging", ("messaging",), False),
    ("sql", ("sql",), False),
    ("controller", ("controller",), True),
    ("network", ("network",), False),
    ("compute", ("compute", "volume", "swiftstore", "dns"), False),
    ("swiftproxy", ("swiftproxy",), False),
    ("tempest", ("tempest",), False),
)


class Phase(StrEnum):
    PROGRESSING = "Progressing"  # the current step's hosts are provisioning or converging
    PAUSED = "Paused"  # the pause annotation holds the roll-out where it is
    SHORT = "Short"  # the current step lacks hosts: it cannot finish
    FAILED = "Failed"  # a host of the current step failed: nothing more is released
    COMPLETE = "Complete"  # every step converged


@dataclass(frozen=True)
class HostFacts:
    """One assigned host as the roll-out sees it."""

    name: str
    role: str
    released: bool = False  # the cluster's status records that the roll-out let it provision
    provisioned: bool = False  # Debian is installed
    converged: bool = False  # Converged=True for the current desired-state generation
    failed: bool = False  # provisioning or convergence failed

    @property
    def in_flight(self) -> bool:
        return self.released and not self.provisioned and not self.failed


@dataclass(frozen=True)
class Step:
    name: str
    roles: tuple[str, ...]  # the roles of the table's step the cloud has
    together: bool
    desired: int
    converged: int

    @property
    def progress(self) -> str:
        """For a printer column: "controller 2/3", "compute+volume 3/5"."""
        return f"{'+'.join(self.roles)} {self.converged}/{self.desired}"


@dataclass(frozen=True)
class Decision:
    step: Step | None  # None when the roll-out is complete (or the cloud has no roles)
    phase: Phase
    release: tuple[str, ...]  # hosts to record as released, then provision, in this order
    in_flight: int  # released hosts still provisioning
    initial_setup_done: bool  # the value to record; initial_cluster_setup is its negation
    message: str

    @property
    def initial_cluster_setup(self) -> bool:
        return not self.initial_setup_done

    @property
    def progress(self) -> str:
        return self.step.progress if self.step else "complete"


def steps(desired: Mapping[str, int]) -> list[tuple[str, tuple[str, ...], bool]]:
    """The table's steps restricted to the roles the cloud has (desired count > 0)."""
    found = []
    for name, roles, together in INSTALL_ORDER:
        present = tuple(r for r in roles if desired.get(r, 0) > 0)
        if present:
            found.append((name, present, together))
    return found


def is_paused(annotations: Mapping[str, str]) -> bool:
    value = annotations.get(PAUSE_ANNOTATION)
    return value is not None and value.strip().lower() != "false"


def decide(
    desired: Mapping[str, int],
    hosts: Iterable[HostFacts],
    *,
    initial_setup_done: bool,
    paused: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> Decision:
    """The current step is the first whose hosts are not all present and converged. Its hosts not yet
    released are released (by name) while fewer than `limit` hosts are in flight; a step marked
    together (the controllers) is released whole. The controllers' step is done only once
    `initial_setup_done` was already recorded and they converged again with it (OCI re-runs puppet
    with initial_cluster_setup false before anything else is installed)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    by_role: dict[str, list[HostFacts]] = {}
    everyone = sorted(hosts, key=lambda h: h.name)
    for host in everyone:
        by_role.setdefault(host.role, []).append(host)
    in_flight = sum(h.in_flight for h in everyone)

    controllers = by_role.get(CONTROLLER, [])
    wanted = desired.get(CONTROLLER, 0)
    setup_done = initial_setup_done or (
        len(controllers) >= wanted and all(h.converged and not h.failed for h in controllers[:wanted])
    )

    for name, roles, together in steps(desired):
        members = [h for r in roles for h in by_role.get(r, [])[: desired[r]]]
        want = sum(desired[r] for r in roles)
        converged = sum(h.converged and not h.failed for h in members)
        step = Step(name, roles, together, want, converged)
        gate_open = name != CONTROLLER or initial_setup_done
        if converged == want and gate_open:
            continue
        failed = [h.name for h in members if h.failed]
        # A provisioned host is never released again (it would be installed twice).
        waiting = [h for h in members if not h.released and not h.provisioned]
        short = want - len(members)
        release: tuple[str, ...] = ()
        if failed:
            phase, message = Phase.FAILED, f"{step.progress}: {', '.join(failed)} failed"
        elif paused:
            phase, message = Phase.PAUSED, f"{step.progress}: paused by {PAUSE_ANNOTATION}"
        else:
            room = max(limit - in_flight, 0)
            if together:
                whole = not short and waiting and (len(waiting) <= room or in_flight == 0)
                release = tuple(h.name for h in waiting) if whole else ()
            else:
                release = tuple(h.name for h in waiting[:room])
            if short:
                phase = Phase.SHORT
                message = f"{step.progress}: {short} host(s) short of {want}"
            else:
                phase, message = Phase.PROGRESSING, f"{step.progress} converged"
        return Decision(step, phase, release, in_flight, setup_done, message)
    return Decision(None, Phase.COMPLETE, (), in_flight, setup_done, "every step converged")


def role_status(
    desired: Mapping[str, int], hosts: Iterable[HostFacts], short: Mapping[str, str] | None = None
) -> dict[str, RoleStatus]:
    """status.roles: per role the cloud has, its counts; `short` holds selection's reason per role."""
    found: dict[str, RoleStatus] = {}
    everyone = list(hosts)
    for role, want in desired.items():
        if want <= 0:
            continue
        mine = [h for h in everyone if h.role == role]
        found[str(role)] = RoleStatus(
            desired=want,
            assigned=len(mine),
            provisioned=sum(h.provisioned for h in mine),
            converged=sum(h.converged and not h.failed for h in mine),
            failed=sum(h.failed for h in mine),
            short_reason=(short or {}).get(str(role)) if len(mine) < want else None,
        )
    return found


def rollout_status(decision: Decision, released: Iterable[str]) -> RolloutStatus:
    """status.rollout after `decision`: the hosts released before plus the ones it releases now."""
    names = sorted({*released, *decision.release})
    return RolloutStatus(step=decision.progress, phase=decision.phase.value, released=names)
