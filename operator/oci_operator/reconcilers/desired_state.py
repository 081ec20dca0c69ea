"""A host's desired state: its NodeRole's resources with file templates rendered for that host.

The document is what the node agent applies; its sha256 (over canonical JSON) is how the operator,
the boot server and the agent agree on "the same desired state"."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..api.v1alpha1 import BareMetalHost, BareMetalHostStatus, ProvisioningState
from ..api.v1alpha1.hardware import Convergence, DesiredState
from ..api.v1alpha1.meta import ConditionStatus
from ..api.v1alpha1.noderole import NodeRole, ResourceType
from ..conditions import find, set_condition
from ..render import TemplateFailed, render_user_templates
from .outcome import EventSpec

CLUSTER_LABEL = "oci.openstack.org/cluster"
# The host's NodeRole as the runner found it: the object, why it is missing or unusable, or None when
# it was not looked up.
RoleLookup = NodeRole | str | None


TEMPLATED = {
    ResourceType.FILE: (("template", "content"),),
    ResourceType.PUPPET: (("manifest", "manifest"), ("hiera", "hiera")),
}


@dataclass(frozen=True)
class Rendered:
    document: dict[str, Any]
    hash: str


def context(host: BareMetalHost, role: NodeRole) -> dict[str, Any]:
    labels = host.metadata.get("labels")
    labels = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
    hardware = host.status.hardware.wire() if host.status.hardware else {}
    return {
        "host": {
            "name": host.name,
            "namespace": host.namespace,
            "mac": host.spec.boot_mac_address,
            "labels": labels,
            "hardware": hardware,
        },
        "role": {"name": role.name, "description": role.spec.description or ""},
        "cluster": {"name": labels.get(CLUSTER_LABEL, "")},
    }


def render_desired_state(host: BareMetalHost, role: NodeRole) -> Rendered | str:
    """The host's document, or why it cannot be rendered (naming the resource).

    Blocks while the templates render in a worker process (with time, memory and output limits):
    call it from a thread, never on the event loop."""
    resources: list[dict[str, Any]] = []
    # Templated fields become their rendered text: a file's content, puppet's manifest and hiera.
    slots: list[tuple[dict[str, Any], str, str, str]] = []  # item, field, rendered_as, what (for errors)
    templates: list[str] = []
    for resource in role.spec.resources:
        item = resource.wire()
        for field, rendered_as in TEMPLATED.get(resource.type, ()):
            template = item.pop(field, None)
            if template is not None:
                slots.append((item, field, rendered_as, f"{resource.type.value} {resource.name!r}: {field}"))
                templates.append(str(template))
        resources.append(item)
    try:
        texts = render_user_templates(templates, context(host, role)) if templates else []
    except TemplateFailed as exc:
        where = slots[exc.index][3] if 0 <= exc.index < len(slots) else f"NodeRole {role.name!r}"
        return f"{where}: {exc}"
    for (item, _, rendered_as, _), text in zip(slots, texts, strict=True):
        item[rendered_as] = text
    document = {"host": host.name, "role": role.name, "roleGeneration": role.generation, "resources": resources}
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return Rendered({**document, "hash": digest}, digest)


def converged(desired_hash: str | None, report: Convergence | None) -> tuple[ConditionStatus, str, str]:
    """The Converged condition: the agent applied this very desired state, with nothing failed."""
    if desired_hash is None:
        return "Unknown", "NotRendered", "no desired state yet"
    if report is None or report.applied_hash != desired_hash:
        return "False", "Converging", f"waiting for the node agent to apply {desired_hash[:12]}"
    if report.failed:
        failed = [f"{r.name}: {r.message}" for r in report.resources if r.failed]
        return "False", "ResourcesFailed", f"{report.failed} resource(s) failed: " + "; ".join(failed)[:2000]
    repaired = [r.name for r in report.resources if r.drift]
    note = f"; repaired drift in {', '.join(repaired)}" if repaired else ""
    return "True", "Converged", f"applied {desired_hash[:12]} in {report.duration_seconds:.1f}s{note}"


def judge_convergence(
    host: BareMetalHost, status: BareMetalHostStatus, role: RoleLookup
) -> tuple[Rendered | None, list[EventSpec]]:
    """A provisioned host with a role: render its desired state and judge the agent's last report."""
    prov = status.provisioning
    if prov is None or prov.state is not ProvisioningState.PROVISIONED or not host.spec.role:
        status.desired_state = None
        status.conditions = [c for c in status.conditions if c.type != "Converged"]
        return None, []
    if role is None:
        return None, []  # not looked up (the host became provisioned during this pass): next pass
    rendered: Rendered | str
    if isinstance(role, str):
        rendered = role
        verdict: tuple[ConditionStatus, str, str] = ("False", "RoleUnavailable", rendered)
    else:
        rendered = render_desired_state(host, role)
        if isinstance(rendered, str):
            verdict = ("False", "RenderFailed", rendered)
        else:
            status.desired_state = DesiredState(hash=rendered.hash, role=role.name, role_generation=role.generation)
            verdict = converged(rendered.hash, status.convergence)
    before = find(status.conditions, "Converged")
    status.conditions = set_condition(status.conditions, "Converged", *verdict, host.generation)
    events: list[EventSpec] = []
    changed = before is None or (before.status, before.reason) != verdict[:2]
    if changed and verdict[1] != "Converging":  # one Event per outcome, none for "still working"
        events.append(EventSpec("Normal" if verdict[0] == "True" else "Warning", verdict[1], verdict[2]))
    return (None if isinstance(rendered, str) else rendered), events
