"""Keep the operator serving when kopf stops by itself.

kopf ends its whole run when a watch meets a 404: an API server that has just restarted answers 404
for `oci.openstack.org` until it has loaded the CRDs again, so one restart at the wrong moment left an
operator process that was alive and served nothing (and one started during an outage never began).
Here kopf runs in a worker thread with a stop flag that only a signal sets (kopf's embedding mode),
so a run that ended without one is known to have failed: wait until the API serves our kinds again,
then run again, backing off if runs keep failing fast.

The run is told to stop through callbacks (`Run.on_stop`) rather than a flag it waits on: kopf waits
on a thread-based flag in its loop's default executor, and asyncio's shutdown waits for that thread,
so a failed run whose flag was never set would never return."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from .metrics import OPERATOR_RESTARTS

log = logging.getLogger(__name__)

FIRST_BACKOFF = 1.0
LONGEST_BACKOFF = 60.0
HEALTHY_RUN = 600.0  # a run this long was not a crash loop: the next failure starts from the first backoff


class Run:
    """One run's line to the supervisor: callbacks it wants called when it must stop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stoppers: list[Callable[[], object]] = []
        self._stopping = False

    def on_stop(self, stopper: Callable[[], object]) -> None:
        """`stopper` is called once, from the supervising thread (at once if stopping already)."""
        with self._lock:
            if not self._stopping:
                self._stoppers.append(stopper)
                return
        stopper()

    def stop(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            stoppers, self._stoppers = self._stoppers, []
        for stopper in stoppers:
            stopper()


def serve(
    run: Callable[[Run], None],
    wait_until_served: Callable[[threading.Event], bool],
    stop: threading.Event | None = None,
    backoff: tuple[float, float] = (FIRST_BACKOFF, LONGEST_BACKOFF),
) -> None:
    """Run `run` until `stop` is set (SIGTERM/SIGINT set it when this is the main thread).

    `wait_until_served(stop)` blocks until the API serves what `run` needs; False: stop was set."""
    stop = stop or threading.Event()
    restore = _stop_on_signals(stop)
    first, longest = backoff
    delay = first
    try:
        while wait_until_served(stop) and not stop.is_set():
            started = time.monotonic()
            control = Run()
            worker = threading.Thread(target=_guarded, args=(run, control), name="kopf")
            worker.start()
            while worker.is_alive():
                worker.join(0.5)  # short joins: this thread takes the signals, then tells the run
                if stop.is_set():
                    control.stop()
            if stop.is_set():
                log.info("stopped on request")
                return
            OPERATOR_RESTARTS.inc()
            if time.monotonic() - started > HEALTHY_RUN:
                delay = first
            log.error("kopf stopped without being asked to (see above); serving again in %.0f s", delay)
            if stop.wait(delay):
                return
            delay = min(delay * 2, longest)
    finally:
        restore()


def _guarded(run: Callable[[Run], None], control: Run) -> None:
    try:
        run(control)
    except Exception:
        log.exception("kopf failed")


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()  # only that: the loop in serve() tells the run (no lock or log in a signal handler)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
