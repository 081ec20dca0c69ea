"""Issue 16 #11: two hosts on one BMC address with different Secrets do not fight over its session."""

from __future__ import annotations

from oci_operator.bmc.access import BMCPool
from oci_operator.bmc.credentials import check_secret
from oci_operator.bmc.governor import Governor, GovernorConfig
from support.fake_bmc import FakeDriver


def test_alternating_hosts_with_different_credentials_keep_their_own_sessions() -> None:
    made: list[tuple[str, str]] = []
    drivers: list[FakeDriver] = []

    def factory(address: str, username: str, password: str) -> FakeDriver:
        made.append((address, username))
        drivers.append(FakeDriver())
        return drivers[-1]

    pool = BMCPool(Governor(GovernorConfig()), factory=factory)  # type: ignore[arg-type]
    first = check_secret("a", {"username": "alice", "password": "p1"}, "1").credentials
    second = check_secret("b", {"username": "bob", "password": "p2"}, "1").credentials
    assert first is not None
    assert second is not None
    for _ in range(5):  # passes of the two hosts, interleaved
        a = pool.access("ipmi://10.0.0.5", first, "ns1/a")
        b = pool.access("ipmi://10.0.0.5", second, "ns2/b")
        assert a.driver is not b.driver
    assert made == [("ipmi://10.0.0.5", "alice"), ("ipmi://10.0.0.5", "bob")]  # one session each, never reopened
    assert all("close" not in d.commands for d in drivers)
