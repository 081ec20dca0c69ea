"""NodeRole rules, desired-state rendering, the Converged verdict, the role's counts, and the agent's
promise to need nothing but the standard library."""

from __future__ import annotations

import ast
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from oci_operator.agent import oci_agent
from oci_operator.api.v1alpha1 import BareMetalHost, NodeRole
from oci_operator.api.v1alpha1.hardware import Convergence
from oci_operator.bmc.access import BMCPool
from oci_operator.bmc.credentials import check_secret
from oci_operator.bmc.governor import Governor, GovernorConfig
from oci_operator.reconcilers.baremetalhost import reconcile_pass
from oci_operator.reconcilers.desired_state import converged, render_desired_state
from oci_operator.reconcilers.host_context import HostSettings
from oci_operator.reconcilers.noderole import reconcile_noderole
from support.fake_bmc import FakeDriver


def role(*resources: dict[str, Any], generation: int = 3) -> NodeRole:
    return NodeRole.model_validate(
        {
            "metadata": {"name": "web", "namespace": "n", "generation": generation},
            "spec": {"resources": list(resources)},
        }
    )


def host(name: str = "h1", state: str = "provisioned", converged_cond: tuple[str, str] | None = None,
         role_generation: int = 3) -> BareMetalHost:  # fmt: skip
    status: dict[str, Any] = {"provisioning": {"state": state}}
    if converged_cond:
        status["conditions"] = [
            {"type": "Converged", "status": converged_cond[0], "reason": converged_cond[1],
             "lastTransitionTime": "2026-01-01T00:00:00Z"}
        ]  # fmt: skip
        status["desiredState"] = {"hash": "abc", "role": "web", "roleGeneration": role_generation}
    return BareMetalHost.model_validate(
        {
            "metadata": {"name": name, "namespace": "n", "labels": {"oci.openstack.org/cluster": "c1"}},
            "spec": {
                "bmc": {"address": "ipmi://10.0.0.1", "credentialsName": "c"},
                "bootMACAddress": "52:54:00:00:00:01",
                "role": "web",
            },
            "status": status,
        }
    )


FILE = {"type": "file", "name": "conf", "path": "/etc/x.conf", "template": "{{ host.name }} {{ cluster.name }}"}


@pytest.mark.parametrize(
    ("resources", "problem"),
    [
        ([{"type": "file", "name": "f", "path": "/etc/f"}], "file 'f' needs template"),
        ([{"type": "command", "name": "c"}], "command 'c' needs command"),
        ([FILE, FILE], "two file resources are named 'conf'"),
        ([{"type": "service", "name": "s", "restartOn": ["nope"]}], "unknown file resource(s): nope"),
        ([{"type": "file", "name": "f", "path": "relative", "template": "x"}], "should match pattern"),
        ([{"type": "package", "name": "bad name"}], "should match pattern"),
    ],
)
def test_bad_roles_are_refused_with_the_reason(resources: list[dict[str, Any]], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        role(*resources)


def test_an_absent_file_needs_no_template() -> None:
    rendered = render_desired_state(
        host(), role({"type": "file", "name": "gone", "path": "/etc/gone", "state": "absent"})
    )
    assert not isinstance(rendered, str), rendered
    [resource] = rendered.document["resources"]
    assert (resource["type"], resource["name"], resource["state"], resource["path"]) == (
        "file",
        "gone",
        "absent",
        "/etc/gone",
    )
    assert "content" not in resource  # nothing rendered for a file that must not exist
    assert "template" not in resource
    with pytest.raises(ValidationError, match="file 'gone' needs template"):  # the same file present does need one
        role({"type": "file", "name": "gone", "path": "/etc/gone"})


def test_rendering_fills_templates_per_host_and_hashes_canonically() -> None:
    r = role(FILE, {"type": "package", "name": "htop"})
    first = render_desired_state(host("h1"), r)
    second = render_desired_state(host("h2"), r)
    assert not isinstance(first, str)
    assert not isinstance(second, str)
    assert first.document["resources"][0]["content"] == "h1 c1"
    assert "template" not in first.document["resources"][0]
    assert first.hash != second.hash
    again = render_desired_state(host("h1"), r)
    assert not isinstance(again, str)
    assert again.hash == first.hash


def test_the_roles_converge_interval_travels_in_the_desired_state_and_changes_its_hash() -> None:
    plain = render_desired_state(host(), role(FILE))
    spec = {"resources": [FILE], "convergeIntervalSeconds": 15}
    meta = {"name": "web", "namespace": "n", "generation": 3}  # as role() makes it: only the interval differs
    timed = render_desired_state(host(), NodeRole.model_validate({"metadata": meta, "spec": spec}))
    assert not isinstance(plain, str)
    assert not isinstance(timed, str)
    assert "agent" not in plain.document  # unset: the agent's own default (5 min)
    assert timed.document["agent"] == {"intervalSeconds": 15}
    assert timed.hash != plain.hash
    with pytest.raises(ValidationError, match="greater than or equal to 10"):
        NodeRole.model_validate({"metadata": {"name": "web"}, "spec": {"convergeIntervalSeconds": 1}})


@pytest.mark.parametrize(
    ("template", "words"),
    [("{{ host.nope }}", "has no attribute 'nope'"), ("{% for %}", "conf"), ("{{ ''.__class__.__mro__ }}", "unsafe")],
)
def test_a_template_that_cannot_render_names_its_resource(template: str, words: str) -> None:
    problem = render_desired_state(host(), role({**FILE, "template": template}))
    assert isinstance(problem, str)
    assert problem.startswith("file 'conf': ")
    assert words in problem


def report(applied: str, failed: int = 0, drift: bool = False) -> Convergence:
    return Convergence.model_validate(
        {
            "appliedHash": applied, "time": datetime.now(UTC).isoformat(), "durationSeconds": 0.2, "failed": failed,
            "resources": [{"name": "pkg", "type": "package", "failed": bool(failed), "drift": drift,
                           "changed": drift, "message": "E: Unable to locate package pkg"}],
        }
    )  # fmt: skip


def test_converged_verdicts() -> None:
    assert converged(None, None)[1] == "NotRendered"
    assert converged("abc", None)[:2] == ("False", "Converging")
    assert converged("abc", report("old"))[:2] == ("False", "Converging")
    failed = converged("abc", report("abc", failed=1))
    assert failed[:2] == ("False", "ResourcesFailed")
    assert "Unable to locate package pkg" in failed[2]
    ok = converged("abc", report("abc", drift=True))
    assert ok[:2] == ("True", "Converged")
    assert "repaired drift in pkg" in ok[2]


def test_role_counts_its_provisioned_hosts() -> None:
    hosts = [
        host("a", converged_cond=("True", "Converged")),
        host("b", converged_cond=("False", "ResourcesFailed")),
        host("c", converged_cond=("True", "Converged"), role_generation=2),  # converged to the previous edit
        host("d", state="provisioning"),
    ]
    out = reconcile_noderole(role(FILE), hosts)
    assert out.status.hosts.model_dump() == {"desired": 3, "converged": 1, "failed": 1}  # type: ignore[attr-defined]
    ready = out.status.conditions[0]
    assert (ready.status, ready.reason) == ("False", "HostsFailed")
    empty = reconcile_noderole(role(FILE), [])
    assert (empty.status.conditions[0].status, empty.status.conditions[0].reason) == ("True", "NoHosts")


def test_role_render_error_is_its_condition() -> None:
    out = reconcile_noderole(role({**FILE, "template": "{{ nope }}"}), [host("a")])
    ready = out.status.conditions[0]
    assert (ready.status, ready.reason) == ("False", "RenderFailed")
    assert ready.message.startswith("a: file 'conf'")


def test_the_agent_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(oci_agent.__file__).read_text())
    imported = {
        (alias.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported - {"__future__"} <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{{ 'x' * 10**9 }}", "more memory"),  # allocates a GB: refused, the operator stays up
        ("{% for i in range(100000) %}{{ 'y' * 100 }}{% endfor %}", "exceeds"),  # 10 MB of output
        ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}", "longer than"),
    ],
)
def test_a_hostile_template_is_stopped_by_the_render_limits(template: str, words: str) -> None:
    """Issue 16 #6: a NodeRole author cannot stall or crash the operator with one template."""
    started = time.monotonic()
    problem = render_desired_state(host(), role({**FILE, "template": template}))
    assert isinstance(problem, str)
    assert problem.startswith("file 'conf': template: " if words != "longer than" else "NodeRole 'web': ")
    assert words in problem
    assert time.monotonic() - started < 60  # the time limit (5 s) plus a worker start, on a busy machine


def test_a_slow_render_leaves_the_event_loop_free() -> None:
    """Issue 16 #6: while a host's templates render, the operator's other coroutines keep running."""
    slow = role({**FILE, "template": "{% for i in range(100000) %}{% for j in range(3000) %}{% endfor %}{% endfor %}"})
    pool = BMCPool(Governor(GovernorConfig(backoff_base=0.0)), factory=lambda *_: FakeDriver())  # type: ignore[arg-type,return-value]
    credentials = check_secret("c", {"username": "u", "password": "p"}, "1")
    assert credentials.credentials is not None

    async def scenario() -> tuple[float, float]:
        gaps: list[float] = []

        async def ticker() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.02)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0.1)
        started = time.monotonic()
        bmc = pool.access("ipmi://10.0.0.1", credentials.credentials)
        await reconcile_pass(host(), credentials, bmc, HostSettings(), role=slow)
        took = time.monotonic() - started
        await asyncio.sleep(0.1)  # the ticker's next turn records the gap a blocked loop would leave
        ticking.cancel()
        return took, max(gaps)

    took, longest_gap = asyncio.run(scenario())
    assert took > 1.0  # the render did take a while (300 million loop steps, or the 5 s time limit)
    assert longest_gap < took / 2  # and the loop kept turning meanwhile (on the loop, the gap is the render)


def test_a_generated_roles_secret_references_are_filled_from_the_hosts_secret_by_the_pass() -> None:
    """An OpenStackCluster's NodeRole names secrets by reference; the host's pass fills them from the
    host's own Secret into the desired state (whose hash then covers them), and names a missing key."""
    puppet = {"type": "puppet", "name": "oci", "classes": ["oci::generic"], "hiera": "<secret:hiera.yaml>"}
    generated = role({**FILE, "template": "key=<secret:tls.key>"}, puppet)
    pool = BMCPool(Governor(GovernorConfig(backoff_base=0.0)), factory=lambda *_: FakeDriver())  # type: ignore[arg-type,return-value]
    credentials = check_secret("c", {"username": "u", "password": "p"}, "1")
    assert credentials.credentials is not None
    bmc = pool.access("ipmi://10.0.0.1", credentials.credentials)
    secrets = {"tls.key": "PRIVATE", "hiera.yaml": "oci::generic::machine_ip: 10.0.0.5\n"}
    filled = asyncio.run(reconcile_pass(host(), credentials, bmc, HostSettings(), role=generated, role_secrets=secrets))
    assert filled.desired is not None
    document = filled.desired.document
    assert document["resources"][0]["content"] == "key=PRIVATE"
    assert document["resources"][1]["hiera"] == secrets["hiera.yaml"]
    plain = asyncio.run(reconcile_pass(host(), credentials, bmc, HostSettings(), role=generated))
    assert plain.desired is not None
    assert plain.desired.hash != filled.desired.hash
    missing = asyncio.run(reconcile_pass(host(), credentials, bmc, HostSettings(), role=generated, role_secrets={}))
    converged = next(c for c in missing.status.conditions if c.type == "Converged")
    assert (converged.reason, converged.message) == (
        "RenderFailed",
        "NodeRole 'web': secret key(s) hiera.yaml, tls.key missing from the host's Secret",
    )
