"""Whether the API server serves our kinds yet (after a restart it answers 404 until its CRDs are loaded)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection

from kubernetes import client
from urllib3.exceptions import HTTPError

from .client import api_client

log = logging.getLogger(__name__)

RETRY = 1.0  # seconds between looks: an API server back from a restart serves within seconds
REPORT_EVERY = 60.0


def missing(group: str, version: str, plurals: Collection[str]) -> str:
    """'' when every plural is served, else what is missing or why (404, connection refused...)."""
    try:
        served = {r.name for r in client.CustomObjectsApi(api_client()).get_api_resources(group, version).resources}
    except client.ApiException as exc:
        return f"{group}/{version}: HTTP {exc.status} {exc.reason}"
    except (HTTPError, OSError) as exc:
        return f"the API server: {type(exc).__name__}"
    absent = sorted(set(plurals) - served)
    return f"{group}/{version}: no {', '.join(absent)}" if absent else ""


def wait_until_served(group: str, version: str, plurals: Collection[str], stop: threading.Event) -> bool:
    """Block until the API serves `plurals`; False when `stop` was set first."""
    reported = 0.0
    waited = False
    while not stop.is_set():
        why = missing(group, version, plurals)
        if not why:
            if waited:
                log.info("%s/%s served again: starting", group, version)
            return True
        if time.monotonic() - reported >= REPORT_EVERY:
            log.warning("waiting for the API server to serve our kinds (%s); install the CRDs if they are absent", why)
            reported = time.monotonic()
        waited = True
        stop.wait(RETRY)
    return False
