"""A webhook receiver that verifies every request with the Standard Webhooks library: the demo's
and the bench's endpoint, and the tests' (which also script its answers).

``Receiver(secret)`` serves on 127.0.0.1 (a free port unless given) in a thread of its own. A
request whose signature, id or timestamp does not verify (``standardwebhooks.Webhook.verify``:
HMAC over ``{id}.{timestamp}.{body}`` with any of the space-separated signatures, timestamp within
5 minutes) is answered 400 and counted as rejected; a verified one is answered 204 (or what
``script`` says) and kept in ``received`` with its arrival time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    webhook_id: str
    timestamp: int
    event_type: str
    body: dict
    arrived: float  # time.time()
    signatures: str


@dataclass
class Answer:
    status: int = 204
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    """A real HTTP endpoint on 127.0.0.1 that verifies Standard Webhooks signatures."""

    def __init__(
        self, secrets: list[str] | str, port: int = 0, script: Callable[[Received], Answer] | None = None
    ):
        self.secrets = [secrets] if isinstance(secrets, str) else list(secrets)
        self.script = script
        self.received: list[Received] = []
        self.rejected: list[tuple[dict, str]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                item = receiver.verify(body, headers)
                answer = (
                    Answer(400) if item is None else (receiver.script(item) if receiver.script else Answer())
                )
                if answer.delay:
                    time.sleep(answer.delay)
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="receiver")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def verify(self, body: bytes, headers: dict[str, str]) -> Received | None:
        """The request as verified by any of the receiver's secrets, or None (kept in rejected)."""
        for secret in self.secrets:
            try:
                payload = Webhook(secret).verify(body, headers)
            except WebhookVerificationError as exc:
                reason = str(exc)
                continue
            item = Received(
                headers["webhook-id"], int(headers["webhook-timestamp"]), payload.get("type", ""), payload,
                time.time(), headers["webhook-signature"],
            )  # fmt: skip
            with self.lock:
                self.received.append(item)
                self.arrived.notify_all()
            return item
        with self.lock:
            self.rejected.append((headers, reason if self.secrets else "no secret"))
        return None

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Blocks until ``count`` requests were verified (or the timeout); returns them all."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.received) < count and time.monotonic() < deadline:
                self.arrived.wait(deadline - time.monotonic())
            return list(self.received)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def body_of(item: Received) -> str:
    return json.dumps(item.body)
