"""kopf settings: our prefixes for finalizer and progress, explicit Events only."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from ..config import FINALIZER, KOPF_PREFIX, OperatorConfig
from ..k8s import client as k8s


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    @kopf.on.login(registry=registry)
    def login(settings: kopf.OperatorSettings, **_: Any) -> kopf.ConnectionInfo:
        # The same API server and credentials as oci_operator.k8s (kopf's own helper ignores --kubeconfig).
        conn = k8s.connection(config.kubeconfig)
        return kopf.ConnectionInfo(
            server=conn.server,
            ca_path=conn.ca_path,
            insecure=conn.insecure,
            scheme=conn.scheme,
            token=conn.token,
            certificate_path=conn.certificate_path,
            private_key_path=conn.private_key_path,
            trust_env=settings.networking.trust_env,
        )

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.persistence.finalizer = FINALIZER
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=KOPF_PREFIX)
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix=KOPF_PREFIX, key="last-handled-configuration"
        )
        # Events are posted only where a reconciler asks for one (no Event per retry or log line).
        settings.posting.loggers = False
        settings.posting.level = logging.INFO
        # Re-establish watches regularly: a silently dead watch would stall every object.
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.watching.connect_timeout = 30
