"""Issue 16 #8: discovery (--discover) is rate-limited, capped, and remembers a bounded number of MACs.

Here the decisions, with a clock the test moves and the creations recorded instead of sent; the API
side (hosts really created, never more than the cap) is in tests/integration/test_discovery_flood.py."""

from __future__ import annotations

import threading
from typing import Any

from oci_operator.bootserver.discovery import DISCOVERED_LABEL, Discovery, DiscoveryLimits
from support.waiting import wait_for


class Hosts:
    """Stands in for the boot server's Directory: what the informers know."""

    def __init__(self, discovered: int = 0) -> None:
        self.discovered = discovered

    def by_mac(self, mac: str) -> Any:
        return None

    def claimants(self, mac: str) -> list[Any]:
        return []

    def count_labelled(self, namespace: str, label: str) -> int:
        assert label == DISCOVERED_LABEL
        return self.discovered


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Posted:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, namespace: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.names.append(body["metadata"]["name"])


def macs(n: int, start: int = 0) -> list[str]:
    return [f"52:54:00:00:{(i >> 8) & 0xFF:02x}:{i & 0xFF:02x}" for i in range(start, start + n)]


def discovery(limits: DiscoveryLimits, hosts: Hosts | None = None) -> tuple[Discovery, Clock, Posted]:
    clock, posted = Clock(), Posted()
    return Discovery(hosts or Hosts(), "ns", limits, clock, posted), clock, posted  # type: ignore[arg-type]


def test_a_flood_of_macs_gets_the_burst_then_the_rate() -> None:
    found, clock, posted = discovery(DiscoveryLimits(per_minute=60, burst=5, max_hosts=1000))
    assert sum(found.offer(mac, "test") for mac in macs(500)) == 5
    clock.now = 4.0  # four seconds at one a second
    assert sum(found.offer(mac, "test") for mac in macs(500, 1000)) == 4
    clock.now = 600.0  # a long pause refills the burst, no more
    assert sum(found.offer(mac, "test") for mac in macs(500, 2000)) == 5
    wait_for(lambda: len(posted.names) == 14, 10, "14 creations")


def test_no_more_discovered_hosts_than_the_cap() -> None:
    found, _, _ = discovery(DiscoveryLimits(per_minute=1e6, burst=1000, max_hosts=100), Hosts(discovered=98))
    assert sum(found.offer(mac, "test") for mac in macs(50)) == 2  # creations not yet seen count too


def test_the_memo_of_handled_macs_is_bounded() -> None:
    found, clock, _ = discovery(DiscoveryLimits(per_minute=1e9, burst=10**6, max_hosts=10**6, memo=100))
    for mac in macs(1000):
        clock.now += 1
        found.seen(mac, "test")
    assert found.remembered() == 100
