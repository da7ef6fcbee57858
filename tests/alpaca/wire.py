"""A scripted HTTP server on 127.0.0.1 for answers the emulator does not give on purpose.

Each request pops the next scripted answer (status, JSON body, headers, delay); every
request is recorded (method, path, headers, body) so tests can count what reached the wire.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ORDER = {
    "id": "61e69015-8549-4bfd-b9c3-01e75843f47d", "client_order_id": "cid-1",
    "created_at": "2024-01-02T15:00:00.123456Z", "updated_at": "2024-01-02T15:00:00.123456Z",
    "submitted_at": "2024-01-02T15:00:00.123456Z", "filled_at": None, "expired_at": None,
    "canceled_at": None, "failed_at": None, "replaced_at": None, "replaced_by": None,
    "replaces": None, "asset_id": "904837e3-3b76-47ec-b432-046db621571b", "symbol": "AAPL",
    "asset_class": "us_equity", "notional": None, "qty": "1", "filled_qty": "0",
    "filled_avg_price": None, "order_class": "", "order_type": "limit", "type": "limit",
    "side": "buy", "time_in_force": "day", "limit_price": "100", "stop_price": None,
    "status": "accepted", "extended_hours": False, "legs": None, "trail_percent": None,
    "trail_price": None, "hwm": None, "position_intent": "buy_to_open",
}
"""The minimal valid order of the reference notes (alpaca-py 0.44 parses it)."""


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedServer:
    """``with ScriptedServer([Answer(...), ...]) as server: server.url``."""

    def __init__(self, answers: list[Answer] | None = None) -> None:
        self.answers: deque[Answer] = deque(answers or [])
        self.seen: list[Seen] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                owner.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                answer = owner.answers.popleft() if owner.answers else Answer(
                    500, {"code": 50010000, "message": "no scripted answer"})
                if answer.delay:
                    time.sleep(answer.delay)
                payload = answer.raw if answer.raw is not None else (
                    b"" if answer.body is None else json.dumps(answer.body).encode())
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in answer.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
