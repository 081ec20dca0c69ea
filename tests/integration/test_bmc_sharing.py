"""Issue 16 #11: BMC credentials come only from Secrets marked for it, and two hosts naming one BMC
address (in any namespaces) are flagged on both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oci_operator.bmc.credentials import CREDENTIALS_LABEL
from support.bmcsim import SimControl
from support.hosts import create_host, host_manifest, ready, secret_manifest, status
from support.kube import Kube, condition
from support.operator_process import OperatorProcess
from support.waiting import wait_for

TIMEOUT = 90


@pytest.fixture
def other_namespace(kube: Kube) -> Iterator[str]:
    name = kube.new_namespace("t-")  # watched by the shared operator too
    yield name
    kube.delete_namespace(name)


def test_an_unmarked_secret_is_not_used_until_it_is_marked(
    kube: Kube, operator: OperatorProcess, sim: SimControl, namespace: str
) -> None:
    bmc = sim.take()
    plain = secret_manifest("app-basic-auth", bmc.username, bmc.password)
    del plain["type"]  # an ordinary Opaque Secret, say another application's basic-auth one
    kube.create(namespace, plain)
    kube.create(namespace, host_manifest("node-u", bmc.address, "app-basic-auth"))
    wait_for(lambda: ready(kube, namespace, "node-u") == ("False", "CredentialsNotMarked"), TIMEOUT, "the refusal")
    cond = condition(kube.get(namespace, "BareMetalHost", "node-u"), "Ready")
    assert cond is not None
    assert CREDENTIALS_LABEL in cond["message"]
    assert "goodCredentials" not in status(kube, namespace, "node-u")  # never sent to the BMC

    kube.core.patch_namespaced_secret(
        "app-basic-auth", namespace, {"metadata": {"labels": {CREDENTIALS_LABEL: "true"}}}
    )
    wait_for(lambda: ready(kube, namespace, "node-u") == ("True", "Available"), TIMEOUT, "healing once marked")


def shared(kube: Kube, namespace: str, name: str) -> str | None:
    cond = condition(kube.get(namespace, "BareMetalHost", name), "BMCAddressShared")
    return cond["message"] if cond and cond["status"] == "True" else None


def test_two_hosts_on_one_bmc_address_are_flagged_on_both(
    kube: Kube, operator: OperatorProcess, sim: SimControl, namespace: str, other_namespace: str
) -> None:
    bmc = sim.take()
    create_host(kube, namespace, "twin-a", bmc)
    create_host(kube, other_namespace, "twin-b", bmc)
    message_a = wait_for(lambda: shared(kube, namespace, "twin-a"), TIMEOUT, "BMCAddressShared on twin-a")
    message_b = wait_for(lambda: shared(kube, other_namespace, "twin-b"), TIMEOUT, "BMCAddressShared on twin-b")
    assert f"{other_namespace}/twin-b" in message_a
    assert f"{namespace}/twin-a" in message_b
    assert bmc.address in message_a

    kube.delete(other_namespace, "BareMetalHost", "twin-b")
    wait_for(lambda: shared(kube, namespace, "twin-a") is None, TIMEOUT, "the flag gone with the other host")
