"""The node's HTTP side: sign every request, check every answer.

One method, :meth:`Transport.call`: pack the payload, take a fresh request id
from the node's counter (persisted before it is used, so it never repeats
after a crash), sign, POST, and return the unpacked answer only if the server
signed it with our secret. Every failure becomes a :class:`SyncError`.
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from gateway.config.loader import Config
from sync.errors import NotConfigured, ProtocolError, Refused, ServerError, Unreachable
from sync.protocol import signing, wire

CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60


def load_secret(config: Config, environ: dict[str, str] | None = None) -> str:
    """The node's sync secret: env SIMPUL_SYNC_SECRET, else ``sync.secret_file``."""
    environ = os.environ if environ is None else environ
    if environ.get("SIMPUL_SYNC_SECRET"):
        return environ["SIMPUL_SYNC_SECRET"].strip()
    path = config["sync.secret_file"]
    if path:
        try:
            secret = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise NotConfigured(f"sync.secret_file {path}: {exc.strerror}") from None
        if secret:
            return secret
    raise NotConfigured("no sync secret: set SIMPUL_SYNC_SECRET or sync.secret_file")


LOOPBACK_NAMES = ("localhost", "localhost.localdomain")


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_config(config: Config) -> None:
    """Refuse a sync setup that would leak or could never work (NotConfigured naming the key).

    - ``sync.url`` must be ``https://``, unless its host is loopback (a tunnel
      or a proxy on the box) or ``sync.allow_plain_http`` is true: pulls carry
      citizens' phone numbers and case workers' notes for them, which the
      unattended sync job must be able to read, so only the transport protects them.
    - ``sync.url`` without ``sync.regional_key``: the node would seal personal
      fields for itself only and push requests the regional server cannot read.
    """
    url = str(config["sync.url"])
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise NotConfigured(f"sync.url {url!r} is not an https:// URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not config["sync.allow_plain_http"]:
        raise NotConfigured(f"sync.url {url!r} is plain http:// to another host: phone numbers and notes "
                            "would cross the network readable. Use https://, or set "
                            "sync.allow_plain_http = true if the link is protected otherwise (VPN)")
    if not str(config["sync.regional_key"]).strip():
        raise NotConfigured("sync.regional_key is empty while sync.url is set: put the regional server's "
                            "public sealing key there (`simpul regional seal-key` on the regional server)")


class Transport:
    def __init__(self, url: str, node_id: str, secret: str, next_counter: Callable[[int], int],
                 *, timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)):
        if not url:
            raise NotConfigured("sync.url is empty")
        self.url = url.rstrip("/")
        self.node_id = node_id
        self.secret = secret
        self.next_counter = next_counter
        self.timeout = timeout
        self.session = requests.Session()
        # Every header costs bytes on a 2G link: send only what is needed.
        self.session.headers.clear()
        self.session.headers["User-Agent"] = "simpul-sync/1"
        self.bytes_up = 0
        self.bytes_down = 0
        self.last_elapsed = 0.0

    def call(self, path: str, payload: Any) -> Any:
        body = wire.pack(payload)
        at_least = 0
        for _ in range(2):  # a 409 from a node restored from an old backup: jump ahead once
            counter = self.next_counter(at_least)
            full_path = signing.PREFIX + path
            headers = {
                "Content-Type": "application/x-simpul-batch",
                signing.H_NODE: self.node_id,
                signing.H_REQUEST: str(counter),
                signing.H_SIGNATURE: signing.sign(self.secret, "POST", full_path, self.node_id, counter, body),
            }
            started = time.monotonic()
            try:
                resp = self.session.post(self.url + full_path, data=body, headers=headers,
                                         timeout=self.timeout)
                content = resp.content
            except requests.Timeout as exc:
                self.session.close()
                raise Unreachable(f"timed out: {exc.__class__.__name__}") from None
            except requests.RequestException as exc:
                self.session.close()
                raise Unreachable(f"link failed: {exc.__class__.__name__}") from None
            self.last_elapsed = time.monotonic() - started
            self.bytes_up += len(body)
            self.bytes_down += len(content)
            if resp.status_code == 401:
                raise Refused(401, _error_of(content))
            if not signing.verify_response(self.secret, resp.headers.get(signing.H_SIGNATURE), counter,
                                           resp.status_code, content):
                if resp.status_code >= 500:
                    raise ServerError(f"server error {resp.status_code}")
                raise ServerError(f"answer {resp.status_code} not signed by the server: not trusted")
            answer = wire.unpack(content)
            if resp.status_code == 409:
                last = answer.get("last") if isinstance(answer, dict) else None
                if isinstance(last, int) and at_least == 0:
                    at_least = last + 1
                    continue
                raise Refused(409, "request id refused as a replay", last)
            if resp.status_code == 400:
                raise ProtocolError(f"server refused the message: {answer.get('error', '')}")
            if resp.status_code != 200:
                raise ServerError(f"unexpected answer {resp.status_code}")
            return answer
        raise Refused(409, "request id refused as a replay")

    def close(self) -> None:
        self.session.close()



def _error_of(content: bytes) -> str:
    try:
        return str(json.loads(content).get("error", ""))
    except (ValueError, AttributeError):
        return ""
