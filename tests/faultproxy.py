"""A small TCP proxy on loopback that counts, slows and cuts traffic.

Used by the sync fault tests and by ``bench/sync.py`` (and meant for the
reliability campaign: arm a cut at any byte offset of either direction).
The kernel here has no ``netem``, so link behaviour lives in user space:

- byte counters per direction (``up`` = client->server, ``down``);
- a rate limit per direction (bytes/s, token bucket in small slices) and an
  optional one-way delay per chunk;
- one-shot cuts at an absolute byte offset of either direction: the bytes
  before the offset are forwarded, then both sockets of that connection are
  closed (``cut_up_at`` cuts a request in flight, ``cut_down_at`` cuts after
  the server has answered, i.e. after its commit, before the client read the
  ack);
- ``refuse = True`` drops every new connection (server unreachable);
- ``record = True`` keeps the client's bytes per connection in ``captured``
  (an attacker's capture, for replay tests).
"""

from __future__ import annotations

import socket
import threading
import time

CHUNK = 16384


class FaultProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1", *,
                 rate: float | None = None, delay: float = 0.0):
        self.target = (target_host, target_port)
        self.rate = rate  # bytes per second per direction; None = unlimited
        self.delay = delay
        self.up = 0
        self.down = 0
        self.connections = 0
        self.cuts = 0
        self.refuse = False
        self.record = False  # keep every client->server byte per connection (replay tests)
        self.captured: list[bytearray] = []
        self.cut_up_at: int | None = None
        self.cut_down_at: int | None = None
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, name="faultproxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.up = self.down = 0

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.drop_all()

    def drop_all(self) -> None:
        with self._lock:
            socks, self._socks = list(self._socks), set()
        for s in socks:
            _kill(s)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.refuse:
                _kill(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _kill(client)
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections += 1
                self._socks.update((client, upstream))
            pair = (client, upstream)
            capture = None
            if self.record:
                capture = bytearray()
                self.captured.append(capture)
            threading.Thread(target=self._pump, args=(client, upstream, "up", pair, capture), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, "down", pair, None), daemon=True).start()

    def _take(self, direction: str, n: int) -> tuple[int, bool]:
        """Count ``n`` bytes; return how many may pass and whether to cut after them."""
        with self._lock:
            count = self.up if direction == "up" else self.down
            cut_at = self.cut_up_at if direction == "up" else self.cut_down_at
            allowed, cut = n, False
            if cut_at is not None and count + n >= cut_at:
                allowed, cut = max(0, cut_at - count), True
                if direction == "up":
                    self.cut_up_at = None
                else:
                    self.cut_down_at = None
                self.cuts += 1
            if direction == "up":
                self.up += allowed
            else:
                self.down += allowed
            return allowed, cut

    def _send(self, dst: socket.socket, data: bytes) -> None:
        if self.delay:
            time.sleep(self.delay)
        rate = self.rate  # read once: a test may lift the limit mid-transfer
        if not rate:
            dst.sendall(data)
            return
        step = max(64, int(rate / 20))
        for i in range(0, len(data), step):
            piece = data[i:i + step]
            started = time.monotonic()
            dst.sendall(piece)
            wait = len(piece) / rate - (time.monotonic() - started)
            if wait > 0:
                time.sleep(wait)

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str,
              pair: tuple[socket.socket, socket.socket], capture: bytearray | None) -> None:
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                allowed, cut = self._take(direction, len(data))
                if capture is not None:
                    capture.extend(data[:allowed])
                if allowed:
                    self._send(dst, data[:allowed])
                if cut:
                    break
        except OSError:
            pass
        finally:
            for s in pair:
                _kill(s)
            with self._lock:
                self._socks.difference_update(pair)


def _kill(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def main() -> None:
    """Run a proxy by hand: ``python tests/faultproxy.py TARGET_PORT [--rate B/s] [--cut-up-at N] ...``."""
    import argparse

    parser = argparse.ArgumentParser(description="Loopback TCP proxy that counts, slows and cuts.")
    parser.add_argument("target_port", type=int)
    parser.add_argument("--rate", type=float, default=None, help="bytes per second per direction")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added per chunk")
    parser.add_argument("--cut-up-at", type=int, default=None, help="cut once at this client->server byte")
    parser.add_argument("--cut-down-at", type=int, default=None, help="cut once at this server->client byte")
    args = parser.parse_args()
    proxy = FaultProxy(args.target_port, rate=args.rate, delay=args.delay)
    proxy.cut_up_at, proxy.cut_down_at = args.cut_up_at, args.cut_down_at
    print(proxy.url, flush=True)
    try:
        while True:
            time.sleep(5)
            print(f"up={proxy.up} down={proxy.down} connections={proxy.connections} cuts={proxy.cuts}", flush=True)
    except KeyboardInterrupt:
        proxy.close()


if __name__ == "__main__":
    main()
