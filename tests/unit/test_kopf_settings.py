"""kopf's diff base as a digest, and kopf's errors counted."""

from __future__ import annotations

import logging
from typing import Any

import kopf

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
