"""sushy-tools' emulator with a Redfish SessionService in front (it has none of its own).

Run as `python -m support.redfish_sessions CONFIG`: the emulator's Flask app, wrapped in a WSGI layer
that creates sessions (POST /redfish/v1/SessionService/Sessions -> X-Auth-Token), deletes them, answers
401 to an unknown or expired token, and lets a valid token through as the emulator's basic auth. Tests
expire every session at once with POST /_test/expire-sessions and read counts at GET /_test/sessions.
"""

from __future__ import annotations

import base64
import json
import secrets
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

SESSIONS = "/redfish/v1/SessionService/Sessions"
StartResponse = Callable[..., Any]


class SessionFront:
    def __init__(self, app: Callable[..., Iterable[bytes]], username: str, password: str) -> None:
        self.app, self.username, self.password = app, username, password
        self.tokens: dict[str, str] = {}  # token -> session path
        self.counts = {"created": 0, "deleted": 0, "rejected": 0}
        self.lock = threading.Lock()

    @staticmethod
    def _reply(
        start: StartResponse, status: str, body: Any = None, headers: list[tuple[str, str]] | None = None
    ) -> list[bytes]:
        data = json.dumps(body).encode() if body is not None else b""
        start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *(headers or [])])
        return [data]

    def __call__(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", "").rstrip("/"), environ["REQUEST_METHOD"]
        with self.lock:
            if path == "/_test/sessions":
                return self._reply(start, "200 OK", {**self.counts, "live": len(self.tokens)})
            if path == "/_test/expire-sessions":
                self.tokens.clear()
                return self._reply(start, "204 No Content")
            if path == SESSIONS and method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
                if (body.get("UserName"), body.get("Password")) != (self.username, self.password):
                    self.counts["rejected"] += 1
                    return self._reply(start, "401 Unauthorized", {"error": {"message": "bad credentials"}})
                token, session = secrets.token_hex(16), f"{SESSIONS}/{len(self.tokens) + self.counts['created']}"
                self.tokens[token] = session
                self.counts["created"] += 1
                return self._reply(
                    start,
                    "201 Created",
                    {"@odata.id": session, "Id": session.rsplit("/", 1)[1]},
                    [("X-Auth-Token", token), ("Location", session)],
                )
            token = environ.get("HTTP_X_AUTH_TOKEN")
            if token is not None:
                session = self.tokens.get(token)
                if session is None:
                    return self._reply(start, "401 Unauthorized", {"error": {"message": "session expired"}})
                if method == "DELETE" and path == session:
                    del self.tokens[token]
                    self.counts["deleted"] += 1
                    return self._reply(start, "204 No Content")
                basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
                environ["HTTP_AUTHORIZATION"] = f"Basic {basic}"
        return self.app(environ, start)


def main() -> None:
    from sushy_tools.emulator import main as emulator

    from .redfish_emulator import PASSWORD, USERNAME

    app = emulator.app
    app.configure(config_file=sys.argv[1])
    app.wsgi_app = SessionFront(app.wsgi_app, USERNAME, PASSWORD)  # type: ignore[method-assign]
    app.run(host=app.config["SUSHY_EMULATOR_LISTEN_IP"], port=app.config["SUSHY_EMULATOR_LISTEN_PORT"])


if __name__ == "__main__":
    main()
