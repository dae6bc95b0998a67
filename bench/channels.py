"""Channel benchmarks through a real `simpul serve` (waitress) process.

SMS part: signed Twilio webhook and Android gateway phone webhook
(``sms:received``, ``?secret=`` plus the app's X-Signature HMAC) requests/s
and latency percentiles from 8 concurrent keep-alive connections, against
the trivial ``GET /bench/sms-hello`` route on the same server in the same
run (added by the bench-only part in ``bench/parts/``, put on the server's
``PYTHONPATH`` here; production has no such route).

Load comes from 2 client processes x 4 connections (a single Python client
process saturates on its own GIL before the server does). Every webhook
request is pre-signed with twilio's RequestValidator and carries a fresh
MessageSid, so each one is a new submission: validation, a durable
group-committed insert (request + status event + inbound log), TwiML.

    .venv/bin/python bench/channels.py [--seconds 10] [--threads 4] [--kind submit|help]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import multiprocessing as mp
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
BENCH_PARTS = Path(__file__).resolve().parent / "parts"  # the bench-only part serving the baseline route
SIMPUL = str(Path(sys.executable).with_name("simpul"))
TOKEN = "bench-twilio-token"
ANDROID_SECRET = "bench-android-secret"
ANDROID_KEY = "bench-android-signing-key"
CLIENT_PROCESSES = 2
CONNECTIONS_PER_PROCESS = 4  # 8 connections in all
NIK = "3201011708900001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sms_requests(port: int, n: int, kind: str, seed: int) -> list[tuple[str, str, bytes, dict[str, str]]]:
    url = f"http://127.0.0.1:{port}/channels/sms/twilio"
    validator = RequestValidator(TOKEN)
    out = []
    for i in range(n):
        sid = f"SM{seed:04d}{i:08d}{secrets.token_hex(10)}"
        phone = f"+62812{(seed * 1000003 + i) % 10**7:07d}"
        body = f"DOMISILI#{NIK}#Siti Aminah {i}#Dusun Krajan RT 02/03" if kind == "submit" else "HELP"
        form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": phone,
                "To": "+15005550006", "Body": body, "NumMedia": "0", "NumSegments": "1"}
        headers = {"X-Twilio-Signature": validator.compute_signature(url, form),
                   "Content-Type": "application/x-www-form-urlencoded"}
        out.append(("POST", "/channels/sms/twilio", urllib.parse.urlencode(form).encode(), headers))
    return out


def android_requests(port: int, n: int, kind: str, seed: int) -> list[tuple[str, str, bytes, dict[str, str]]]:
    """``sms:received`` webhooks exactly as SMS Gateway for Android posts them, signed."""
    stamp = str(int(time.time()))
    out = []
    for i in range(n):
        phone = f"+62813{(seed * 1000003 + i) % 10**7:07d}"
        text = f"DOMISILI#{NIK}#Siti Aminah {i}#Dusun Krajan RT 02/03" if kind == "submit" else "HELP"
        body = json.dumps({"deviceId": "ffffffffceb0b1db0000018e937c815b", "event": "sms:received",
                           "id": secrets.token_urlsafe(15), "webhookId": "bench",
                           "payload": {"messageId": secrets.token_hex(8), "message": text, "phoneNumber": phone,
                                       "simNumber": 1, "receivedAt": f"2026-12-01T10:{i % 60:02d}:{seed % 60:02d}"
                                                                     f".{i:06d}+07:00"}}).encode()
        signature = hmac.new(ANDROID_KEY.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Timestamp": stamp, "X-Signature": signature}
        out.append(("POST", f"/channels/sms/android?secret={ANDROID_SECRET}", body, headers))
    return out


PREPARE = {"sms": sms_requests, "android": android_requests}


def _client_process(port: int, target: str, kind: str, seconds: float, seed: int, queue) -> None:
    import threading

    per_thread = int(seconds * 1500) + 200
    prepared = [PREPARE[target](port, per_thread, kind, seed * 100 + t) if target in PREPARE else None
                for t in range(CONNECTIONS_PER_PROCESS)]
    latencies: list[list[float]] = [[] for _ in range(CONNECTIONS_PER_PROCESS)]
    errors = [0] * CONNECTIONS_PER_PROCESS
    start_at = time.monotonic() + 0.5
    stop_at = start_at + seconds

    def worker(t: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        reqs = prepared[t]
        i = 0
        while time.monotonic() < start_at:
            time.sleep(0.001)
        while True:
            began = time.monotonic()
            if began >= stop_at:
                break
            if reqs is None:
                conn.request("GET", "/bench/sms-hello")
            else:
                method, path, body, headers = reqs[i % len(reqs)]
                conn.request(method, path, body=body, headers=headers)
            i += 1
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors[t] += 1
            latencies[t].append(time.monotonic() - began)
        conn.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(CONNECTIONS_PER_PROCESS)]
    [th.start() for th in threads]
    [th.join() for th in threads]
    queue.put(([x for lat in latencies for x in lat], sum(errors)))


def run_load(port: int, target: str, kind: str, seconds: float) -> dict[str, float]:
    queue: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_client_process, args=(port, target, kind, seconds, p, queue))
             for p in range(CLIENT_PROCESSES)]
    [p.start() for p in procs]
    results = [queue.get() for _ in procs]
    [p.join() for p in procs]
    lat = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")

    return {"requests": len(lat), "rps": len(lat) / seconds, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "max_ms": lat[-1] * 1000 if lat else float("nan"), "errors": errors}


def start_server(tmp: Path, threads: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cfg = tmp / "bench.toml"
    cfg.write_text(f'[storage]\npath = "{tmp / "bench.db"}"\n[http]\nthreads = {threads}\n[jobs]\nenabled = false\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    env.update(SIMPUL_TWILIO_AUTH_TOKEN=TOKEN, SIMPUL_SECRET_KEY="bench",
               SIMPUL_ANDROID_WEBHOOK_SECRET=ANDROID_SECRET, SIMPUL_ANDROID_SIGNING_KEY=ANDROID_KEY,
               PYTHONPATH=os.pathsep.join(filter(None, [str(BENCH_PARTS), env.get("PYTHONPATH", "")])))
    proc = subprocess.Popen([SIMPUL, "--config", str(cfg), "serve", "--port", str(port)], cwd=tmp, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/bench/sms-hello")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("simpul serve did not start")


def server_cpu_seconds(pid: int) -> float:
    """utime + stime of the server process (Linux /proc): its own CPU, whatever else runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(proc: subprocess.Popen, port: int, target: str, kind: str, seconds: float) -> dict[str, float]:
    before = server_cpu_seconds(proc.pid)
    result = run_load(port, target, kind, seconds)
    result["server_cpu_us"] = (server_cpu_seconds(proc.pid) - before) / max(1, result["requests"]) * 1e6
    return result


def bench_sms(seconds: float, threads: int, kind: str) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="simpul-bench-") as tmp:
        proc, port = start_server(Path(tmp), threads)
        try:
            run_load(port, "hello", kind, 1.0)  # warm-up
            hello = measured(proc, port, "hello", kind, seconds)
            sms = measured(proc, port, "sms", kind, seconds)
            android = measured(proc, port, "android", kind, seconds)
            hello_again = measured(proc, port, "hello", kind, seconds)  # the machine is shared: bracket it
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return {"hello": hello, "sms": sms, "android": android, "hello_after": hello_again}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=4, help="waitress threads (http.threads)")
    parser.add_argument("--kind", choices=("submit", "help"), default="submit")
    args = parser.parse_args()
    print(f"# SMS webhook bench  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  "
          f"cores={os.cpu_count()} python={platform.python_version()} waitress threads={args.threads} "
          f"connections={CLIENT_PROCESSES * CONNECTIONS_PER_PROCESS} kind={args.kind}")
    result = bench_sms(args.seconds, args.threads, args.kind)
    baseline = (result["hello"]["rps"] + result["hello_after"]["rps"]) / 2
    for name, r in result.items():
        print(f"{name:<12} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
              f"max {r['max_ms']:7.1f} ms  server CPU {r['server_cpu_us']:5.0f} us/req  errors {r['errors']}")
    for name in ("sms", "android"):
        ratio = result[name]["rps"] / baseline
        ok = ratio >= 0.70 and result[name]["p99_ms"] < 50
        print(f"{name}/hello = {ratio:.0%} (target >= 70%, p99 < 50 ms): {'MET' if ok else 'NOT MET'}")


if __name__ == "__main__":
    main()
