"""The simulated servers' stand-in node agent against the real boot server and operator: it fetches the
desired state over the agents' HTTPS port with the host's credential and reports convergence as the
real agent does, applies a re-rendered state on its next run, and its fault knob shows on the host and
its NodeRole until cleared."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oci_operator.k8s.client import ROTATE_AGENT_CREDENTIAL
from support.bmcsim import SimControl, bmc_sim
from support.bootserver import BootServerProcess
from support.hosts import converged, host_secret, noderole_ready, provisioned_host, status
from support.kube import Kube
from support.operator_process import OperatorProcess
from support.waiting import wait_for

TIMEOUT = 120
FAULT = "apt-get install failed: simulated disk full"


@pytest.fixture(scope="module")
def agents(bootserver: BootServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimControl]:
    extra = ("--prefix", "agt", "--first-mac", "52:54:00:c1:00:00", "--boot-server", bootserver.url)
    knobs = ("--stand-in-agent", "--agent-delay", "0.5", "--agent-interval", "2")
    with bmc_sim(Path(tmp_path_factory.mktemp("agents")), 2, *extra, "--install-seconds", "0.3", *knobs) as fleet:
        yield fleet


def role(motd: str) -> dict[str, Any]:
    return {
        "apiVersion": "oci.openstack.org/v1alpha1",
        "kind": "NodeRole",
        "metadata": {"name": "web"},
        "spec": {
            "resources": [
                {"type": "package", "name": "nginx"},
                {"type": "file", "name": "motd", "path": "/etc/motd", "template": motd},
            ]
        },
    }


def applied(kube: Kube, namespace: str, name: str) -> str | None:
    """The hash the agent reported applying, when it is the host's current desired state."""
    current = status(kube, namespace, name)
    digest = (current.get("desiredState") or {}).get("hash")
    return digest if digest and (current.get("convergence") or {}).get("appliedHash") == digest else None


def test_a_role_converges_through_the_stand_in_agent_and_its_fault_shows_until_cleared(
    kube: Kube, namespace: str, agents: SimControl, operator: OperatorProcess
) -> None:
    kube.create(namespace, role("Welcome to {{ host.name }}\n"))
    bmc = agents.take()
    provisioned_host(kube, namespace, "web-1", bmc, "web")
    healthy = ("True", "Converged", {"desired": 1, "converged": 1, "failed": 0})
    wait_for(lambda: (converged(kube, namespace, "web-1") or ("",))[0] == "True", TIMEOUT, "the host converged")
    wait_for(lambda: noderole_ready(kube, namespace, "web") == healthy, TIMEOUT, "the role converged")
    first = applied(kube, namespace, "web-1")
    assert first, status(kube, namespace, "web-1")
    report = status(kube, namespace, "web-1")["convergence"]
    assert (report["changed"], report["failed"]) == (2, 0), report
    log = agents.entries(bmc)
    assert ("node_os_running", "Debian booted from /dev/sda") in log
    assert any(c == "node_agent_report" and d.endswith("failed=0: HTTP 200") for c, d in log), log

    # A re-render: the agent's next timer run fetches the new state and reports it applied.
    current = kube.get(namespace, "NodeRole", "web")
    kube.custom.replace_namespaced_custom_object(
        "oci.openstack.org", "v1alpha1", namespace, "noderoles", "web",
        {**role("Welcome to {{ host.name }}, a {{ role.name }} host\n"), "metadata": current["metadata"]},
    )  # fmt: skip
    second = wait_for(lambda: (h := applied(kube, namespace, "web-1")) and h != first and h, TIMEOUT, "re-applied")
    assert status(kube, namespace, "web-1")["desiredState"]["hash"] == second
    wait_for(lambda: noderole_ready(kube, namespace, "web") == healthy, TIMEOUT, "the role converged again")

    # The fault knob: a failed resource on the host and on its role, until it is cleared.
    agents.agent(bmc, fault=FAULT)
    cond = wait_for(
        lambda: (c := converged(kube, namespace, "web-1")) and c[1] == "ResourcesFailed" and c, TIMEOUT, "the failure"
    )
    assert cond[0] == "False"
    assert FAULT in cond[2]
    ready = wait_for(
        lambda: (r := noderole_ready(kube, namespace, "web")) and r[0] == "False" and r, TIMEOUT, "role failing"
    )
    assert ready[2] == {"desired": 1, "converged": 0, "failed": 1}, ready

    agents.agent(bmc, fault="")
    wait_for(lambda: (converged(kube, namespace, "web-1") or ("",))[1] == "Converged", TIMEOUT, "the host healed")
    wait_for(lambda: noderole_ready(kube, namespace, "web") == healthy, TIMEOUT, "the role healed")

    # Credential rotation, as the real agent does it: the successor offered over HTTPS is adopted, its
    # first use retires the old one, and the agent goes on reporting with it.
    kube.annotate(namespace, "BareMetalHost", "web-1", {ROTATE_AGENT_CREDENTIAL: "now"})
    offered = wait_for(lambda: (host_secret(kube, namespace, "web-1", "agent") or {}).get("next"), TIMEOUT, "offered")
    wait_for(lambda: host_secret(kube, namespace, "web-1", "agent") == {"token": offered}, TIMEOUT, "promoted")
    assert "node_agent_credential_rotated" in agents.log(bmc)
    agents.agent(bmc, fault=FAULT)
    wait_for(lambda: (converged(kube, namespace, "web-1") or ("",))[1] == "ResourcesFailed", TIMEOUT, "reported")
    assert operator.process.poll() is None
