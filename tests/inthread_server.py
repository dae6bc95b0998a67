"""A real waitress server in a thread of the test process, stopped cleanly.

Closing a waitress server from the test thread while its loop sits in
``select()`` makes the loop fail with EBADF; the stop is therefore handed to
the loop's own thread through waitress's trigger, and the loop ends when its
socket map is empty.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def serve_in_thread(app: Any, **options: Any) -> Iterator[Any]:
    """Yield the running server (``effective_port`` tells where); stop it on exit."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, **options)
    thread = threading.Thread(target=server.run, daemon=True, name="waitress-in-test")
    thread.start()
    try:
        yield server
    finally:
        def stop() -> None:
            for dispatcher in list(server._map.values()):
                dispatcher.close()

        server.trigger.pull_trigger(stop)
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()
