"""The supervisor around kopf: a run that ends by itself is run again once the API serves our kinds
(with a growing pause), a stop request ends the current run through its callbacks, and a stop while
waiting for the API ends everything without a run."""

from __future__ import annotations

import threading

from oci_operator.supervise import Run, serve

QUICK = (0.01, 0.02)


def test_runs_that_end_by_themselves_are_run_again_until_a_stop_request() -> None:
    stop = threading.Event()
    runs: list[Run] = []
    looks: list[int] = []

    def run(control: Run) -> None:
        runs.append(control)
        if len(runs) == 1:
            return  # ended by itself (kopf's watch met a 404)
        if len(runs) == 2:
            raise RuntimeError("kopf raised")
        stopped = threading.Event()
        control.on_stop(stopped.set)
        stop.set()  # as a SIGTERM would, while this run serves
        assert stopped.wait(10), "the run was not told to stop"

    def served(_stop: threading.Event) -> bool:
        looks.append(len(runs))
        return True

    serve(run, served, stop, backoff=QUICK)
    assert len(runs) == 3
    assert looks == [0, 1, 2]  # before each run, the API was looked at


def test_a_stop_while_waiting_for_the_api_means_no_run() -> None:
    stop = threading.Event()
    runs: list[Run] = []

    def served(flag: threading.Event) -> bool:
        flag.set()
        return False

    serve(runs.append, served, stop, backoff=QUICK)
    assert runs == []
    assert stop.is_set()


def test_a_stopper_registered_after_the_stop_is_called_at_once() -> None:
    control = Run()
    called: list[str] = []
    control.on_stop(lambda: called.append("first"))
    control.stop()
    control.stop()  # once only
    control.on_stop(lambda: called.append("late"))
    assert called == ["first", "late"]
