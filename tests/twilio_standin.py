"""A local stand-in for Twilio's Messages REST endpoint (the only faked part: it lies off this machine).

Serves ``POST /2010-04-01/Accounts/<sid>/Messages.json`` on 127.0.0.1 and
records every form it receives. ``mode`` picks the answer: "ok" (201 with a
new SM sid), "500", "429", "400" (Twilio error 21211), or "drop" (read the
request, then close the connection without answering), or "hang" (answer
only after 30 s: a sender killed meanwhile never hears back).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class TwilioStandIn:
    def __init__(self):
        self.requests: list[dict] = []
        self.mode = "ok"
        self.lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                auth = base64.b64decode(self.headers.get("Authorization", "Basic ").split()[1] or b"").decode()
                with standin.lock:
                    standin.requests.append({"path": self.path, "form": form, "auth": auth})
                    mode = standin.mode
                if mode == "hang":
                    time.sleep(30)
                    return
                if mode == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if mode == "ok":
                    sid = "SM" + secrets.token_hex(16)
                    payload = {"sid": sid, "status": "queued", "to": form.get("To"), "from": form.get("From"),
                               "body": form.get("Body"), "account_sid": self.path.split("/")[3],
                               "num_segments": "1", "direction": "outbound-api"}
                    return self._json(201, payload)
                if mode == "400":
                    return self._json(400, {"code": 21211, "message": "The 'To' number is not a valid phone number.",
                                            "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})
                status = int(mode)
                return self._json(status, {"code": 20500 if status == 500 else 20429, "message": "try later",
                                           "status": status})

            def _json(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def forms(self) -> list[dict]:
        with self.lock:
            return [r["form"] for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
