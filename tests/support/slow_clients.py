"""Clients that never finish their headers, and what the server did with them (the slowloris guard)."""

from __future__ import annotations

import socket
import ssl


def closed_by_server(sock: socket.socket) -> bytes | None:
    """What the server said before closing (b"" for nothing), or None while it is still open.
    Plain or TLS sockets alike."""
    sock.setblocking(False)
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except (BlockingIOError, ssl.SSLWantReadError):
        return None
    except (ConnectionResetError, ssl.SSLError):  # closed with our unread headers in its buffer: a reset
        return data or b"reset"
    return data
