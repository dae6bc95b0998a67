"""The sync part's lines in ``simpul doctor``: the regional server answers a signed ping.

The ping is a real signed call (``/catalog`` with a version no catalog has),
so it proves the URL, the node id and the secret at once, and the server's
signature on the answer proves it is the right server. The server's clock is
read from its HTTP ``Date`` header: more than 5 minutes apart is a problem
(receipts, audit times and token expiry all depend on it).
"""

from __future__ import annotations

import email.utils
import time
from pathlib import Path
from typing import Any

import requests

from gateway.i18n import Message
from gateway.ops.doctor import FAIL, OK, WARN, Check
from sync.errors import NotConfigured, Refused, SyncError, Unreachable

MAX_SKEW = 300  # seconds
NO_SUCH_VERSION = 2**31 - 1


def _skew(url: str) -> float | None:
    try:
        resp = requests.get(url.rstrip("/") + "/healthz", timeout=(10, 20))
        stamp = email.utils.parsedate_to_datetime(resp.headers["Date"]).timestamp()
    except (requests.RequestException, KeyError, TypeError, ValueError):
        return None
    return time.time() - stamp


def checks(config: Any) -> list[Check]:
    if not config.get("sync.url"):
        return [Check("sync", WARN, Message("sync is not configured (sync.url is empty)"),
                      Message("enrol this node: `simpul node join TOKEN`"))]
    if not Path(config["storage.path"]).exists():
        return [Check("sync", FAIL, Message("no database yet"), Message("run `simpul init-db`"))]
    from gateway.node import Node
    from sync.client.runner import make_transport

    node = Node(config)
    try:
        transport = make_transport(node)
        try:
            transport.call("/catalog", {"version": NO_SUCH_VERSION})
        finally:
            transport.close()
    except NotConfigured as exc:
        return [Check("sync", FAIL, Message("sync is not configured: %(detail)s", detail=str(exc)),
                      Message("run `simpul node join TOKEN` again with a fresh token"))]
    except Refused as exc:
        return [Check("sync", FAIL, Message("the regional server refused this node (%(detail)s)", detail=str(exc)),
                      Message("ask the regional operator for a new token and run `simpul node join` again"))]
    except Unreachable as exc:
        return [Check("sync", WARN, Message("regional server unreachable (%(detail)s)", detail=str(exc)),
                      Message("check the link; requests wait safely and sync when it returns"))]
    except SyncError as exc:
        return [Check("sync", FAIL, Message("the regional server's answer was not right (%(detail)s)",
                                            detail=str(exc)),
                      Message("check sync.url: it must be this node's regional server"))]
    finally:
        node.close()
    result = [Check("sync", OK, Message("%(url)s answered a signed ping", url=config["sync.url"]))]
    skew = _skew(config["sync.url"])
    if skew is not None and abs(skew) > MAX_SKEW:
        result.append(Check("clock_offset", FAIL, Message("this clock is %(s)d s off the regional server's",
                                                          s=int(skew)),
                            Message("set the time (timedatectl set-ntp true)")))
    elif skew is not None:
        result.append(Check("clock_offset", OK, Message("within %(s)d s of the regional server", s=int(abs(skew)) + 1)))
    return result
