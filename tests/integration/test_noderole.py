"""NodeRole through the real API server: an edit re-renders the host's desired state, the agent (in a
real Debian root) applies it, and both the BareMetalHost and the NodeRole say so; a template error is a
condition on both, never a crash."""

from __future__ import annotations

from typing import Any

from support.bmcsim import SimControl
from support.bootserver import BootServerProcess
from support.debian_root import DebianRoot
from support.hosts import agent_installed, converged, noderole_ready, provisioned_host, status
from support.kube import Kube
from support.operator_process import OperatorProcess
from support.waiting import wait_for

TIMEOUT = 60


def role(template: str) -> dict[str, Any]:
    return {
        "apiVersion": "oci.openstack.org/v1alpha1",
        "kind": "NodeRole",
        "metadata": {"name": "motd"},
        "spec": {"resources": [{"type": "file", "name": "motd", "path": "/etc/motd", "template": template}]},
    }


def edit(kube: Kube, namespace: str, template: str) -> None:
    current = kube.get(namespace, "NodeRole", "motd")
    kube.custom.replace_namespaced_custom_object(
        "oci.openstack.org",
        "v1alpha1",
        namespace,
        "noderoles",
        "motd",
        {**role(template), "metadata": current["metadata"]},
    )


def role_ready(kube: Kube, namespace: str) -> tuple[str, str, dict[str, int]] | None:
    return noderole_ready(kube, namespace, "motd")


def test_editing_a_role_rerenders_and_the_agent_converges_it(
    kube: Kube,
    namespace: str,
    nodes: SimControl,
    bootserver: BootServerProcess,
    operator: OperatorProcess,
    debian: DebianRoot,
) -> None:
    kube.create(namespace, role("Welcome to {{ host.name }}\n"))
    bmc = nodes.take()
    provisioned_host(kube, namespace, "db-1", bmc, "motd")
    agent_installed(kube, namespace, "db-1", bmc.mac, bootserver, debian)
    assert debian.run_agent()[0] == 0
    assert (debian.path / "etc/motd").read_text() == "Welcome to db-1\n"
    wait_for(lambda: role_ready(kube, namespace) == ("True", "Converged", {"desired": 1, "converged": 1, "failed": 0}),
             TIMEOUT, "the role converged")  # fmt: skip
    first = status(kube, namespace, "db-1")["desiredState"]

    edit(kube, namespace, "Welcome to {{ host.name }}, a {{ role.name }} host\n")
    second = wait_for(
        lambda: (d := status(kube, namespace, "db-1")["desiredState"])["hash"] != first["hash"] and d,
        TIMEOUT,
        "a new desired state for the edited role",
    )
    assert second["roleGeneration"] == first["roleGeneration"] + 1
    wait_for(lambda: (role_ready(kube, namespace) or ("",))[0] == "False", TIMEOUT, "the role converging again")
    assert converged(kube, namespace, "db-1")[1] == "Converging"  # type: ignore[index]
    code, _, output = wait_for(
        lambda: (r := debian.run_agent())[1].get("appliedHash") == second["hash"] and r, TIMEOUT, "the new state"
    )
    assert code == 0, output
    assert (debian.path / "etc/motd").read_text() == "Welcome to db-1, a motd host\n"
    wait_for(lambda: (converged(kube, namespace, "db-1") or ("",))[0] == "True", TIMEOUT, "the host converged")
    wait_for(lambda: role_ready(kube, namespace) == ("True", "Converged", {"desired": 1, "converged": 1, "failed": 0}),
             TIMEOUT, "the role converged again")  # fmt: skip

    # A template that does not render: conditions on both, the last good document stays in place.
    edit(kube, namespace, "{{ host.no_such_field }}\n")
    cond = wait_for(
        lambda: (c := converged(kube, namespace, "db-1")) and c[1] == "RenderFailed" and c, TIMEOUT, "RenderFailed"
    )
    assert "motd" in cond[2]
    assert "no_such_field" in cond[2]
    ready = wait_for(lambda: (r := role_ready(kube, namespace)) and r[1] == "RenderFailed" and r, TIMEOUT, "role")
    assert ready[0] == "False"
    assert status(kube, namespace, "db-1")["desiredState"]["hash"] == second["hash"]
    assert operator.process.poll() is None
