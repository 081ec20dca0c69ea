"""kopf settings: our prefixes for finalizer and progress, a hashed diff base, explicit Events only,
and kopf's own errors counted."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
from collections.abc import Iterable
from typing import Any, cast

import kopf

from ..config import FINALIZER, KOPF_PREFIX, OperatorConfig
from ..k8s import client as k8s
from ..metrics import HANDLER_FAILURES

DIFFBASE_KEY = "last-handled-configuration"
IO_THREADS = 16
# Kinds with no create/update handlers (a watch-event handler wakes their daemons): kopf would still
# store a diff base on each object after its creation, one more write per host for nothing.
WATCHED_ONLY = frozenset({"BareMetalHost"})


class HashedDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """kopf's diff base as a digest: our handlers read the fresh object and never kopf's old/new/diff,
    so a copy of the spec in an annotation (a NodeRole's templates: hundreds of KiB, against the API's
    256 KiB for all annotations together) would only make every patch of the object fail.

    The essence is the one kopf builds (spec, labels, our user-facing annotations); only its digest is
    kept, so any change still reaches the update handlers. An old full copy reads as a change once, and
    is overwritten by the digest."""

    def build(self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None) -> kopf.BodyEssence:
        if body.get("kind") in WATCHED_ONLY:
            # kopf builds one on every watch event; nothing compares it for these kinds (see store).
            return cast(kopf.BodyEssence, {"sha256": ""})
        essence: dict[str, Any] = json.loads(json.dumps(super().build(body=body, extra_fields=extra_fields)))
        annotations: dict[str, Any] = essence.get("metadata", {}).get("annotations", {})
        for key in [k for k in annotations if k.startswith(f"{KOPF_PREFIX}/")]:  # kopf's progress records
            del annotations[key]
        self.remove_empty_stanzas(cast(kopf.BodyEssence, essence))
        digest = hashlib.sha256(json.dumps(essence, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        return cast(kopf.BodyEssence, {"sha256": digest})

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        if body.get("kind") in WATCHED_ONLY:
            return  # nothing compares it: no write of it on every host
        super().store(body=body, patch=patch, essence=essence)


class CountErrors(logging.Handler):
    """kopf's errors (a handler's exception, a patch the API server refused) as a metric, by kind."""

    def emit(self, record: logging.LogRecord) -> None:
        ref = getattr(record, "k8s_ref", None)
        kind = ref.get("kind") if isinstance(ref, dict) else None
        HANDLER_FAILURES.labels(str(kind or "-")).inc()


QUIET = ("Handler 'wake' succeeded.", "Indexer 'boot_macs' succeeded.", "Indexer 'noderoles' succeeded.")


class QuietWatchEvents(logging.Filter):
    """kopf logs every handler's success; the host wake-up and the indexes run on every watch event of
    every host (a fleet's status writes): their successes are noise, a log line per write. Failures show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().endswith(QUIET)


class QuietEmbedding(logging.Filter):
    """kopf runs in a worker thread (oci_operator.supervise takes the signals): its warning that it
    ignores OS signals would tell users the opposite of what happens."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("OS signals are ignored")


def quiet_embedding() -> None:
    running = logging.getLogger("kopf._core.reactor.running")
    if not any(isinstance(f, QuietEmbedding) for f in running.filters):
        running.addFilter(QuietEmbedding())


def count_kopf_errors() -> None:
    kopf_logger = logging.getLogger("kopf")
    if not any(isinstance(h, CountErrors) for h in kopf_logger.handlers):
        kopf_logger.addHandler(CountErrors(level=logging.ERROR))


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
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.persistence.finalizer = FINALIZER
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=KOPF_PREFIX)
        settings.persistence.diffbase_storage = HashedDiffBaseStorage(prefix=KOPF_PREFIX, key=DIFFBASE_KEY)
        count_kopf_errors()
        objects = logging.getLogger("kopf.objects")
        if not any(isinstance(f, QuietWatchEvents) for f in objects.filters):
            objects.addFilter(QuietWatchEvents())
        # Events are posted only where a reconciler asks for one (no Event per retry or log line), from us.
        settings.posting.loggers = False
        settings.posting.reporting_component = "oci-operator"
        settings.posting.level = logging.INFO
        # Re-establish watches regularly: a silently dead watch would stall every object.
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.watching.connect_timeout = 30
        # Many objects: every blocking call (the API client, render workers' hand-off) goes through the
        # loop's default pool, which asyncio sizes at cores + 4 (6 here): calls that mostly wait on the
        # network queue behind each other. kopf's own sync work gets its pool too.
        settings.execution.max_workers = IO_THREADS
        asyncio.get_running_loop().set_default_executor(
            concurrent.futures.ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="oci-io")
        )
