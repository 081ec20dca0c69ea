"""The Secrets a host's passes read, read again only when a decision needs it (issue 12).

The chart grants no list or watch of tenant Secrets, so the credentials Secret is read by name; a good
read is reused by a healthy host's passes for `max_age` seconds. A BMC that refuses a reused password
makes the pass read the Secret again before anything is reported: a rotated Secret is picked up where
it matters, without a credentials error for the window the read was kept. The cluster's per-host Secret
changes only with its NodeRole (the cluster writes the Secret first, then the NodeRole that carries its
digest), so it is read again when the NodeRole's resourceVersion moves.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..bmc.credentials import CredentialsCheck

CredentialsReader = Callable[[str, str], Awaitable[CredentialsCheck]]  # (namespace, Secret name)
SecretReader = Callable[[str, str], Awaitable[dict[str, str] | None]]  # (namespace, Secret name)


@dataclass(frozen=True)
class _Read:
    key: tuple[str, str]
    check: CredentialsCheck
    at: float


class CredentialsCache:
    """One host's credentials Secret. `reused`: whether the last `get` came from an earlier read."""

    def __init__(self, read: CredentialsReader, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._read, self.max_age, self._clock = read, max_age, clock
        self._last: _Read | None = None
        self.reused = False

    async def get(self, namespace: str, name: str, healthy: bool) -> CredentialsCheck:
        """A host in error reads on every pass (a corrected Secret heals it at its next pass)."""
        last, now = self._last, self._clock()
        if (
            last is not None
            and last.key == (namespace, name)
            and last.check.problem is None
            and healthy
            and now - last.at < self.max_age
        ):
            self.reused = True
            return last.check
        return await self._fresh(namespace, name)

    async def changed_since_reuse(self, namespace: str, name: str) -> bool:
        """The BMC refused the reused read: read again; True when the Secret is not the one that was refused."""
        refused = self._last.check if self._last is not None else None
        check = await self._fresh(namespace, name)
        if refused is None or refused.credentials is None or check.credentials is None:
            return True
        return check.credentials.resource_version != refused.credentials.resource_version

    async def _fresh(self, namespace: str, name: str) -> CredentialsCheck:
        check = await self._read(namespace, name)
        self._last = _Read((namespace, name), check, self._clock())
        self.reused = False
        return check


class RoleSecretCache:
    """One host's Secret from its cluster, kept while the NodeRole that names it has the same version."""

    def __init__(self, read: SecretReader, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._read, self.max_age, self._clock = read, max_age, clock
        self._last: tuple[tuple[str, str, str], dict[str, str], float] | None = None

    async def get(self, namespace: str, name: str, role_version: str) -> dict[str, str]:
        """The Secret's data ({} while it does not exist: read again on the next pass)."""
        key, now = (namespace, name, role_version), self._clock()
        last = self._last
        if role_version and last is not None and last[0] == key and now - last[2] < self.max_age:
            return last[1]
        found = await self._read(namespace, name)
        self._last = (key, found, now) if found else None
        return found or {}
