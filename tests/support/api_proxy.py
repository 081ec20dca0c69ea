"""An HTTP front for the test API server that can answer 404 for one API group, the way a restarted
API server does until it has loaded its CRDs, and end the watches open through it (as the restart
did). The operator talks to it over plain HTTP on loopback; it forwards to the real API server with
the admin's client certificate, streaming (watches included)."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import yaml
from aiohttp import web

from .operator_process import free_port

NOT_FOUND = {
    "kind": "Status",
    "apiVersion": "v1",
    "status": "Failure",
    "message": "the server could not find the requested resource",
    "reason": "NotFound",
    "code": 404,
}
# Per hop, not end to end; the body is re-chunked here (and decompressed by the client session).
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "accept-encoding",
              "content-encoding", "upgrade"}  # fmt: skip


@dataclass
class ApiProxy:
    kubeconfig: str  # for the operator: this proxy, no credentials of its own
    hidden: set[str] = field(default_factory=set)
    requests_hidden: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _open: set[aiohttp.ClientResponse] = field(default_factory=set)

    def hide(self, group: str) -> None:
        """From now on `group` answers 404, and the watches open on it end (the client reconnects)."""
        self.hidden.add(group)
        assert self._loop is not None
        for response in list(self._open):
            if f"/apis/{group}/" in str(response.url):
                self._loop.call_soon_threadsafe(response.close)

    def show(self, group: str) -> None:
        self.hidden.discard(group)


def _upstream(kubeconfig: str) -> tuple[str, ssl.SSLContext]:
    config = yaml.safe_load(Path(kubeconfig).read_text())
    cluster = config["clusters"][0]["cluster"]
    user = config["users"][0]["user"]
    context = ssl.create_default_context(cafile=cluster["certificate-authority"])
    context.load_cert_chain(user["client-certificate"], user["client-key"])
    return cluster["server"], context


@contextmanager
def api_proxy(upstream_kubeconfig: str, workdir: Path) -> Iterator[ApiProxy]:
    server, tls = _upstream(upstream_kubeconfig)
    port = free_port()
    kubeconfig = workdir / "proxy.kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "proxy", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "anyone", "user": {}}],
                "contexts": [{"name": "proxy", "context": {"cluster": "proxy", "user": "anyone"}}],
                "current-context": "proxy",
            }
        )
    )
    proxy = ApiProxy(str(kubeconfig))
    ready = threading.Event()
    stopping: list[asyncio.Event] = []
    sessions: list[aiohttp.ClientSession] = []

    async def forward(request: web.Request) -> web.StreamResponse:
        if any(request.path.startswith(f"/apis/{group}") for group in proxy.hidden):
            proxy.requests_hidden += 1
            return web.json_response(NOT_FOUND, status=404)
        session = sessions[0]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await request.read()
        async with session.request(
            request.method, server + str(request.rel_url), data=body or None, headers=headers, ssl=tls
        ) as upstream:
            proxy._open.add(upstream)
            try:
                answer = web.StreamResponse(
                    status=upstream.status,
                    headers={k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP},
                )
                await answer.prepare(request)
                try:
                    async for chunk in upstream.content.iter_any():
                        await answer.write(chunk)
                except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError):
                    pass  # hide() closed it: the watch ends as the restarted server's did
                await answer.write_eof()
                return answer
            finally:
                proxy._open.discard(upstream)

    async def main() -> None:
        app = web.Application()
        sessions.append(aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)))
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        proxy._loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        stopping.append(stop)
        ready.set()
        await stop.wait()
        await sessions[0].close()
        await runner.cleanup()

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="api-proxy", daemon=True)
    thread.start()
    assert ready.wait(30), "the API proxy did not start"
    try:
        yield proxy
    finally:
        assert proxy._loop is not None
        proxy._loop.call_soon_threadsafe(stopping[0].set)
        thread.join(30)
