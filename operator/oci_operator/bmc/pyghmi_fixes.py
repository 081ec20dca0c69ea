"""Workarounds for pyghmi's IO layer, applied once per process (driver and simulator alike).

Each one was found as a stall or deadlock under load here; ../shared/docs/ipmi-notes.md and the
benchmark (hack/bench/ipmi-sweep) show them.
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import Iterator, Sequence
from typing import Any

import pyghmi.exceptions as pyghmi_exceptions
import pyghmi.ipmi.private.constants as pyghmi_constants
import pyghmi.ipmi.private.session as pyghmi_session

_applied = False
NO_ANSWER = "no answer after retries"  # why a login or command we end fails (ipmi.py: unreachable)


def send_without_blocking_toggle(sock: Any, packet: bytes, sockaddr: Any) -> None:
    """pyghmi's _io_sendto sets the shared UDP socket to blocking before sending, from the caller's
    thread, while its IO thread sets it non-blocking before recvfrom. A send in between leaves the IO
    thread blocked in recvfrom on an empty socket and every other socket unserved (seen as a whole
    simulated fleet, or every BMC sharing the client's IO thread, going silent). UDP sendto needs no
    blocking mode; pyghmi ignores send errors too."""
    with contextlib.suppress(OSError):
        getattr(sock, "fd", sock).sendto(packet, sockaddr)


_io_wait_cap = [0.01]  # seconds; a process that only serves (the simulator) sets a longer one


def set_io_wait_cap(seconds: float) -> None:
    """How often a waiting thread wakes to look again. A client waiting for its reply wants 10 ms; the
    simulator's serving loop (one thread, 1,000 BMCs per process) woke 100 times a second at rest, a
    tenth of a core per process, to bound a race whose only cost there is a late answer."""
    _io_wait_cap[0] = seconds


def _cap_io_wait() -> None:
    """pyghmi registers its wait for a reply only after sending; a reply landing in between is seen only
    when a timer fires (0.5-1.7 s stalls on 5-20 % of calls). Waking waiters every 10 ms bounds that;
    pyghmi's loops re-check their queues after each wake."""
    original = pyghmi_session._io_wait

    def capped(timeout: float, myaddr: Any = None, evq: Any = None) -> None:
        original(min(timeout, _io_wait_cap[0]), myaddr, evq)

    pyghmi_session._io_wait = capped


class _ReadableSockets:
    """Which of pyghmi's sockets have a datagram waiting, from one poll object kept registered."""

    def __init__(self) -> None:
        self._poller = select.poll()
        self._by_fd: dict[int, Any] = {}

    def __call__(self, sockets: Sequence[Any]) -> list[Any]:
        if len(sockets) != len(self._by_fd):
            self._sync(sockets)  # pyghmi only ever adds sockets; a count that moved is a new one
        ready = self._poller.poll(0)
        if any(events & select.POLLNVAL for _, events in ready):
            self._sync(sockets)  # a socket closed under us: look again from scratch
            ready = self._poller.poll(0)
        return [self._by_fd[fd] for fd, events in ready if fd in self._by_fd and events & select.POLLIN]

    def _sync(self, sockets: Sequence[Any]) -> None:
        current = {s.fileno(): s for s in sockets}
        for fd in self._by_fd.keys() - current.keys():
            self._poller.unregister(fd)
        for fd in current.keys() - self._by_fd.keys():
            self._poller.register(fd, select.POLLIN)
        self._by_fd = current


def _read_only_readable_sockets() -> None:
    """After every wake-up, pyghmi's IO thread tries a non-blocking recvfrom on every socket it owns; a
    waiter wakes it at least every 10 ms (_cap_io_wait). A simulator process serves 1,000 BMCs from
    1,000 sockets: that was some 100,000 failing system calls a second at rest, a tenth of a core per
    process, and the same again per packet under load. Only sockets the kernel says are readable are
    read now; one still filling is read at the next wake-up, as before."""
    original = pyghmi_session._io_graball
    readable = _ReadableSockets()

    def graball(sockets: Sequence[Any], iowaiters: Any) -> Any:
        return original(readable(sockets), iowaiters)

    pyghmi_session._io_graball = graball


def _single_session_table_lock() -> None:
    """pyghmi guards its session tables with two RLocks taken in opposite orders: wait_for_rsp holds
    WAITING_SESSIONS while a timed-out login re-sends (send_payload takes KEEPALIVE_SESSIONS), and
    send_payload holds KEEPALIVE_SESSIONS while _xmit_packet takes WAITING_SESSIONS. Concurrent logins
    with a timeout deadlocked every IPMI thread. One reentrant lock for both removes the cycle."""
    pyghmi_session.KEEPALIVE_SESSIONS = pyghmi_session.WAITING_SESSIONS


def _fail_login(session: Any, why: str) -> None:
    """End a login that cannot finish. Not logged in yet, so no "Close Session" is sent: pyghmi would send
    it as another blocking command that waits for the stuck one while holding the session table lock."""
    session.logged = 0
    session._mark_broken(why)


def _no_relogin_inside_a_command() -> None:
    """pyghmi heals a command whose retries ran out by logging in again (_relog) from inside that command's
    wait. The new login's RAKP4 is handled nested in the same thread, whose "Set Session Privilege Level"
    (a blocking raw_command) then waits for the outer command's slot until it expires (~15-30 s); the
    same happens when the privilege request of a login times out. Under 20 % reply loss these nests grew
    until every worker thread was stuck for minutes and the fleet stalled. Now a command (or login) that
    runs out of retries fails: the caller gets "no answer", the driver opens a fresh session for its next
    call outside of any command, and the governor's backoff applies."""
    original_req_priv = pyghmi_session.Session._req_priv_level
    original_relog = pyghmi_session.Session._relog

    def req_priv_level(self: Any) -> Any:
        self._oci_in_login = True
        try:
            return original_req_priv(self)
        except pyghmi_exceptions.IpmiException as exc:
            # Raised here, it would surface in whichever unrelated call's thread handled the RAKP4.
            _fail_login(self, str(exc) or "timeout while requesting the privilege level")
            return None
        finally:
            self._oci_in_login = False

    def relog(self: Any) -> Any:
        if getattr(self, "_oci_in_login", False) or self.incommand:
            # Fail the waiting command (as pyghmi does when it has no relogin left); the driver opens a
            # fresh session for the next call, outside of any command.
            with contextlib.suppress(Exception):
                # netfn and command: pyghmi's wait loop matches the response by them (KeyError without).
                timeout = {"error": "timeout", "code": 0xFFFF, "netfn": self.expectednetfn, "command": self.expectedcmd}
                self.ipmicallback(timeout)
            _fail_login(self, NO_ANSWER)
            return None
        return original_relog(self)

    pyghmi_session.Session._req_priv_level = req_priv_level
    pyghmi_session.Session._relog = relog
    # pyghmi's logout() can mark a session broken without an error message; its constructor then raises
    # IpmiException(self.errormsg) and crashed with AttributeError ('Session' object has no attribute
    # 'errormsg') instead. A class default makes that an ordinary "no answer".
    pyghmi_session.Session.errormsg = None


_IPMI_PAYLOAD = pyghmi_constants.payload_types["ipmi"]


def _record_requests() -> None:
    """Note on a session, while someone watches it (requests_sent), each IPMI request that went on the wire
    as (netfn, command). pyghmi raises the same "Session no longer connected" whether the login failed,
    the session broke before sending, or the request left and no reply came; and a request made while
    another is outstanding (a keepalive) waits in pendingpayloads, sent later or never. Only the wire
    tells whether the BMC may have done it."""
    original = pyghmi_session.Session.send_payload

    def send_payload(self: Any, payload: Any = (), payload_type: Any = None, *args: Any, **kwargs: Any) -> Any:
        queued = bool(payload) and bool(self.lastpayload)  # pyghmi's own test for "pending, not sent"
        result = original(self, payload, payload_type, *args, **kwargs)
        sent = getattr(self, "oci_requests_sent", None)
        if sent is not None and not queued and payload_type == _IPMI_PAYLOAD and payload and len(payload) > 5:
            sent.append((payload[1] >> 2, payload[5]))  # header: rsaddr, netfn<<2|lun, sum, rqaddr, seq, cmd
        return result

    pyghmi_session.Session.send_payload = send_payload


@contextlib.contextmanager
def requests_sent(session: Any) -> Iterator[list[tuple[int, int]]]:
    """The (netfn, command) pairs of the requests `session` put on the wire while the block ran."""
    sent: list[tuple[int, int]] = []
    session.oci_requests_sent = sent
    try:
        yield sent
    finally:
        session.oci_requests_sent = None


def withdraw_pending(session: Any) -> None:
    """Drop requests still waiting behind another one: a command reported as not sent must never leave."""
    with contextlib.suppress(AttributeError):
        session.pendingpayloads.clear()


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    pyghmi_session._io_sendto = send_without_blocking_toggle
    _cap_io_wait()
    _read_only_readable_sockets()
    _single_session_table_lock()
    _no_relogin_inside_a_command()
    _record_requests()


__all__ = [
    "NO_ANSWER",
    "apply",
    "requests_sent",
    "send_without_blocking_toggle",
    "set_io_wait_cap",
    "withdraw_pending",
]
