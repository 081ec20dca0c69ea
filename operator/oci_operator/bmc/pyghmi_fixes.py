"""Workarounds for pyghmi's IO layer, applied once per process (driver and simulator alike).

Each one was found as a stall or deadlock under load here; ../shared/docs/ipmi-notes.md and the
benchmark (hack/bench/ipmi-sweep) show them.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pyghmi.ipmi.private.session as pyghmi_session

_applied = False


def send_without_blocking_toggle(sock: Any, packet: bytes, sockaddr: Any) -> None:
    """pyghmi's _io_sendto sets the shared UDP socket to blocking before sending, from the caller's
    thread, while its IO thread sets it non-blocking before recvfrom. A send in between leaves the IO
    thread blocked in recvfrom on an empty socket and every other socket unserved (seen as a whole
    simulated fleet, or every BMC sharing the client's IO thread, going silent). UDP sendto needs no
    blocking mode; pyghmi ignores send errors too."""
    with contextlib.suppress(OSError):
        getattr(sock, "fd", sock).sendto(packet, sockaddr)


def _cap_io_wait(cap: float = 0.01) -> None:
    """pyghmi registers its wait for a reply only after sending; a reply landing in between is seen only
    when a timer fires (0.5-1.7 s stalls on 5-20 % of calls). Waking waiters every 10 ms bounds that;
    pyghmi's loops re-check their queues after each wake."""
    original = pyghmi_session._io_wait

    def capped(timeout: float, myaddr: Any = None, evq: Any = None) -> None:
        original(min(timeout, cap), myaddr, evq)

    pyghmi_session._io_wait = capped


def _single_session_table_lock() -> None:
    """pyghmi guards its session tables with two RLocks taken in opposite orders: wait_for_rsp holds
    WAITING_SESSIONS while a timed-out login re-sends (send_payload takes KEEPALIVE_SESSIONS), and
    send_payload holds KEEPALIVE_SESSIONS while _xmit_packet takes WAITING_SESSIONS. Concurrent logins
    with a timeout deadlocked every IPMI thread. One reentrant lock for both removes the cycle."""
    pyghmi_session.KEEPALIVE_SESSIONS = pyghmi_session.WAITING_SESSIONS


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    pyghmi_session._io_sendto = send_without_blocking_toggle
    _cap_io_wait()
    _single_session_table_lock()


__all__ = ["apply", "send_without_blocking_toggle"]
