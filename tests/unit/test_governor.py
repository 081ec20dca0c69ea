"""BMC call governance rules, with a controllable clock."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from oci_operator.bmc.driver import BMCTimeout, BMCUnreachable
from oci_operator.bmc.governor import BUSY_REASON, Governor, GovernorConfig, NotNow, backoff_delay


def test_backoff_grows_is_capped_and_jittered() -> None:
    low = [backoff_delay(n, 2.0, 60.0, rand=lambda: 0.0) for n in range(1, 8)]
    high = [backoff_delay(n, 2.0, 60.0, rand=lambda: 1.0) for n in range(1, 8)]
    assert low == [1.6, 3.2, 6.4, 12.8, 25.6, 48.0, 48.0]
    assert high[-1] == pytest.approx(72.0)
    assert all(high[i] < low[i + 1] for i in range(4))  # even worst-case jitter keeps growing


def test_rate_budget_refuses_past_the_burst() -> None:
    now = [0.0]
    governor = Governor(GovernorConfig(calls_per_minute=60, burst=2), clock=lambda: now[0])

    async def three_calls() -> float:
        await governor.call("b", "get_power", lambda: True)
        await governor.call("b", "get_power", lambda: True)
        with pytest.raises(NotNow) as refused:
            await governor.call("b", "get_power", lambda: True)
        now[0] += refused.value.retry_after
        await governor.call("b", "get_power", lambda: True)
        return refused.value.retry_after

    assert asyncio.run(three_calls()) == pytest.approx(2.0)  # back to a pass's worth (the burst, 2)


def test_a_spent_budget_lets_a_whole_pass_through_once_refilled() -> None:
    """Observe, then act: refilled one token at a time, each observation took the token and every
    command after it was refused, for ever (a delete's power-off never left)."""
    now = [0.0]
    governor = Governor(GovernorConfig(calls_per_minute=30, burst=10), clock=lambda: now[0])

    async def observe_then_act() -> int:
        for _ in range(10):
            await governor.call("b", "get_power", lambda: True)
        for attempt in range(1, 6):
            try:
                await governor.call("b", "get_power", lambda: True)
                await governor.call("b", "set_power_off", lambda: None)
                return attempt
            except NotNow as refused:
                now[0] += refused.retry_after
        return 0

    assert asyncio.run(observe_then_act()) == 2  # refused once, then the whole pass went through


def test_a_caller_back_before_the_refill_is_refused_too() -> None:
    """Another pass (a watch event, a delete) coming back as soon as one token is there must not take
    it: the command of the pass that waited would be refused again."""
    now = [0.0]
    governor = Governor(GovernorConfig(calls_per_minute=30, burst=10), clock=lambda: now[0])

    async def scenario() -> list[float]:
        for _ in range(10):
            await governor.call("b", "get_power", lambda: True)
        waits = []
        for _ in range(2):  # spent, then one token back (0.5 a second): refused both times
            with pytest.raises(NotNow) as refused:
                await governor.call("b", "get_power", lambda: True)
            waits.append(refused.value.retry_after)
            now[0] += 2.0
        now[0] += 2.0  # three tokens: the pass's observation and its commands go through
        await governor.call("b", "get_power", lambda: True)
        await governor.call("b", "set_boot_device", lambda: None)
        await governor.call("b", "set_power_on", lambda: None)
        return waits

    assert asyncio.run(scenario()) == pytest.approx([6.0, 4.0])


def test_one_call_in_flight_per_bmc_and_breaker_opens_on_failure() -> None:
    now = [0.0]
    governor = Governor(GovernorConfig(backoff_base=10.0), clock=lambda: now[0])
    running, peak = [0], [0]
    lock = threading.Lock()

    def slow() -> bool:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return True

    def fail() -> bool:
        raise BMCUnreachable("BMC x did not answer")

    async def scenario() -> None:
        await asyncio.gather(*(governor.call("same", "get_power", slow) for _ in range(4)))
        with pytest.raises(BMCUnreachable):
            await governor.call("same", "get_power", fail)
        with pytest.raises(NotNow) as refused:
            await governor.call("same", "get_power", slow)
        assert 8.0 <= refused.value.retry_after <= 12.0  # base 10 s, ±20 %
        now[0] += refused.value.retry_after  # the backoff passes: the breaker lets a call through again
        assert await governor.call("same", "get_power", slow)

    asyncio.run(scenario())
    assert peak[0] == 1


def test_timeout_keeps_the_bmc_locked_until_the_thread_ends() -> None:
    now = [0.0]
    governor = Governor(GovernorConfig(call_timeout=0.05, backoff_base=4.0), clock=lambda: now[0])
    release = threading.Event()

    async def scenario() -> None:
        with pytest.raises(BMCTimeout):
            await governor.call("b", "get_power", lambda: release.wait(5))
        assert governor.busy("b")  # the stuck thread still holds this BMC
        release.set()
        now[0] += governor.retry_after("b")
        assert await governor.call("b", "get_power", lambda: "second") == "second"
        assert not governor.busy("b")

    asyncio.run(scenario())


def test_a_caller_waits_for_a_stuck_call_no_longer_than_the_call_timeout() -> None:
    """A thread stuck in the BMC library holds its BMC: a caller queued behind it (a delete's power-off)
    would wait for good; now it hears "not now" and says why."""
    governor = Governor(GovernorConfig(call_timeout=0.05, backoff_base=4.0))
    release = threading.Event()
    calls: list[str] = []

    async def scenario() -> None:
        with pytest.raises(BMCTimeout):
            await governor.call("b", "get_power", lambda: release.wait(5))
        governor.reset("b")  # new credentials, say: the breaker lets the next call through at once
        with pytest.raises(NotNow) as refused:
            await asyncio.wait_for(governor.call("b", "get_power", lambda: calls.append("sent")), 2.0)
        assert refused.value.reason == BUSY_REASON
        assert calls == []  # nothing sent beside the stuck call
        assert governor.busy("b")
        release.set()  # (that the BMC is free again once the thread ends: the test above)

    asyncio.run(scenario())


def test_a_timed_out_call_opens_the_breaker() -> None:
    """A BMC that hangs is as unhealthy as one that refuses: no call until the backoff has passed."""
    now = [100.0]
    governor = Governor(GovernorConfig(call_timeout=0.05, backoff_base=10.0), clock=lambda: now[0])
    release = threading.Event()
    calls: list[str] = []

    async def scenario() -> None:
        with pytest.raises(BMCTimeout):
            await governor.call("b", "get_power", lambda: release.wait(5))
        release.set()
        assert governor.failures("b") == 1
        assert 8.0 <= governor.retry_after("b") <= 12.0  # base 10 s, ±20 %
        assert governor.open_breakers() == 1
        with pytest.raises(NotNow) as refused:
            await governor.call("b", "get_power", lambda: calls.append("sent"))
        assert refused.value.retry_after == pytest.approx(governor.retry_after("b"))
        assert calls == []  # refused without touching the BMC
        now[0] += 7.9  # still inside the shortest possible backoff
        with pytest.raises(NotNow):
            await governor.call("b", "get_power", lambda: calls.append("sent"))
        assert calls == []

    asyncio.run(scenario())


def test_a_success_resets_the_failure_count_and_the_next_backoff_starts_small() -> None:
    now = [100.0]
    governor = Governor(GovernorConfig(backoff_base=10.0, backoff_cap=600.0), clock=lambda: now[0])

    def fail() -> bool:
        raise BMCUnreachable("BMC b did not answer")

    async def fail_once() -> float:
        with pytest.raises(BMCUnreachable):
            await governor.call("b", "get_power", fail)
        backoff = governor.retry_after("b")
        now[0] += backoff  # wait it out, as the runner does
        return backoff

    async def scenario() -> None:
        first, second, third = await fail_once(), await fail_once(), await fail_once()
        assert governor.failures("b") == 3
        assert 8.0 <= first <= 12.0  # it grows: 10, 20, 40 s, ±20 %
        assert 16.0 <= second <= 24.0
        assert 32.0 <= third <= 48.0
        assert await governor.call("b", "get_power", lambda: True)
        assert governor.failures("b") == 0  # no reset() by hand: the success itself heals
        assert governor.retry_after("b") == 0.0
        assert governor.open_breakers() == 0
        assert 8.0 <= await fail_once() <= 12.0  # a new failure starts from the base again, not from 80 s

    asyncio.run(scenario())


def test_reset_forgets_the_failures_at_once() -> None:
    """What a credential change does: the next attempt happens now, despite the backoff."""
    now = [0.0]
    governor = Governor(GovernorConfig(backoff_base=10.0), clock=lambda: now[0])

    def fail() -> bool:
        raise BMCUnreachable("BMC b did not answer")

    async def scenario() -> None:
        with pytest.raises(BMCUnreachable):
            await governor.call("b", "get_power", fail)
        governor.reset("b")
        assert (governor.failures("b"), governor.retry_after("b")) == (0, 0.0)
        assert await governor.call("b", "get_power", lambda: True)

    asyncio.run(scenario())


def test_no_failures_no_backoff() -> None:
    assert backoff_delay(0, 2.0, 60.0, rand=lambda: 1.0) == 0.0
    assert backoff_delay(-1, 2.0, 60.0, rand=lambda: 1.0) == 0.0
    assert backoff_delay(1, 2.0, 60.0, rand=lambda: 0.5) == 2.0


def test_the_budget_refills_at_its_rate_and_says_so() -> None:
    now = [0.0]
    governor = Governor(GovernorConfig(calls_per_minute=120, burst=1), clock=lambda: now[0])  # 2 per second

    async def scenario() -> None:
        await governor.call("b", "get_power", lambda: True)
        with pytest.raises(NotNow) as refused:
            await governor.call("b", "get_power", lambda: True)
        assert refused.value.retry_after == pytest.approx(0.5)
        assert refused.value.reason == "BMC rate budget spent"
        assert str(refused.value) == "BMC rate budget spent; retry in 0.5s"
        now[0] += 0.25  # half a token back
        with pytest.raises(NotNow) as again:
            await governor.call("b", "get_power", lambda: True)
        assert again.value.retry_after == pytest.approx(0.25)
        now[0] += 0.25
        assert await governor.call("b", "get_power", lambda: "through")

    asyncio.run(scenario())


def test_the_breaker_holds_to_the_end_of_its_backoff() -> None:
    now = [0.0]
    governor = Governor(GovernorConfig(backoff_base=10.0), clock=lambda: now[0])

    def fail() -> bool:
        raise BMCUnreachable("BMC b did not answer")

    async def scenario() -> None:
        with pytest.raises(BMCUnreachable):
            await governor.call("b", "get_power", fail)
        backoff = governor.retry_after("b")
        now[0] += backoff - 0.5  # half a second before the end
        with pytest.raises(NotNow) as refused:
            await governor.call("b", "get_power", lambda: True)
        assert refused.value.retry_after == pytest.approx(0.5)
        assert str(refused.value) == "BMC in backoff after 1 failure(s); retry in 0.5s"
        assert governor.open_breakers() == 1
        now[0] += 0.5  # exactly at the end: closed
        assert governor.open_breakers() == 0
        assert await governor.call("b", "get_power", lambda: True)

    asyncio.run(scenario())


def test_forget_drops_a_bmc_and_its_failures() -> None:
    governor = Governor(GovernorConfig(backoff_base=10.0))

    def fail() -> bool:
        raise BMCUnreachable("BMC b did not answer")

    async def scenario() -> None:
        for key in ("a", "b"):
            with pytest.raises(BMCUnreachable):
                await governor.call(key, "get_power", fail)
        governor.forget("b")
        assert (governor.failures("a"), governor.failures("b")) == (1, 0)

    asyncio.run(scenario())
