"""Issue 16 #7: half-open clients cannot exhaust the boot server (header-read timeout, connection cap).

Before the guard, about a thousand clients sending their headers slowly made it stop answering."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from support.bootserver import boot_server
from support.kube import Kube
from support.operator_process import http_get
from support.slow_clients import closed_by_server
from support.waiting import wait_for

CAP = 20


def slow_client(url_host: str, port: int) -> socket.socket:
    """A client that starts a request and never finishes its headers."""
    sock = socket.create_connection((url_host, port), timeout=30)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    return sock


def test_slow_clients_are_cut_off_and_the_excess_is_refused(kube: Kube, tmp_path: Path) -> None:
    args = ("--no-dhcp", "--header-timeout", "3", "--max-connections", str(CAP))
    with boot_server(kube.kubeconfig, tmp_path, *args) as server:
        host, port = server.url.removeprefix("http://").split(":")
        clients = [slow_client(host, int(port)) for _ in range(3 * CAP)]
        # Beyond the cap: a 503 and closed at once (the server keeps its descriptors).
        closed: dict[int, bytes] = {}

        def refusals() -> bool:
            closed.update(
                {i: d for i, c in enumerate(clients) if i not in closed and (d := closed_by_server(c)) is not None}
            )
            return len(closed) >= 2 * CAP

        wait_for(refusals, 30, "the connections beyond the cap refused")
        refused = list(closed.values())
        assert all(d.startswith(b"HTTP/1.1 503") or d == b"reset" for d in refused), refused
        # Within the cap: cut off once their headers took longer than the timeout.
        started = time.monotonic()
        wait_for(
            lambda: all(i in closed or closed_by_server(c) is not None for i, c in enumerate(clients)),
            60,
            "every slow client closed",
        )
        assert time.monotonic() - started < 45
        # And the server answers normal clients again.
        wait_for(lambda: http_get(f"{server.url}/healthz") == "ok\n", 30, "/healthz")
        for c in clients:
            c.close()
