"""Loopback stand-ins for the Android gateway phone and an HTTP SMS aggregator, and a real node server.

``AndroidPhone`` speaks SMS Gateway for Android's Local Server API as its
docs publish it (https://docs.sms-gate.app/getting-started/local-server/):
``POST /message`` with Basic auth and ``{"id", "textMessage": {"text"},
"phoneNumbers"}`` answered 202 with ``{"id", "state": "Pending",
"recipients"}``, ``GET /message/<id>``; and it posts the documented webhooks
(``{"deviceId", "event", "id", "payload", "webhookId"}``), signed with
``X-Signature`` = hex HMAC-SHA256(key, body + ``X-Timestamp``).

``Aggregator`` records whatever an HTTP aggregator is sent and answers with
a chosen status and body. ``NodeServer`` serves a node app on 127.0.0.1 so
both post to it over real HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from werkzeug.serving import make_server


class _Server:
    def _start(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str = "application/json") -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class AndroidPhone(_Server):
    """The phone on the office LAN, as far as the node can tell."""

    def __init__(self, username: str = "sms", password: str = "phone-pass", signing_key: str = "sign-key"):
        self.username, self.password, self.signing_key = username, password, signing_key
        self.messages: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.mode = "ok"  # "ok", "500", "drop"
        self.lock = threading.Lock()
        phone = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _authorized(self) -> bool:
                want = base64.b64encode(f"{phone.username}:{phone.password}".encode()).decode()
                return self.headers.get("Authorization", "") == f"Basic {want}"

            def do_POST(self):  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with phone.lock:
                    phone.requests.append({"path": self.path, "body": body, "auth_ok": self._authorized()})
                    mode = phone.mode
                if not self._authorized():
                    return _reply(self, 401, b'{"message":"Unauthorized"}')
                if mode == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if mode != "ok":
                    return _reply(self, int(mode), b'{"message":"busy"}')
                if self.path != "/message":
                    return _reply(self, 404, b'{"message":"Not Found"}')
                data = json.loads(body)
                text = (data.get("textMessage") or {}).get("text") or data.get("message")
                if not text or not data.get("phoneNumbers"):
                    return _reply(self, 400, b'{"message":"Bad Request"}')
                message_id = data.get("id") or secrets.token_urlsafe(16)
                state = {"id": message_id, "state": "Pending", "isHashed": False, "isEncrypted": False,
                         "recipients": [{"phoneNumber": n, "state": "Pending"} for n in data["phoneNumbers"]],
                         "text": text}
                with phone.lock:
                    phone.messages[message_id] = state
                return _reply(self, 202, json.dumps({k: v for k, v in state.items() if k != "text"}).encode())

            def do_GET(self):  # noqa: N802
                if not self._authorized():
                    return _reply(self, 401, b'{"message":"Unauthorized"}')
                message_id = self.path.rsplit("/", 1)[-1]
                with phone.lock:
                    state = phone.messages.get(message_id)
                if state is None:
                    return _reply(self, 404, b'{"message":"message not found"}')
                return _reply(self, 200, json.dumps({k: v for k, v in state.items() if k != "text"}).encode())

        self._start(Handler)

    def sent_texts(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(m["recipients"][0]["phoneNumber"], m["text"]) for m in self.messages.values()]

    def webhook(self, url: str, event: str, payload: dict[str, Any], *, sign: bool = True,
                timestamp: int | None = None) -> requests.Response:
        """POST one event the way the app does."""
        body = json.dumps({"deviceId": "ffffffffceb0b1db0000018e937c815b", "event": event,
                           "id": secrets.token_urlsafe(15), "payload": payload,
                           "webhookId": "simpul-" + event}).encode()
        headers = {"Content-Type": "application/json"}
        if sign:
            stamp = str(timestamp if timestamp is not None else int(time.time()))
            headers["X-Timestamp"] = stamp
            headers["X-Signature"] = hmac.new(self.signing_key.encode(), body + stamp.encode(),
                                              hashlib.sha256).hexdigest()
        return requests.post(url, data=body, headers=headers, timeout=30)

    def received(self, url: str, phone: str, text: str, received_at: str = "2026-12-01T13:46:11.000+07:00",
                 **kw: Any) -> requests.Response:
        digest = hashlib.md5(text.encode()).hexdigest()[:10]  # the app's id is content-based too  # noqa: S324
        return self.webhook(url, "sms:received", {"messageId": digest, "message": text, "phoneNumber": phone,
                                                  "simNumber": 1, "receivedAt": received_at}, **kw)


class Aggregator(_Server):
    """An HTTP SMS aggregator: records requests, answers ``status`` with ``body``."""

    def __init__(self):
        self.requests: list[dict[str, Any]] = []
        self.status, self.body = 200, b'{"status":"ok","message_id":"AGG-1"}'
        self.lock = threading.Lock()
        agg = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _record(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                with agg.lock:
                    agg.requests.append({"method": self.command, "path": self.path, "body": body,
                                         "headers": dict(self.headers)})
                    status, reply = agg.status, agg.body
                _reply(self, status, reply)

            do_POST = do_GET = do_PUT = _record  # noqa: N815

        self._start(Handler)


class NodeServer:
    """A node's Flask app on a real loopback port."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
