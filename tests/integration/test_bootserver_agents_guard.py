"""The agents' HTTPS port has the HTTP port's slowloris guard: a header timeout (the TLS handshake
included) and a connection cap of its own, so a flood there does not reach the PXE port, nor the
reverse. Before, it was a plain TCPSite: half-open TLS clients held descriptors for as long as they liked."""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

from support.bootserver import boot_server
from support.hosts import boot_server_certificate
from support.kube import Kube
from support.operator_process import OperatorProcess, http_get
from support.slow_clients import closed_by_server
from support.waiting import wait_for

CAP = 10


def tls_context(kube: Kube) -> ssl.SSLContext:
    """Trusting only the boot server's certificate, as an installed agent does."""
    context = ssl.create_default_context(cadata=boot_server_certificate(kube))
    context.check_hostname = False
    return context


def slow_tls_client(context: ssl.SSLContext, host: str, port: int) -> ssl.SSLSocket | None:
    """A client that completes the handshake, starts a request and never finishes its headers; None when
    the server closed it at once (refused beyond the cap)."""
    sock = context.wrap_socket(socket.create_connection((host, port), timeout=30))
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    except OSError:
        sock.close()
        return None
    return sock


def agents_port_answers(context: ssl.SSLContext, host: str, port: int) -> bool:
    try:
        with context.wrap_socket(socket.create_connection((host, port), timeout=5)) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return sock.recv(4096).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def test_slow_tls_clients_are_cut_off_the_excess_refused_and_http_still_answers(
    kube: Kube, operator: OperatorProcess, tmp_path: Path
) -> None:
    args = ("--no-dhcp", "--header-timeout", "3", "--max-connections", str(CAP))
    with boot_server(kube.kubeconfig, tmp_path, *args) as server:
        host, port = server.agent_address.split(":")
        wait_for(lambda: boot_server_certificate(kube), 60, "the operator's boot server certificate")
        context = tls_context(kube)
        wait_for(lambda: agents_port_answers(context, host, int(port)), 60, "the agents' HTTPS port")
        made = [slow_tls_client(context, host, int(port)) for _ in range(3 * CAP)]
        clients = [c for c in made if c is not None]
        closed: dict[int, bytes] = {}

        def refusals() -> bool:
            closed.update(
                {i: d for i, c in enumerate(clients) if i not in closed and (d := closed_by_server(c)) is not None}
            )
            return len(closed) + len(made) - len(clients) >= 2 * CAP

        wait_for(refusals, 30, "the TLS connections beyond the cap refused")
        assert all(d.startswith(b"HTTP/1.1 503") or d in (b"", b"reset") for d in closed.values()), closed
        # The PXE port has a cap of its own: it still answers while the agents' port is full.
        assert http_get(f"{server.url}/healthz") == "ok\n"
        started = time.monotonic()
        wait_for(
            lambda: all(i in closed or closed_by_server(c) is not None for i, c in enumerate(clients)),
            60,
            "every slow TLS client cut off",
        )
        assert time.monotonic() - started < 45
        wait_for(lambda: agents_port_answers(context, host, int(port)), 30, "the agents' port answering again")
        for c in clients:
            c.close()
