"""pyghmi's BMC server, made to behave like a real BMC towards pyghmi's and ipmitool's clients.

What it changes (see ../shared/docs/ipmi-notes.md):
- pyghmi's server always answers cipher suite 3, even to a SHA-256 proposal, and pyghmi's client then
  fails in RAKP2; we refuse non-SHA1 proposals (RMCP+ status 0x11) so clients fall back to suite 3.
- An unknown user name got no answer (clients retried for ~15 s); we answer 0x0d "unauthorized name".
- A retransmitted request (same session, sequence number and bytes) gets the cached reply instead of
  running the command again, as real BMCs do; otherwise a slow answer would double a power command.
- A packet queued to a session whose client record vanished meanwhile is handed to the BMC as
  sessionless data (pyghmi calls a method sessions do not have, killing its serving loop).
- A new login from a client port ends only this BMC's session with that port, not every BMC's.
- An idle session ends after the `session_timeout` fault, as real BMCs end theirs.
"""

from __future__ import annotations

import time
from typing import Any

import pyghmi.ipmi.private.constants as constants
import pyghmi.ipmi.private.serversession as serversession

RMCP_NO_CIPHER_SUITE_MATCH = 0x11
RMCP_UNAUTHORIZED_NAME = 0x0D
AUTH_RAKP_HMAC_SHA1 = 1


class SimServerSession(serversession.ServerSession):  # type: ignore[misc]
    _last_request: tuple[Any, ...] | None = None
    _last_reply: tuple[list[int], int] | None = None
    _seen = 0.0  # monotonic time of the last packet of this session
    _ended = False  # idle past the BMC's session timeout: its requests get no answer

    def _handle_ipmi2_packet(self, data: Any) -> Any:
        timeout = self.bmc.faults.session_timeout
        now = time.monotonic()
        if timeout and self._seen and now - self._seen > timeout:
            self._ended = True
        if self._ended:
            return None  # like a real BMC: a packet for a session it ended is dropped
        self._seen = now
        return super()._handle_ipmi2_packet(data)

    def create_open_session_response(self, request: bytearray) -> bytearray:
        auth_algorithm = request[12] & 0b111111 if len(request) > 12 else AUTH_RAKP_HMAC_SHA1
        if auth_algorithm != AUTH_RAKP_HMAC_SHA1:
            clienttag = request[0]
            self.clientsessionid = request[4:8]
            return bytearray([clienttag, RMCP_NO_CIPHER_SUITE_MATCH, 0, 0]) + self.clientsessionid
        response: bytearray = super().create_open_session_response(request)
        return response

    def _got_rakp1(self, data: Any) -> None:
        name = bytes(data[28:]).decode("utf-8", "replace") if len(data) > 28 else ""
        if data[27] and self.authdata.get(name) is None:
            clienttag = data[0]
            self.send_payload(
                bytearray([clienttag, RMCP_UNAUTHORIZED_NAME, 0, 0]) + self.clientsessionid,
                constants.payload_types["rakp2"],
                retry=False,
            )
            return
        super()._got_rakp1(data)

    def handle_client_request(self, request: dict[str, Any]) -> None:
        key = (self.seqlun, request["netfn"], request["command"], bytes(request.get("data", b"")))
        if key == self._last_request and self._last_reply is not None:
            data, code = self._last_reply
            super().send_ipmi_response(data=data, code=code)
            return
        self._last_request, self._last_reply = key, None
        super().handle_client_request(request)

    def _handle_ipmi_packet(self, data: Any, sockaddr: Any = None, qent: Any = None) -> Any:
        """A sessionless IPMI 1.5 request (sequence and session id 0: a client starting a new login from
        a UDP port that has a session here) is handed to the BMC. pyghmi then drops the client's entry
        from the session table with `del bmc_handlers[client]`: every BMC's session with that client,
        not only this one's. A real BMC only knows its own sessions; in a simulated fleet, which shares
        one table, a login to any BMC silently killed the live sessions of all BMCs the client reached
        from that port (pyghmi's client shares one UDP port among up to 64 BMCs): commands acknowledged
        by nobody, re-logins that killed more sessions, and under reply loss a stalled fleet."""
        if (
            qent is not None
            and len(data) > 13
            and data[4] in (0, 2)
            and not any(data[5:13])
            and qent[2] in serversession.ipmisession.Session.bmc_handlers
        ):
            table = serversession.ipmisession.Session.bmc_handlers
            mine = table.get(sockaddr, {})
            if mine.get(self.bmc.port) is self:
                del mine[self.bmc.port]
            if not mine:
                table.pop(sockaddr, None)
            server = table[qent[2]][0]
            server.pktqueue.append(qent)
            server.process_pktqueue()
            return None
        return super()._handle_ipmi_packet(data, sockaddr, qent)

    def sessionless_data(self, data: Any, sockaddr: Any) -> None:
        self.bmc.sessionless_data(data, sockaddr)

    def send_ipmi_response(self, data: list[int] | None = None, code: int = 0) -> None:
        self._last_reply = (list(data or []), code)
        super().send_ipmi_response(data=list(data or []), code=code)


def install() -> None:
    """pyghmi's server builds sessions by this module-level name."""
    serversession.ServerSession = SimServerSession
