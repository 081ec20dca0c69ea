"""Bad manifests are refused by the API server itself, with a message naming the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from support.kube import Kube

VALID: dict[str, Any] = {
    "apiVersion": "oci.openstack.org/v1alpha1",
    "kind": "BareMetalHost",
    "metadata": {"name": "bad"},
    "spec": {
        "bmc": {"address": "ipmi://127.0.0.1:1", "credentialsName": "bmc"},
        "bootMACAddress": "52:54:00:00:00:01",
    },
}


def mutate(path: list[str], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(VALID)
    node = body
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(mutate(["spec", "bootMACAddress"], "52:54:00:zz:00:01"), "spec.bootMACAddress", id="bad-mac"),
        pytest.param(
            mutate(["spec", "bmc", "address"], "redfish://10.0.0.5/redfish/v1"),
            "spec.bmc.address",
            id="redfish-address-without-system",
        ),
        pytest.param(
            mutate(["spec", "bmc", "address"], "redfish+ftp://10.0.0.5"), "spec.bmc.address", id="unknown-scheme"
        ),
        pytest.param(mutate(["spec", "bootMACAddress"], None), "spec.bootMACAddress", id="missing-mac"),
        pytest.param(
            mutate(["spec", "bmc", "credentialsName"], None), "spec.bmc.credentialsName", id="missing-credentials"
        ),
        pytest.param(mutate(["spec", "bootMode"], "bios"), "spec.bootMode", id="bad-boot-mode"),
    ],
)
def test_invalid_host_is_rejected_naming_the_field(
    kube: Kube, namespace: str, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ApiException) as err:
        kube.create(namespace, body)
    assert err.value.status == 422
    assert field in str(err.value.body), err.value.body


def test_valid_host_is_accepted_with_defaults(kube: Kube, namespace: str) -> None:
    created = kube.create(namespace, copy.deepcopy(VALID))
    assert created["spec"]["online"] is False
    assert created["spec"]["bootMode"] == "UEFI"
