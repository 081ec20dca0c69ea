"""BMC call governance: BMCs are small, slow computers that many operators overload.

- at most one call in flight per BMC, and a global cap on calls in flight;
- a per-BMC token bucket (calls per minute, with a burst);
- a circuit breaker per BMC: after a failure, no call until a capped, jittered, exponential
  backoff has passed (so an unreachable BMC costs one attempt per backoff, not one per tick);
- every call on the governor's own threads with a timeout (pyghmi blocks and has no timeout).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from prometheus_client import Counter, Gauge, Histogram

from .driver import BMCCommandError, BMCError, BMCTimeout

T = TypeVar("T")

CALLS = Counter("oci_bmc_calls_total", "BMC calls by operation and result.", ["operation", "result"])
CALL_SECONDS = Histogram(
    "oci_bmc_call_duration_seconds",
    "Duration of BMC calls, by operation.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
IN_FLIGHT = Gauge("oci_bmc_calls_in_flight", "BMC calls running now.")
BUDGET_REFUSED = Counter("oci_bmc_budget_refused_total", "Calls refused because a BMC's rate budget was spent.")
BUDGET_USED = Counter("oci_bmc_budget_used_total", "Rate-budget tokens spent on BMC calls.")
STUCK = Gauge("oci_bmc_calls_stuck", "BMC calls still running past their timeout (their BMC stays locked).")
BREAKERS_OPEN = Gauge("oci_bmc_breakers_open", "BMCs in backoff after failures.")


@dataclass(frozen=True)
class GovernorConfig:
    max_in_flight: int = 16
    calls_per_minute: float = 30.0
    burst: int = 10
    call_timeout: float = 20.0
    backoff_base: float = 2.0
    backoff_cap: float = 600.0


# Calls one pass makes to act: the observation, a boot device, a power command. A spent budget refills
# to this before it lets the next call through; refilled one token at a time, the observation took each
# token and the command after it was refused for ever (a delete's power-off looped, never sent).
PASS_CALLS = 3
# Threads per slot: room for calls stuck past their timeout (at most one per BMC) besides live ones.
STUCK_HEADROOM = 4
# Operations that only read: their success says the BMC answers, not that a refused command would pass.
_READS = ("get_", "check_")


class NotNow(Exception):
    """The call was not made (breaker open or budget spent); try again after `retry_after` seconds."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(f"{reason}; retry in {retry_after:.1f}s")
        self.reason = reason
        self.retry_after = retry_after


def backoff_delay(failures: int, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Exponential in the number of consecutive failures, capped, with ±20 % jitter."""
    if failures <= 0:
        return 0.0
    return float(min(cap, base * 2 ** (failures - 1)) * (0.8 + 0.4 * rand()))


BUSY_REASON = "an earlier call to this BMC has not ended (its thread is stuck past the call timeout)"


@dataclass
class _BMCState:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    tokens: float = 0.0
    refilled: float = 0.0
    failures: int = 0
    refusals: int = 0  # consecutive refused commands: a read that succeeds meanwhile does not reset them
    refilling: bool = False  # the budget ran out: no call until a pass's worth is back
    open_until: float = 0.0


class Governor:
    def __init__(self, config: GovernorConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        # More threads than slots: a call stuck past its timeout gives its slot back (its BMC stays locked)
        # but keeps its thread; with threads == slots, a few BMCs stuck under packet loss left no thread
        # for any other BMC and the whole fleet stalled.
        self._executor = ThreadPoolExecutor(max_workers=config.max_in_flight * STUCK_HEADROOM, thread_name_prefix="bmc")
        self._slots = asyncio.Semaphore(config.max_in_flight)
        self._bmcs: dict[str, _BMCState] = {}
        # Counted when Prometheus scrapes, not on every call: a scan of all BMCs is not per-call work.
        BREAKERS_OPEN.set_function(self.open_breakers)

    def open_breakers(self) -> int:
        now = self._clock()
        return sum(1 for s in list(self._bmcs.values()) if s.open_until > now)

    def _state(self, key: str) -> _BMCState:
        state = self._bmcs.get(key)
        if state is None:
            state = self._bmcs[key] = _BMCState(tokens=float(self.config.burst), refilled=self._clock())
        return state

    def failures(self, key: str) -> int:
        return self._state(key).failures

    def reset(self, key: str) -> None:
        """Forget the failures of a BMC (its credentials changed: the next try deserves to happen now)."""
        state = self._state(key)
        state.failures, state.refusals, state.open_until = 0, 0, 0.0

    def forget(self, key: str) -> None:
        self._bmcs.pop(key, None)

    def _take_token(self, state: _BMCState) -> float:
        """0 when a token was taken, else the seconds until one is available."""
        now = self._clock()
        rate = self.config.calls_per_minute / 60.0
        state.tokens = min(float(self.config.burst), state.tokens + (now - state.refilled) * rate)
        state.refilled = now
        whole_pass = float(min(self.config.burst, PASS_CALLS))
        state.refilling = state.tokens < (whole_pass if state.refilling else 1.0)
        if state.refilling:
            return (whole_pass - state.tokens) / rate
        state.tokens -= 1.0
        BUDGET_USED.inc()
        return 0.0

    async def call(self, key: str, operation: str, fn: Callable[[], T]) -> T:
        """Run `fn` (a blocking driver call) for BMC `key` under every rule above."""
        state = self._state(key)
        wait = state.open_until - self._clock()
        if wait > 0:
            raise NotNow(f"BMC in backoff after {state.failures} failure(s)", wait)
        try:  # bounded: a call stuck in its thread holds the BMC, and a waiter must not hang with it
            await asyncio.wait_for(state.lock.acquire(), self.config.call_timeout)
        except TimeoutError:
            raise NotNow(BUSY_REASON, self.config.call_timeout) from None
        try:
            wait = self._take_token(state)
            if wait > 0:
                BUDGET_REFUSED.inc()
                raise NotNow("BMC rate budget spent", wait)
            await self._slots.acquire()
        except BaseException:
            state.lock.release()
            raise

        def release_slot() -> None:
            IN_FLIGHT.dec()
            self._slots.release()

        def release(done: object = None) -> None:
            if isinstance(done, asyncio.Future):
                if not done.cancelled():
                    done.exception()  # a late failure of a timed-out call: already reported as a timeout
                STUCK.dec()
            else:
                release_slot()
            state.lock.release()

        IN_FLIGHT.inc()
        started = self._clock()
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn)
        try:
            result = await asyncio.wait_for(asyncio.shield(future), self.config.call_timeout)
        except TimeoutError:
            # The thread still runs: keep this BMC's lock until it ends, but not a slot others need.
            release_slot()
            STUCK.inc()
            future.add_done_callback(release)
            self._failed(state, operation, "timeout")
            raise BMCTimeout(f"{operation} took longer than {self.config.call_timeout:.0f}s") from None
        except BMCCommandError as exc:
            release()
            state.refusals += 1  # the BMC is reachable, but the same command would be refused again now
            self._failed(state, operation, exc.kind)
            raise
        except BMCError as exc:
            release()
            self._failed(state, operation, exc.kind)
            raise
        except BaseException:
            release()
            raise
        release()
        CALLS.labels(operation, "ok").inc()
        CALL_SECONDS.labels(operation).observe(self._clock() - started)
        state.failures, state.open_until = 0, 0.0
        if not operation.startswith(_READS):
            state.refusals = 0
        return result

    def _failed(self, state: _BMCState, operation: str, kind: str) -> None:
        CALLS.labels(operation, kind).inc()
        state.failures += 1
        state.open_until = self._clock() + backoff_delay(
            state.failures + state.refusals, self.config.backoff_base, self.config.backoff_cap
        )

    def busy(self, key: str) -> bool:
        """A call to this BMC is in flight (or stuck past its timeout)."""
        return self._state(key).lock.locked()

    def retry_after(self, key: str) -> float:
        return max(0.0, self._state(key).open_until - self._clock())

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
