"""Slowloris guard for the boot server's HTTP: a header-read timeout and a connection cap.

aiohttp has neither: a client that opens a connection and sends its headers a byte at a time holds
a file descriptor for as long as it likes, and about a thousand of them made the boot server stop
answering ("Too many open files"). Here a connection gets `header_timeout` seconds to finish each
request's headers (from when it opened, or from its previous response), and connections beyond
`max_connections` get a 503 and are closed at once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.web_protocol import RequestHandler

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BUSY_RESPONSE = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class _Refuse(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(BUSY_RESPONSE)
        transport.close()


class Guard:
    def __init__(self, header_timeout: float, max_connections: int) -> None:
        self.header_timeout, self.max_connections = header_timeout, max_connections
        self._idle_since: dict[RequestHandler, float | None] = {}  # None: a request is being handled
        self._server: web.Server | None = None
        self._fresh: list[tuple[float, RequestHandler]] = []
        # The connections this guard accepted, with when: sites of one runner share its web.Server, and
        # each guard caps and sweeps only its own port's (a flood on one port must not starve the other).
        self._made: dict[RequestHandler, float] = {}

    def _connections(self, server: web.Server) -> set[RequestHandler]:
        return {h for h in server.connections if h in self._made}

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        protocol = request.protocol
        if protocol not in self._made:
            return await handler(request)  # another guard's connection
        self._idle_since[protocol] = None  # its headers are in
        response: web.StreamResponse | None = None
        try:
            response = await handler(request)
            return response
        finally:
            if isinstance(response, SentFile) and not response.prepared:
                # Its body goes out after this returns: the connection is busy until then, however long a
                # slow client takes over a large image (it used to be cut off after the header timeout).
                response.then(lambda: self._idle(protocol))
            else:
                self._idle(protocol)

    def _idle(self, protocol: RequestHandler) -> None:
        self._idle_since[protocol] = time.monotonic()

    def factory(self, server: web.Server) -> Callable[[], asyncio.Protocol]:
        self._server = server

        def make() -> asyncio.Protocol:
            # Handlers made in the same accept burst are not connections yet: count them too.
            now = time.monotonic()
            connected = self._connections(server)
            self._fresh = [(t, h) for t, h in self._fresh if now - t < 1.0 and h not in connected]
            if len(connected) + len(self._fresh) >= self.max_connections:
                return _Refuse()
            handler = server()
            self._made[handler] = now
            self._fresh.append((now, handler))
            return handler

        return make

    def sweep(self, now: float) -> int:
        """Close connections that took too long over their headers; how many were closed."""
        if self._server is None:
            return 0
        connections = self._connections(self._server)
        for gone in [h for h in self._idle_since if h not in connections]:
            del self._idle_since[gone]
        # Closed, or never connected within a TLS handshake's time (the header timeout): forgotten.
        for gone in [h for h, t in self._made.items() if h not in connections and now - t > self.header_timeout + 1]:
            del self._made[gone]
        closed = 0
        for handler in connections:
            since = self._idle_since.setdefault(handler, now)
            if since is not None and now - since > self.header_timeout:
                handler.force_close()
                del self._idle_since[handler]
                closed += 1
        return closed

    async def run(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.header_timeout / 4))
            self.sweep(time.monotonic())


class SentFile(web.FileResponse):
    """A FileResponse (sendfile, ranges, HEAD, If-Modified-Since) that calls back once its body has gone
    out or failed: aiohttp sends it after the handler and its middlewares have returned."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sent: list[Callable[[], None]] = []

    def then(self, callback: Callable[[], None]) -> None:
        self._sent.append(callback)

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        try:
            return await super().prepare(request)
        finally:
            for callback in self._sent:
                callback()


class GuardedSite(web.TCPSite):
    """A TCPSite (plain or TLS) whose connections go through `guard` (and whose sweeper runs while it is up).
    Each site of a runner has its own guard: it caps and sweeps the connections of its own port."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: Guard, **kwargs: Any) -> None:
        super().__init__(runner, host, port, **kwargs)
        self.guard = guard
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        # TLS (the agents' port): a handshake gets the header timeout too, as it comes before any header.
        handshake = self.guard.header_timeout if self._ssl_context is not None else None
        self._server = await loop.create_server(
            self.guard.factory(server),
            self._host,
            self._port,
            backlog=self._backlog,
            ssl=self._ssl_context,
            ssl_handshake_timeout=handshake,
        )
        self._sweeper = asyncio.create_task(self.guard.run())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await super().stop()
