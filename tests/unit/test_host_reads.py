"""Issue 12: a host's Secrets are read again only when a decision needs it, counted against a stand-in
for the API server (a dict of Secrets and a read counter), on a test clock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from oci_operator.bmc.credentials import CredentialsCheck, check_secret
from oci_operator.handlers.host_reads import CredentialsCache, RoleSecretCache


@dataclass
class Secrets:
    """Secrets by (namespace, name) with their resourceVersion; counts the reads."""

    stored: dict[tuple[str, str], tuple[dict[str, str], str]] = field(default_factory=dict)
    reads: int = 0

    async def credentials(self, namespace: str, name: str) -> CredentialsCheck:
        self.reads += 1
        found = self.stored.get((namespace, name))
        return check_secret(name, found[0] if found else None, found[1] if found else "")

    async def data(self, namespace: str, name: str) -> dict[str, str] | None:
        self.reads += 1
        found = self.stored.get((namespace, name))
        return found[0] if found else None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_healthy_host_reuses_a_good_read_until_it_is_old() -> None:
    secrets, clock = Secrets({("n", "bmc"): ({"username": "u", "password": "p"}, "7")}), Clock()
    cache = CredentialsCache(secrets.credentials, max_age=900, clock=clock)
    assert asyncio.run(cache.get("n", "bmc", healthy=True)).credentials is not None
    assert not cache.reused
    for clock.now in (1.0, 300.0, 899.0):
        asyncio.run(cache.get("n", "bmc", healthy=True))
        assert cache.reused
    assert secrets.reads == 1
    clock.now = 900.0
    asyncio.run(cache.get("n", "bmc", healthy=True))
    assert secrets.reads == 2
    assert not cache.reused


def test_a_host_in_error_or_a_bad_read_or_another_name_reads_every_time() -> None:
    secrets, clock = Secrets({("n", "bmc"): ({"username": "u", "password": "p"}, "7")}), Clock()
    cache = CredentialsCache(secrets.credentials, max_age=900, clock=clock)
    asyncio.run(cache.get("n", "bmc", healthy=True))
    asyncio.run(cache.get("n", "bmc", healthy=False))
    asyncio.run(cache.get("n", "other", healthy=True))  # missing: a problem, never kept
    asyncio.run(cache.get("n", "other", healthy=True))
    assert secrets.reads == 4


def test_a_refused_kept_password_reads_again_and_says_whether_the_secret_changed() -> None:
    secrets, clock = Secrets({("n", "bmc"): ({"username": "u", "password": "old"}, "7")}), Clock()
    cache = CredentialsCache(secrets.credentials, max_age=900, clock=clock)
    asyncio.run(cache.get("n", "bmc", healthy=True))
    clock.now = 60.0
    asyncio.run(cache.get("n", "bmc", healthy=True))
    assert cache.reused
    assert asyncio.run(cache.changed_since_reuse("n", "bmc")) is False  # the same Secret: the refusal is real
    secrets.stored[("n", "bmc")] = ({"username": "u", "password": "new"}, "8")  # rotated
    assert asyncio.run(cache.changed_since_reuse("n", "bmc")) is True
    fresh = asyncio.run(cache.get("n", "bmc", healthy=True))
    assert fresh.credentials is not None
    assert fresh.credentials.password == "new"
    assert secrets.reads == 3


def test_the_role_secret_is_read_again_when_its_noderole_moves() -> None:
    secrets, clock = Secrets({("sys", "c-host-a"): ({"hiera.yaml": "a: 1"}, "3")}), Clock()
    cache = RoleSecretCache(secrets.data, max_age=900, clock=clock)
    assert asyncio.run(cache.get("sys", "c-host-a", "100")) == {"hiera.yaml": "a: 1"}
    assert asyncio.run(cache.get("sys", "c-host-a", "100")) == {"hiera.yaml": "a: 1"}
    assert secrets.reads == 1
    # The cluster writes the Secret first, then the NodeRole (new version) that carries its digest.
    secrets.stored[("sys", "c-host-a")] = ({"hiera.yaml": "a: 2"}, "4")
    assert asyncio.run(cache.get("sys", "c-host-a", "101")) == {"hiera.yaml": "a: 2"}
    assert secrets.reads == 2
    clock.now = 900.0  # old: read again even if nothing moved
    asyncio.run(cache.get("sys", "c-host-a", "101"))
    assert secrets.reads == 3


def test_a_missing_role_secret_or_an_unknown_role_version_is_never_kept() -> None:
    secrets, clock = Secrets(), Clock()
    cache = RoleSecretCache(secrets.data, max_age=900, clock=clock)
    assert asyncio.run(cache.get("sys", "c-host-a", "100")) == {}
    secrets.stored[("sys", "c-host-a")] = ({"hiera.yaml": "a: 1"}, "3")
    assert asyncio.run(cache.get("sys", "c-host-a", "100")) == {"hiera.yaml": "a: 1"}
    asyncio.run(cache.get("sys", "c-host-a", ""))
    asyncio.run(cache.get("sys", "c-host-a", ""))
    assert secrets.reads == 4
