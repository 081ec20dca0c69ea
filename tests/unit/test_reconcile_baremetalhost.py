"""The host reconciler decides status and Events from what was observed."""

from __future__ import annotations

from oci_operator.api.v1alpha1 import BareMetalHost
from oci_operator.bmc.credentials import check_secret
from oci_operator.conditions import find
from oci_operator.reconcilers.baremetalhost import reconcile

BODY = {
    "metadata": {"name": "h", "namespace": "n", "generation": 2},
    "spec": {"bmc": {"address": "ipmi://10.0.0.5", "credentialsName": "bmc"}, "bootMACAddress": "52:54:00:00:00:01"},
}


def test_missing_secret_warns_once_then_counts_silently() -> None:
    host = BareMetalHost.model_validate(BODY)
    first = reconcile(host, check_secret("bmc", None))
    ready = find(first.status.conditions, "Ready")
    assert ready is not None
    assert (ready.status, ready.reason) == ("False", "CredentialsMissing")
    assert [(e.type, e.reason) for e in first.events] == [("Warning", "CredentialsMissing")]
    assert first.status.error_type == "registration error"
    assert first.status.error_count == 1
    assert first.status.observed_generation == 2
    assert first.status.provisioning is not None
    assert first.status.provisioning.state == "registering"

    host.status = first.status
    second = reconcile(host, check_secret("bmc", None))
    assert second.events == []
    assert second.status.error_count == 2


def test_fixed_secret_clears_errors_with_one_normal_event() -> None:
    host = BareMetalHost.model_validate(BODY)
    host.status = reconcile(host, check_secret("bmc", {"username": "u"})).status
    healed = reconcile(host, check_secret("bmc", {"username": "u", "password": "p"}, "42"))
    ready = find(healed.status.conditions, "Ready")
    assert ready is not None
    assert ready.reason == "Registering"
    assert healed.status.error_type is None
    assert healed.status.error_count == 0
    assert [(e.type, e.reason) for e in healed.events] == [("Normal", "Registering")]


def test_nothing_new_means_no_new_timestamp() -> None:
    host = BareMetalHost.model_validate(BODY)
    ok = check_secret("bmc", {"username": "u", "password": "p"}, "1")
    host.status = reconcile(host, ok).status
    again = reconcile(host, ok)
    assert again.status == host.status
    assert again.events == []


def test_password_stays_out_of_repr() -> None:
    check = check_secret("bmc", {"username": "u", "password": "hunter2-xyz"}, "1")
    assert "hunter2-xyz" not in repr(check)
