"""pyghmi's BMC server, made to behave like a real BMC towards pyghmi's and ipmitool's clients.

Three changes (see ../shared/docs/ipmi-notes.md):
- pyghmi's server always answers cipher suite 3, even to a SHA-256 proposal, and pyghmi's client then
  fails in RAKP2; we refuse non-SHA1 proposals (RMCP+ status 0x11) so clients fall back to suite 3.
- An unknown user name got no answer (clients retried for ~15 s); we answer 0x0d "unauthorized name".
- A retransmitted request (same session, sequence number and bytes) gets the cached reply instead of
  running the command again, as real BMCs do; otherwise a slow answer would double a power command.
- A packet queued to a session whose client record vanished meanwhile is handed to the BMC as
  sessionless data (pyghmi calls a method sessions do not have, killing its serving loop).
"""

from __future__ import annotations

from typing import Any

import pyghmi.ipmi.private.constants as constants
import pyghmi.ipmi.private.serversession as serversession

RMCP_NO_CIPHER_SUITE_MATCH = 0x11
RMCP_UNAUTHORIZED_NAME = 0x0D
AUTH_RAKP_HMAC_SHA1 = 1


class SimServerSession(serversession.ServerSession):  # type: ignore[misc]
    _last_request: tuple[Any, ...] | None = None
    _last_reply: tuple[list[int], int] | None = None

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

    def sessionless_data(self, data: Any, sockaddr: Any) -> None:
        self.bmc.sessionless_data(data, sockaddr)

    def send_ipmi_response(self, data: list[int] | None = None, code: int = 0) -> None:
        self._last_reply = (list(data or []), code)
        super().send_ipmi_response(data=list(data or []), code=code)


def install() -> None:
    """pyghmi's server builds sessions by this module-level name."""
    serversession.ServerSession = SimServerSession
