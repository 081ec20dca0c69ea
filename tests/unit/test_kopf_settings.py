"""kopf's diff base as a digest, kopf's body views as plain copies, and kopf's errors counted."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from oci_operator.handlers.common import plain
from oci_operator.handlers.settings import DIFFBASE_KEY, HashedDiffBaseStorage, count_kopf_errors
from oci_operator.metrics import HANDLER_FAILURES


def essence(spec: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    storage = HashedDiffBaseStorage(prefix="oci.openstack.org", key=DIFFBASE_KEY)
    body = kopf.Body({"metadata": {"name": "r", "generation": 1, "annotations": annotations or {}}, "spec": spec})
    return dict(storage.build(body=body))


def test_the_diff_base_is_a_digest_that_follows_spec_and_user_annotations_only() -> None:
    big = {"resources": [{"template": "x" * 200_000}]}
    base = essence(big)
    assert len(str(base)) < 100
    assert essence(big, {"oci.openstack.org/reconcile": '{"retries": 1}'}) == base  # kopf's progress: no change
    assert essence(big, {"paused.oci.openstack.org": ""}) != base  # a pause is a change the handlers see
    assert essence({"resources": [{"template": "y" * 200_000}]}) != base


def test_watched_only_kinds_build_no_essence() -> None:
    """kopf builds a diff base on every watch event; for hosts nothing compares it, so none is computed."""
    storage = HashedDiffBaseStorage(prefix="oci.openstack.org", key=DIFFBASE_KEY)
    one = kopf.Body({"kind": "BareMetalHost", "metadata": {"name": "a"}, "spec": {"online": True}})
    other = kopf.Body({"kind": "BareMetalHost", "metadata": {"name": "a"}, "spec": {"online": False}})
    assert dict(storage.build(body=one)) == dict(storage.build(body=other)) == {"sha256": ""}


def test_plain_is_a_deep_copy_without_managed_fields() -> None:
    raw = {
        "metadata": {"name": "h", "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]},
        "spec": {"bmc": {"address": "ipmi://x"}},
        "status": {"conditions": [{"type": "Ready"}]},
    }
    copied = plain(kopf.Body(raw))
    assert copied == {"metadata": {"name": "h"}, "spec": raw["spec"], "status": raw["status"]}
    copied["status"]["conditions"][0]["type"] = "changed"
    copied["metadata"]["name"] = "changed"
    assert raw["status"]["conditions"][0]["type"] == "Ready"  # kopf's cached body is never touched
    assert raw["metadata"]["name"] == "h"
    assert "managedFields" in raw["metadata"]


def test_kopf_errors_are_counted_by_kind() -> None:
    count_kopf_errors()
    count_kopf_errors()  # idempotent: one handler, one count per error

    def value() -> float:
        return HANDLER_FAILURES.labels("NodeRole")._value.get()

    before = value()
    ref = {"kind": "NodeRole", "name": "r", "namespace": "n"}
    logging.getLogger("kopf.objects").error("Patching failed: metadata.annotations: Too long", extra={"k8s_ref": ref})
    logging.getLogger("kopf.objects").warning("not an error", extra={"k8s_ref": ref})
    assert value() == before + 1
