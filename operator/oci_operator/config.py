"""Operator settings, from the command line; one frozen object passed to whoever needs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not at run time: the boot server imports this module too, and needs no BMC library
    from .bmc.governor import GovernorConfig
    from .reconcilers.host_context import HostSettings

# kopf keeps its finalizer and per-handler progress under this prefix (set once, here).
KOPF_PREFIX = "oci.openstack.org"
FINALIZER = f"{KOPF_PREFIX}/finalizer"
# The operator's own namespace for what it keeps per host (tokens, agent credentials, desired states).
DEFAULT_SYSTEM_NAMESPACE = "oci-system"


@dataclass(frozen=True)
class OperatorConfig:
    kubeconfig: str | None = None
    namespaces: tuple[str, ...] = ()  # empty: cluster-wide
    system_namespace: str = DEFAULT_SYSTEM_NAMESPACE  # where host tokens, credentials and desired states live
    metrics_address: str = "0.0.0.0"  # noqa: S104 - a container port, like every operator's
    metrics_port: int = 8080
    health_port: int = 8081
    log_format: str = "text"
    verbose: bool = False
    power: HostSettings = field(default_factory=lambda: _default_power())
    governor: GovernorConfig = field(default_factory=lambda: _default_governor())
    role_status_interval: float = 30.0  # how often a NodeRole recounts its converged hosts


# Imported when an operator is configured, not when this module is: the boot server imports it too.
def _default_power() -> HostSettings:
    from .reconcilers.host_context import HostSettings

    return HostSettings()


def _default_governor() -> GovernorConfig:
    from .bmc.governor import GovernorConfig

    return GovernorConfig()
