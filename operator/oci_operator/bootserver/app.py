"""The boot server's HTTP API.

GET  /boot.ipxe                      every iPXE client starts here (public)
GET  /v1/boot/{mac}.ipxe             the host's script: inspect, install, wipe, wait or local disk (public)
GET  /v1/images/{name}               installer kernel and initrd (public; sendfile, ranges)
GET  /v1/scripts/oci-report.sh       the installer's report helper (public)
GET  /v1/agent/oci-agent.py          the node agent (public; stdlib-only Python)
GET  /v1/ramdisk/{name}              the deploy ramdisk's kernel and initrd (public; --deploy-ramdisk)
GET  /v1/hosts/{mac}/preseed.cfg     the host's preseed (the iPXE token, once per job)
GET  /v1/hosts/{mac}/job             the deploy ramdisk's job, the preseed's counterpart (same token, same once)
POST /v1/hosts/{mac}/report          the node's milestones and hardware (the job token)
GET  /v1/hosts/{mac}/agent-credential  the agent's credential, once per installation (the job token)
GET  /v1/hosts/{mac}/desired-state   the agent's desired state (agent credential; ETag = its hash, 304)
POST /v1/hosts/{mac}/convergence     the agent's run report (agent credential)
GET  /healthz, /metrics

A token is the `password` of HTTP Basic auth (user: the MAC) or a Bearer token; it is never part
of a URL path or query, so access logs never hold one. Which token opens what: directory.py.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Literal, TypeVar

import prometheus_client
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from ..api.v1alpha1 import GROUP, VERSION, BareMetalHost
from ..api.v1alpha1.hardware import BootReport, BootStep, Convergence, HardwareDetails
from ..k8s import client as k8s
from ..metrics import BOOT_CALLBACKS, BOOT_REQUESTS
from ..render import RenderError, render
from . import scripts
from .config import RAMDISK_FILES, BootServerConfig
from .directory import JOB_MODES, Directory, Token, same_secret, uid_of
from .discovery import Discovery
from .guard import SentFile
from .macs import normalize

_log = logging.getLogger(__name__)
BODY_TIMEOUT = 30.0  # seconds to send a report (at most 256 KiB)
READ_THROUGH_EVERY = 10.0  # seconds between fresh reads of one host for its boot script
READ_THROUGH_REMEMBERED = 4096  # hosts remembered for that before the old entries are dropped
FIELD_NAME = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,63}|\(unknown field\)|[0-9]{1,6})$")
IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# Packaged files, read once: they are served on every boot, and reading them in a handler would block the loop.
REPORT_SCRIPT = resources.files("oci_operator.bootserver").joinpath("files/oci-report.sh").read_text()
AGENT = resources.files("oci_operator.agent").joinpath("oci_agent.py").read_text()
PLURAL = BareMetalHost.info.plural


class AgentReport(Convergence):
    """The node agent's run report; anything else is a 422."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class NodeReport(BaseModel):
    """What a node may say; anything else is a 422."""

    model_config = ConfigDict(extra="forbid")

    event: Literal["inspected", "installing", "installed", "wiped", "failed"]
    message: str = Field(default="", max_length=4096)
    hardware: HardwareDetails | None = None


# What a node may report in each kind of job (a stray 'installed' must not end an inspection).
EVENTS_OF_JOB = {
    "inspect": (BootStep.INSPECTED, BootStep.FAILED),
    "install": (BootStep.INSTALLING, BootStep.INSTALLED, BootStep.FAILED),
    "wipe": (BootStep.WIPED, BootStep.FAILED),
}

M = TypeVar("M", bound=BaseModel)
Door = Literal["preseed", "job", "agent"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        BOOT_REQUESTS.labels(route, str(exc.status)).inc()
        raise
    BOOT_REQUESTS.labels(route, str(response.status)).inc()
    return response


class BootServer:
    def __init__(
        self,
        config: BootServerConfig,
        directory: Directory,
        discovery: Discovery | None = None,
        dnsmasq_alive: Callable[[], bool] | None = None,
    ) -> None:
        self.config, self.directory, self.discovery = config, directory, discovery
        self.dnsmasq_alive = dnsmasq_alive or (lambda: True)
        self.images = config.images_dir.resolve()
        self._written: dict[str, tuple[str, str]] = {}  # host -> (bootId, step) last written
        self._pending: dict[str, asyncio.Task[None]] = {}  # host -> its milestone write still going out
        self._read_through: dict[str, float] = {}  # host UID -> when its boot script last read it fresh

    def app(self) -> web.Application:
        app = web.Application(middlewares=[count_requests], client_max_size=256 * 1024)
        app.add_routes(
            [
                web.get("/boot.ipxe", self.root_script),
                web.get("/v1/boot/{mac}.ipxe", self.host_script),
                web.get("/v1/images/{name}", self.image),
                web.get("/v1/ramdisk/{name}", self.ramdisk),
                web.get("/v1/hosts/{mac}/job", self.job),
                web.get("/v1/scripts/oci-report.sh", self.report_script),
                web.get("/v1/agent/oci-agent.py", self.agent),
                web.get("/v1/hosts/{mac}/agent-credential", self.agent_credential),
                web.get("/v1/hosts/{mac}/desired-state", self.desired_state),
                web.post("/v1/hosts/{mac}/convergence", self.convergence),
                web.get("/v1/hosts/{mac}/preseed.cfg", self.preseed),
                web.post("/v1/hosts/{mac}/report", self.report),
                web.get("/healthz", self.healthz),
                web.get("/metrics", self.metrics),
            ]
        )
        return app

    # Public ------------------------------------------------------------------------------------
    async def root_script(self, request: web.Request) -> web.Response:
        return _text(render("boot.ipxe.j2", base_url=self.config.base_url))

    async def host_script(self, request: web.Request) -> web.Response:
        mac = _mac(request)
        host = self.directory.by_mac(mac)
        if host is None and self.discovery is not None:
            self.discovery.seen(mac, "iPXE script request")
        claimants = self.directory.claimants(mac)
        if len(claimants) > 1:
            names = ", ".join(f"{h.namespace}/{h.name}" for h in claimants)
            _log.warning("boot MAC %s is claimed by %d hosts (%s): none of them is served", mac, len(claimants), names)
        token, mode = self._mode(host)
        if host is not None and mode in ("disk", "wait") and self._may_read_through(host):
            # The watches may lag the operator's last write, made before it powered this server on (the
            # job and its token): a server that boots at once was told "disk" and its inspection timed
            # out. Asked once per boot, so a fresh read here costs the API server little.
            await asyncio.to_thread(self.directory.read_through, host)
            host = self.directory.by_mac(mac)
            token, mode = self._mode(host)
        _log.info("boot script for %s (%s): %s", mac, host.name if host else "unknown", mode)
        if host is not None and mode in JOB_MODES.values():
            self._record_after_answer(host, BootStep.SCRIPT_SERVED, f"iPXE script to {mode} served")
        return _text(scripts.host_script(self.config, mac, host, token))

    def _mode(self, host: BareMetalHost | None) -> tuple[Token | None, str]:
        token = self.directory.job_token(host) if host else None
        if host is not None and self._finished(host):
            # Our cache may not show the final milestone we just wrote (the installer reboots at once):
            # "wait" until it does, then "disk"; never the installer again (its token is spent anyway).
            token = None
        return token, scripts.boot_mode(host, token)

    def _may_read_through(self, host: BareMetalHost) -> bool:
        """At most one fresh read per host per READ_THROUGH_EVERY seconds: iPXE asks again while it
        waits, and a looping server must not turn into a stream of API reads."""
        now = time.monotonic()
        key = uid_of(host)
        if now - self._read_through.get(key, -READ_THROUGH_EVERY) < READ_THROUGH_EVERY:
            return False
        self._read_through[key] = now
        if len(self._read_through) > READ_THROUGH_REMEMBERED:
            self._read_through = {k: t for k, t in self._read_through.items() if now - t < READ_THROUGH_EVERY}
        return True

    async def image(self, request: web.Request) -> SentFile:
        name = request.match_info["name"]
        if not IMAGE_NAME.match(name):
            raise web.HTTPBadRequest(text="bad image name\n")
        path = (self.images / name).resolve()
        if path.parent != self.images or not path.is_file():
            raise web.HTTPNotFound(text="no such image\n")
        return SentFile(path, chunk_size=1024 * 1024)

    async def ramdisk(self, request: web.Request) -> SentFile:
        name = request.match_info["name"]
        if self.config.ramdisk_dir is None or name not in RAMDISK_FILES:
            raise web.HTTPNotFound(text="no such file\n")
        return SentFile(self.config.ramdisk_dir / name, chunk_size=1024 * 1024)

    async def report_script(self, request: web.Request) -> web.Response:
        return _text(REPORT_SCRIPT, content_type="text/x-shellscript")

    async def agent(self, request: web.Request) -> web.Response:
        return _text(AGENT, content_type="text/x-python")

    async def healthz(self, request: web.Request) -> web.Response:
        if not self.dnsmasq_alive():
            return _text("dnsmasq is not running\n", status=503)
        synced = self.directory.synced()
        return _text("ok\n" if synced else "waiting for the API server\n", status=200 if synced else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=prometheus_client.generate_latest(), content_type="text/plain")

    # Token-protected ---------------------------------------------------------------------------
    def _authorized(self, request: web.Request, door: Door) -> BareMetalHost:
        """The host, when the presented token opens this door of it now; else 401 or 403."""
        mac = _mac(request)
        presented = _presented_token(request)
        if presented is None:
            raise web.HTTPUnauthorized(
                text="token required\n", headers={"WWW-Authenticate": 'Basic realm="oci-operator"'}
            )
        host = self.directory.by_mac(mac)
        opens = {
            "preseed": self.directory.opens_preseed,
            "job": self.directory.opens_job,
            "agent": self.directory.opens_agent,
        }[door]
        if host is None or not opens(host, presented):
            _log.warning("rejected a token for %s (%s)", mac, door)
            raise web.HTTPForbidden(text="token not valid for this host\n")
        return host

    async def preseed(self, request: web.Request) -> web.Response:
        return await self._job_document(request, "preseed", scripts.preseed)

    async def job(self, request: web.Request) -> web.Response:
        return await self._job_document(request, "deploy ramdisk job", scripts.job)

    async def _job_document(
        self, request: web.Request, what: str, make: Callable[[BootServerConfig, BareMetalHost, Token, str], str]
    ) -> web.Response:
        """The preseed or the ramdisk's job: either spends the iPXE token and carries the job token."""
        host = self._authorized(request, "preseed")
        token = self.directory.job_token(host)
        mode = scripts.boot_mode(host, token)
        if token is None or mode not in JOB_MODES.values():
            raise web.HTTPConflict(text="this host has no network boot job in progress\n")
        try:
            body = make(self.config, host, token, mode)
        except RenderError as exc:
            _log.error("%s for %s: %s", what, host.name, exc)
            raise web.HTTPInternalServerError(text=f"{what} could not be rendered: {exc}\n") from None
        # Spent before anything awaits: the token anyone could read in the iPXE script opens no second preseed.
        self.directory.preseed_served(host, token)
        self._record_after_answer(host, BootStep.PRESEED_SERVED, f"{what} to {mode} served")
        return _text(body)

    async def agent_credential(self, request: web.Request) -> web.Response:
        """The installer's late_command takes the agent's own credential, once (the job token opens it)."""
        host = self._authorized(request, "job")
        found = self.directory.certificate()
        if found is None or not self.config.agent_port:
            raise web.HTTPServiceUnavailable(text="the boot server has no certificate for agents yet\n")
        credential = self.directory.hand_over_agent_credential(host)
        if credential is None:
            raise web.HTTPConflict(text="no agent credential to hand over for this host's job\n")
        _log.info("agent credential handed over to %s", host.name)
        # With it, the certificate the agent pins and where to reach it: from now on it talks HTTPS only.
        body = {"token": credential, "server": self.config.agent_server, "serverCertificate": found[0]}
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    async def report(self, request: web.Request) -> web.Response:
        try:
            host = self._authorized(request, "job")
        except web.HTTPForbidden:
            # The token of a job that has ended (the operator moved on): a late node, or the real one
            # after a forged final report. Leave a trace on the host rather than a bare 403.
            late = self.directory.by_mac(_mac(request))
            presented = _presented_token(request) or ""
            if late is None or not await self._record_refusal(late, "report", request.remote or "", presented):
                raise
            raise web.HTTPConflict(text="this host's boot job has already ended\n") from None
        report = await _parse(NodeReport, request)
        step = BootStep(report.event)
        if step is BootStep.INSPECTED and report.hardware is None:
            raise web.HTTPUnprocessableEntity(text="an inspected report needs hardware\n")
        token = self.directory.job_token(host)
        mode = scripts.boot_mode(host, token)
        if token is None or step not in EVENTS_OF_JOB.get(mode, ()):
            await self._record_refusal(host, report.event, request.remote or "", _presented_token(request) or "")
            raise web.HTTPConflict(text=f"{report.event!r} does not fit this host's boot job ({mode})\n")
        BOOT_CALLBACKS.labels(report.event).inc()
        _log.info("report from %s: %s %s", host.name, report.event, report.message[:200])
        await self._record(host, step, report.message, report.hardware, source=request.remote or "")
        return _text("recorded\n")

    async def _provisioned(self, request: web.Request) -> tuple[BareMetalHost, dict[str, str]]:
        """The agent's endpoints: only the agent credential of a provisioned host opens them (a boot job's
        tokens get a 403). Rotation: an agent that shows its current credential over HTTPS is handed the
        successor in a header; the first use of the successor retires the old one. Returns the host
        and the headers to add."""
        host = self._authorized(request, "agent")
        successor = self.directory.successor(host)
        if not successor:
            return host, {}
        if same_secret(successor, _presented_token(request) or ""):
            await asyncio.to_thread(k8s.promote_agent_credential, self.config.system_namespace, uid_of(host), successor)
            _log.info("agent of %s switched to its new credential; the old one is retired", host.name)
            return host, {}
        return host, ({"X-OCI-Agent-Credential": successor} if request.secure else {})

    async def desired_state(self, request: web.Request) -> web.Response:
        host, headers = await self._provisioned(request)
        found = self.directory.desired_state(host)
        if found is None:
            raise web.HTTPNotFound(text="no desired state rendered for this host yet\n", headers=headers)
        digest, document = found
        etag = f'"{digest}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag, **headers})
        return web.Response(body=document, content_type="application/json", headers={"ETag": etag, **headers})

    async def convergence(self, request: web.Request) -> web.Response:
        host, headers = await self._provisioned(request)
        report = await _parse(AgentReport, request)
        BOOT_CALLBACKS.labels("convergence").inc()
        _log.info(
            "convergence of %s: %s changed=%d drifted=%d failed=%d in %.1fs",
            host.name, report.applied_hash[:12], report.changed, report.drifted, report.failed,
            report.duration_seconds,
        )  # fmt: skip
        patch = {"convergence": Convergence.model_validate(report.model_dump()).wire()}
        await asyncio.to_thread(k8s.patch_status, GROUP, VERSION, PLURAL, host.namespace, host.name, patch)
        return web.Response(text="recorded\n", content_type="text/plain", headers=headers)

    # Status writes -----------------------------------------------------------------------------
    async def _record_refusal(self, host: BareMetalHost, event: str, source: str, presented: str) -> bool:
        """A report, with the job's own token, after the job's final report: a forged first report
        would otherwise lock the real node out silently. The refusal stays on the host, next to the
        report that ended the job (and who sent it). True when it was such a report."""
        current, token = host.status.boot_report, self.directory.token(host)
        if current is None or token is None or token.boot_id != current.boot_id:
            return False  # not the token of a job that a final report ended
        if current.step not in scripts.FINAL_STEPS or not token.job or not same_secret(token.job, presented):
            return False
        at = datetime.now(UTC).replace(microsecond=0).isoformat()
        first = f"{current.step.value!r} from {current.source or 'unknown'}"
        detail = f"{event!r} from {source or 'unknown'} at {at} refused: {first} had ended the job"
        _log.warning("refused a report for %s: %s", host.name, detail)
        patch = {"bootReport": {"refused": current.refused + 1, "lastRefused": detail[:512]}}
        await asyncio.to_thread(k8s.patch_status, GROUP, VERSION, PLURAL, host.namespace, host.name, patch)
        return True

    def _finished(self, host: BareMetalHost) -> bool:
        """This process wrote the current job's final milestone (its cache may lag behind that write)."""
        prov = host.status.provisioning
        last = self._written.get(f"{host.namespace}/{host.name}")
        if prov is None or last is None or last[0] != prov.boot_id:
            return False
        return BootStep(last[1]) in scripts.FINAL_STEPS

    def _record_after_answer(self, host: BareMetalHost, step: BootStep, message: str) -> None:
        """A milestone the node does not wait for (its script, its preseed) is written after the answer:
        in a boot storm the API writes queue up, and an installer whose preseed came too late does not
        come back (hack/bench/fleet --inspect: preseeds answered after 98 s). One host's writes stay in
        order, so a late milestone never overwrites the report that follows it."""
        key = f"{host.namespace}/{host.name}"
        previous = self._pending.get(key)

        async def write() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            try:
                await self._write(host, step, message)
            except Exception as exc:  # the API server away: the node's later reports carry the step on
                _log.warning("recording %s for %s failed: %s", step.value, host.name, exc)

        task = asyncio.create_task(write())
        self._pending[key] = task
        task.add_done_callback(lambda done: self._pending.pop(key) if self._pending.get(key) is done else None)

    async def _record(
        self,
        host: BareMetalHost,
        step: BootStep,
        message: str,
        hardware: HardwareDetails | None = None,
        source: str = "",
    ) -> None:
        """Write a report before answering it, after this host's milestones still going out."""
        pending = self._pending.get(f"{host.namespace}/{host.name}")
        if pending is not None:
            await asyncio.wait([pending])
        await self._write(host, step, message, hardware, source)

    async def _write(
        self,
        host: BareMetalHost,
        step: BootStep,
        message: str,
        hardware: HardwareDetails | None = None,
        source: str = "",
    ) -> None:
        """Write the milestone once per job (iPXE may fetch a script several times)."""
        prov = host.status.provisioning
        if prov is None or not prov.boot_id:
            return
        key = f"{host.namespace}/{host.name}"
        current = self.directory.report(host)
        if (current is not None and current.step in scripts.FINAL_STEPS) or self._finished(host):
            return  # the job is over; late or repeated messages change nothing
        if self._written.get(key) == (prov.boot_id, step.value) and hardware is None:
            return
        report = BootReport(
            boot_id=prov.boot_id, step=step, time=datetime.now(UTC), message=message[:4096], source=source[:64]
        )
        patch: dict[str, Any] = {"bootReport": report.wire()}
        if hardware is not None:
            patch["hardware"] = hardware.wire()
        await asyncio.to_thread(k8s.patch_status, GROUP, VERSION, PLURAL, host.namespace, host.name, patch)
        self._written[key] = (prov.boot_id, step.value)


async def _parse(model: type[M], request: web.Request) -> M:
    """The request body as `model`, or a 422 that says what is wrong."""
    try:
        async with asyncio.timeout(BODY_TIMEOUT):  # the header timeout ends where the body starts
            body = await request.read()
    except TimeoutError:
        raise web.HTTPRequestTimeout(text="the request body took too long\n") from None
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise web.HTTPUnprocessableEntity(text=_problems(exc)) from None


def _problems(exc: ValidationError) -> str:
    """Where and what is wrong, never the input itself: a 422 must not echo what was sent."""
    lines = [f"invalid report: {exc.error_count()} error(s)"]
    for error in exc.errors(include_input=False, include_url=False, include_context=False)[:20]:
        loc = list(error["loc"])
        if error["type"] == "extra_forbidden" and loc:
            loc[-1] = "(unknown field)"  # its name is input too
        where = ".".join(str(part) if FIELD_NAME.match(str(part)) else "(unknown field)" for part in loc)
        lines.append(f"{where or 'body'}: {error['msg']}"[:300])
    return "\n".join(lines) + "\n"


def _mac(request: web.Request) -> str:
    mac = normalize(request.match_info["mac"])
    if mac is None:
        raise web.HTTPBadRequest(text="not a MAC address\n")
    return mac


def _presented_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic":
        try:
            _, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password or None
    return None


def _text(body: str, status: int = 200, content_type: str = "text/plain") -> web.Response:
    return web.Response(text=body, status=status, content_type=content_type)
