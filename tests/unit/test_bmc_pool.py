"""Issue 16 #11: two hosts on one BMC address with different Secrets do not fight over its session."""

from __future__ import annotations

from oci_operator.bmc.access import BMCPool
from oci_operator.bmc.credentials import (
    CREDENTIALS_LABEL,
    CREDENTIALS_TYPE,
    CredentialsProblem,
    check_secret,
    marked,
)
from oci_operator.bmc.governor import Governor, GovernorConfig
from oci_operator.conditions import SHARED_BMC, find, note_shared_bmc
from support.fake_bmc import FakeDriver


def test_alternating_hosts_with_different_credentials_keep_their_own_sessions() -> None:
    made: list[tuple[str, str]] = []
    drivers: list[FakeDriver] = []

    def factory(address: str, username: str, password: str, tls: object) -> FakeDriver:
        made.append((address, username))
        drivers.append(FakeDriver())
        return drivers[-1]

    pool = BMCPool(Governor(GovernorConfig()), factory=factory)  # type: ignore[arg-type]
    first = check_secret("a", {"username": "alice", "password": "p1"}, "1").credentials
    second = check_secret("b", {"username": "bob", "password": "p2"}, "1").credentials
    assert first is not None
    assert second is not None
    for _ in range(5):  # passes of the two hosts, interleaved
        a = pool.access("ipmi://10.0.0.5", first, owner="ns1/a")
        b = pool.access("ipmi://10.0.0.5", second, owner="ns2/b")
        assert a.driver is not b.driver
    assert made == [("ipmi://10.0.0.5", "alice"), ("ipmi://10.0.0.5", "bob")]  # one session each, never reopened
    assert all("close" not in d.commands for d in drivers)


def test_only_secrets_marked_for_bmc_credentials_are_used() -> None:
    data = {"username": "admin", "password": "p"}
    assert marked(CREDENTIALS_TYPE, {})
    assert marked("Opaque", {CREDENTIALS_LABEL: "true"})
    assert not marked("Opaque", {})
    assert not marked("kubernetes.io/basic-auth", {CREDENTIALS_LABEL: "yes"})
    check = check_secret("app-auth", data, "1", is_marked=False)
    assert check.credentials is None
    assert check.problem is CredentialsProblem.UNMARKED
    assert CREDENTIALS_TYPE in check.detail


def test_hosts_naming_one_address_see_each_other() -> None:
    pool = BMCPool(Governor(GovernorConfig()), factory=lambda *_: FakeDriver())  # type: ignore[arg-type,return-value]
    assert pool.claim("n1/a", "ipmi://10.0.0.5") == []
    assert pool.claim("n2/b", "ipmi://10.0.0.5") == ["n1/a"]
    assert pool.claim("n1/a", "ipmi://10.0.0.5") == ["n2/b"]
    assert pool.claim("n1/c", "ipmi://10.0.0.6") == []
    pool.release("n2/b")
    assert pool.claim("n1/a", "ipmi://10.0.0.5") == []


def test_the_shared_condition_comes_and_goes() -> None:
    conditions = note_shared_bmc([], "ipmi://10.0.0.5", ["n2/b"], 1)
    shared = find(conditions, SHARED_BMC)
    assert shared is not None
    assert (shared.status, shared.reason) == ("True", "SharedBMCAddress")
    assert "n2/b" in shared.message
    assert find(note_shared_bmc(conditions, "ipmi://10.0.0.5", [], 1), SHARED_BMC) is None


def test_a_deleted_host_lets_go_of_its_bmc_without_closing_a_sharing_hosts_session() -> None:
    drivers: list[FakeDriver] = []

    def factory(address: str, username: str, password: str, tls: object) -> FakeDriver:
        drivers.append(FakeDriver())
        return drivers[-1]

    governor = Governor(GovernorConfig())
    pool = BMCPool(governor, factory=factory)  # type: ignore[arg-type]
    shared = check_secret("s", {"username": "alice", "password": "p1"}, "1").credentials
    own = check_secret("o", {"username": "bob", "password": "p2"}, "1").credentials
    assert shared is not None
    assert own is not None
    address = "ipmi://10.0.0.5"
    for owner, credentials in (("ns/a", shared), ("ns/b", shared), ("ns/c", own)):
        pool.access(address, credentials, owner=owner)
        pool.claim(owner, address)
    governor._state(address).failures = 3  # b and c still wait out this BMC's backoff
    pool.access(address, shared)  # the delete's power-off of a, as the handler makes it
    pool.drop(address, owner="ns/a")
    assert all("close" not in d.commands for d in drivers)  # b's session (shared with a) and c's stay
    assert governor.failures(address) == 3
    assert pool.access(address, shared, owner="ns/b").driver is drivers[0]
    pool.drop(address, owner="ns/b")
    assert "close" in drivers[0].commands  # no one uses it any more
    assert "close" not in drivers[1].commands
    assert governor.failures(address) == 3
    pool.drop(address, owner="ns/c")  # the last one: the BMC is forgotten
    assert "close" in drivers[1].commands
    assert governor.failures(address) == 0


class IdleDriver(FakeDriver):
    def __init__(self, idle: bool) -> None:
        super().__init__()
        self.idle = idle

    def end_if_idle(self) -> bool:
        ended, self.idle = self.idle, False
        return ended


def test_idle_sessions_are_ended_across_the_pool_and_claims_follow_their_hosts() -> None:
    made: list[FakeDriver] = []

    def factory(address: str, username: str, password: str, tls: object) -> FakeDriver:
        made.append(IdleDriver(idle=address.endswith("1")) if "ipmi" in address else FakeDriver())
        return made[-1]

    pool = BMCPool(Governor(GovernorConfig()), factory=factory)  # type: ignore[arg-type]
    creds = check_secret("a", {"username": "u", "password": "p"}, "1").credentials
    assert creds is not None
    for address in ("ipmi://10.0.0.1", "ipmi://10.0.0.2", "redfish://10.0.0.3"):  # Redfish: no session to end
        pool.access(address, creds, owner=address)
    assert pool.end_idle_sessions() == 1
    assert pool.end_idle_sessions() == 0

    assert pool.claim("ns/a", "ipmi://10.0.0.1") == []
    assert pool.claim("ns/b", "ipmi://10.0.0.1") == ["ns/a"]
    assert pool.claim("ns/a", "ipmi://10.0.0.9") == []  # a moved its spec: it no longer shares with b
    assert pool.claim("ns/b", "ipmi://10.0.0.1") == []
    pool.release("ns/a")
    assert pool.claim("ns/c", "ipmi://10.0.0.9") == []
