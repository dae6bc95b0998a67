"""A fleet of simulated nodes pushing to a real ``simpul regional serve`` (docs/benchmarks.md).

Each simulated node has its own id and secret (registered through the real
store), its own seal epoch key, and realistic records: DOMISILI-like requests
with a random UUID and tracking code, and a random NIK, name, address and
phone (from a per-run pool of 4,096 citizens, see :class:`RecordPool`) sealed
to the regional key exactly as a node seals them (``EpochSealer`` + ``aad``
of the record's own UUID). Pushes are real signed HTTP requests; the server
checks every signature and opens every sealed blob. A failed push (reset,
5xx, timeout) is counted and described in the result, and the run goes on.

Phases per configuration (engine x workers x nodes):
- baseline: a bare authenticated no-op (``/sync/v1/catalog`` with the
  current version) from every node, same run;
- offered load: each node pushes 20-200 records at random intervals averaging
  60 s (1,000 nodes: ~1,800 records/s) for ``--seconds``;
- saturation (``--saturate``): every node pushes a ~110-record backlog at once.
Then ``--dashboards`` loads 1,000 nodes / 1,000,000 requests straight into
PostgreSQL, builds a hot standby and times /nodes and /analytics on it while
the fleet pushes.

    python bench/regional_fleet.py --engine postgresql --workers 2 --nodes 1000 --seconds 60 --saturate
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.intake.codes import generate  # noqa: E402
from gateway.privacy import sealing  # noqa: E402
from gateway.privacy.vault import aad, encode_personal  # noqa: E402
from sync.protocol import signing, wire  # noqa: E402
from tests import pg_support  # noqa: E402
from tests.syncenv import TEST_SEAL_PUBLIC, Regional, citizen  # noqa: E402

CHANNELS = ("sms", "ussd", "web", "kiosk")


POOL_SIZE = 4096  # distinct citizens per run: their personal fields, compacted once


class RecordPool:
    """Realistic personal fields, encoded once per run and sealed per record.

    Making a citizen (random NIK, name, address, phone) and compacting it cost
    ~50 µs; sealing ~9 µs. Pre-sealing every record of a 1,000-node, 5-minute
    run from scratch (540,000) starved the CPU of a loaded box for 12 minutes,
    so the plaintexts come from this pool and only the seal is per record: a
    seal binds its blob to the record's UUID (``aad``), so each record still
    gets its own blob that the server opens and checks.
    """

    def __init__(self, rng: random.Random, size: int = POOL_SIZE):
        self.plaintexts = []
        for _ in range(size):
            phone, personal = citizen(rng)
            self.plaintexts.append(encode_personal(dict(personal, phone=phone)))


class SimNode:
    """One village: id, secret, counter, epoch sealer; records drawn from the run's pool."""

    def __init__(self, node_id: str, secret: str, rng: random.Random, pool: RecordPool):
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

        self.node_id, self.secret, self.rng, self.pool = node_id, secret, rng, pool
        self.counter = 0
        self.seq = 0
        self.lock = threading.Lock()
        epoch = X25519PrivateKey.generate()
        regional = X25519PublicKey.from_public_bytes(wire.unb64(TEST_SEAL_PUBLIC, "key"))
        self.sealer = sealing.EpochSealer(1, epoch, regional)
        self.epochs = {1: (sealing.public_bytes(epoch.public_key()), sealing.public_bytes(regional))}

    def batch(self, n: int) -> bytes:
        """n new records: fresh UUIDs, tracking codes and sequence numbers, each sealed to its own UUID."""
        rows = []
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        plaintexts = self.pool.plaintexts
        for _ in range(n):
            self.seq += 1
            rid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            rows.append({"seq": self.seq, "id": rid, "tracking_code": generate(self.rng.getrandbits),
                         "service": "DOMISILI", "channel": self.rng.choice(CHANNELS), "phone": None,
                         "locale": "id", "officer": None, "created_at": now, "fields": {},
                         "sealed_regional": self.sealer.seal(plaintexts[self.rng.randrange(len(plaintexts))],
                                                             aad(rid, "regional"))})
        return wire.pack(wire.encode_requests(rows, self.epochs))

    def post(self, session: requests.Session, url: str, path: str, body: bytes) -> float:
        with self.lock:
            self.counter += 1
            counter = self.counter
            full = signing.PREFIX + path
            headers = {signing.H_NODE: self.node_id, signing.H_REQUEST: str(counter),
                       "Content-Type": "application/x-simpul-batch",
                       signing.H_SIGNATURE: signing.sign(self.secret, "POST", full, self.node_id, counter, body)}
            start = time.perf_counter()
            resp = session.post(url + full, data=body, headers=headers, timeout=120)
            took = time.perf_counter() - start
        if resp.status_code != 200:
            raise RuntimeError(f"{self.node_id}: {resp.status_code} {resp.content[:200]!r}")
        return took


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def register(regional: Regional, n: int, seed: int) -> list[SimNode]:
    """Nodes registered through the real store (one process; the CLI per node would take minutes)."""
    from gateway.config.loader import load_config
    from sync.regional.engines import open_store

    config = load_config(regional.config)
    store = open_store(config)
    try:
        pool = RecordPool(random.Random(seed))
        return [SimNode(f"desa-{i:04d}", store.add_node(f"desa-{i:04d}"), random.Random(seed * 7919 + i), pool)
                for i in range(n)]
    finally:
        store.close()


def baseline(url: str, nodes: list[SimNode], threads: int, spread_s: float = 20.0) -> dict:
    """A bare authenticated no-op from every node: all at once (p50/p99, as in earlier runs: it
    measures queueing behind 64 connections) and then paced over ``spread_s`` (``paced_``: the
    cost of one signed request on an otherwise idle server, what a push is compared against)."""
    body = wire.pack({"version": 10**6})
    local = threading.local()
    start = [0.0]

    def one(item: tuple[int, SimNode], paced: bool = False) -> float:
        i, node = item
        if paced:
            wait = start[0] + i * spread_s / len(nodes) - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        if not hasattr(local, "s"):
            local.s = requests.Session()
        return node.post(local.s, url, "/catalog", body)

    with ThreadPoolExecutor(threads) as pool:
        burst = list(pool.map(one, enumerate(nodes)))
        start[0] = time.perf_counter()
        paced = list(pool.map(lambda item: one(item, paced=True), enumerate(nodes)))
    return {"p50_ms": round(1000 * pct(burst, .5), 1), "p99_ms": round(1000 * pct(burst, .99), 1),
            "paced_p50_ms": round(1000 * pct(paced, .5), 1), "paced_p99_ms": round(1000 * pct(paced, .99), 1)}


def server_log(regional: Regional) -> dict:
    """The server's stderr (``tests.syncenv.launch`` writes it to ROOT/serve.log), summed up.

    It used to be a pipe nobody read while the server ran: under a 1,000-node
    burst waitress warns "Task queue depth is N" for every queued request, the
    64 KB pipe filled, the server's main thread blocked writing to it and every
    push hung. Waitress's warnings are counted; anything else is quoted.
    """
    path = regional.root / "serve.log"
    lines = path.read_text("utf-8", errors="replace").splitlines() if path.exists() else []
    depths = [int(t.rsplit(" ", 1)[-1]) for t in lines if "Task queue depth is" in t and t.rsplit(" ", 1)[-1].isdigit()]
    other = [t[:200] for t in lines if t.strip() and "Task queue depth is" not in t]
    return {"log": str(path), "lines": len(lines), "queue_depth_warnings": len(depths),
            "max_queue_depth": max(depths, default=0), "other_lines": other[:10]}


class Failures:
    """Pushes that failed (reset connection, 5xx, timeout): counted and described, the run goes on."""

    def __init__(self) -> None:
        self.n = 0
        self.records = 0
        self.first: list[str] = []
        self.lock = threading.Lock()

    def add(self, node: SimNode, records: int, exc: Exception, at: float) -> None:
        with self.lock:
            self.n += 1
            self.records += records
            if len(self.first) < 5:
                self.first.append(f"{at:.1f}s {node.node_id}: {type(exc).__name__}: {str(exc)[:200]}")

    def report(self) -> dict:
        return {"failed_pushes": self.n, "failed_records": self.records, "first_failures": self.first}


def log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def offered(url: str, nodes: list[SimNode], seconds: float, threads: int, rng: random.Random,
            started: threading.Event | None = None) -> dict:
    """Each node: batches of 20-200 records at exponential intervals averaging 60 s."""
    plan = []
    for node in nodes:
        at = rng.expovariate(1 / 60)
        while at < seconds:
            plan.append((at, node, rng.randint(20, 200)))
            at += rng.expovariate(1 / 60)
    plan.sort(key=lambda p: p[0])
    prep = time.perf_counter()
    bodies = [(at, node, n, node.batch(n)) for at, node, n in plan]  # sealed and packed before the clock starts
    prepare_s = time.perf_counter() - prep
    log(f"offered: {len(bodies)} pushes, {sum(p[2] for p in plan)} records prepared in {prepare_s:.1f} s")
    times: list[float] = []
    late: list[float] = []
    done = [0]
    failures = Failures()
    local = threading.local()
    start = time.perf_counter()
    if started is not None:
        started.set()

    def one(item) -> None:
        at, node, n, body = item
        wait = start + at - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        else:
            late.append(-wait)
        if not hasattr(local, "s"):
            local.s = requests.Session()
        try:
            times.append(node.post(local.s, url, "/requests", body))
        except Exception as exc:  # noqa: BLE001 - a failed push is a result to report
            failures.add(node, n, exc, time.perf_counter() - start)
            local.s = requests.Session()
            return
        done[0] += n

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, bodies))
    elapsed = time.perf_counter() - start
    offered_rate = sum(n for _, _, n, _ in bodies) / seconds
    return {"pushes": len(bodies), "records": done[0], "offered_rps": round(offered_rate),
            "sustained_rps": round(done[0] / elapsed), "elapsed_s": round(elapsed, 1),
            "p50_ms": round(1000 * pct(times, .5), 1), "p99_ms": round(1000 * pct(times, .99), 1),
            "max_ms": round(1000 * max(times), 1) if times else None,
            "started_late_p99_s": round(pct(late, .99), 2) if late else 0.0,
            "prepare_s": round(prepare_s, 1), **failures.report()}


def saturate(url: str, nodes: list[SimNode], threads: int, per_node: int = 110) -> dict:
    prep = time.perf_counter()
    bodies = [(node, node.batch(per_node)) for node in nodes]
    prepare_s = time.perf_counter() - prep
    log(f"saturation: {per_node * len(nodes)} records prepared in {prepare_s:.1f} s")
    finished: list[float] = []
    failures = Failures()
    local = threading.local()
    start = time.perf_counter()

    def one(item) -> None:
        node, body = item
        if not hasattr(local, "s"):
            local.s = requests.Session()
        try:
            node.post(local.s, url, "/requests", body)
        except Exception as exc:  # noqa: BLE001 - a failed push is a result to report
            failures.add(node, per_node, exc, time.perf_counter() - start)
            local.s = requests.Session()
            return
        finished.append(time.perf_counter() - start)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, bodies))
    drain = time.perf_counter() - start
    per_second: dict[int, int] = {}
    for t in finished:
        per_second[int(t)] = per_second.get(int(t), 0) + per_node
    stored = per_node * len(finished)
    return {"records": stored, "drain_s": round(drain, 1), "mean_rps": round(stored / drain),
            "peak_rps": max(per_second.values()) if per_second else 0, "prepare_s": round(prepare_s, 1),
            **failures.report()}


BULK_SQL = """
    INSERT INTO nodes (id, secret, created_at, last_seen_at)
    SELECT 'desa-' || lpad(i::text, 4, '0'), 'x', %(now)s, %(now)s FROM generate_series(0, %(nodes)s - 1) i
    ON CONFLICT (id) DO NOTHING;
    CREATE TEMP TABLE bulk AS
    SELECT 'bulk-' || n || '-' || i AS id, 'desa-' || lpad(n::text, 4, '0') AS node_id, i AS node_seq,
           'B' || lpad(n::text, 4, '0') || lpad(i::text, 5, '0') AS tracking_code,
           (ARRAY['DOMISILI','SKTM','KTP','LAHIR','ADUAN'])[1 + (i %% 5)] AS service,
           (ARRAY['sms','ussd','web','kiosk'])[1 + (i %% 4)] AS channel,
           to_char(now() AT TIME ZONE 'UTC' - make_interval(days => (i * 7 + n) %% 360), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
               AS created_at,
           (ARRAY['1','2','4','8','12','24','48','72','120'])[1 + ((i * 13 + n) %% 9)] AS ready_h
    FROM generate_series(0, %(nodes)s - 1) n, generate_series(1, %(per)s) i;
    INSERT INTO request_keys (id, node_id, month, tracking_code) SELECT id, node_id, %(month)s, tracking_code FROM bulk;
    INSERT INTO requests (id, node_id, node_seq, tracking_code, service, channel, phone, locale, officer, fields,
                          status, created_at, received_at, updated_at, digest, ready_at)
    SELECT id, node_id, node_seq, tracking_code, service, channel, NULL, 'id', NULL, '{}', 'ready', created_at,
           %(now)s, %(now)s, md5(id), %(now)s FROM bulk;
    UPDATE nodes n SET requests = n.requests + c.n
    FROM (SELECT node_id, count(*) AS n FROM bulk GROUP BY node_id) c WHERE c.node_id = n.id;
    INSERT INTO tallies (node_id, month, service, channel, metric, key, n)
    SELECT who, substr(created_at, 1, 7), service, channel, metric, key, count(*)
    FROM bulk, LATERAL (VALUES (node_id), ('*')) w(who),
         LATERAL (VALUES ('requests', ''), ('ready_h', ready_h)) m(metric, key)
    GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (node_id, month, service, channel, metric, key) DO UPDATE SET n = tallies.n + excluded.n;
    DROP TABLE bulk;
"""


def dashboards(args: argparse.Namespace) -> dict:
    """1,000 nodes / 1,000,000 requests in PostgreSQL, a hot standby, page render times while the fleet pushes."""
    import psycopg

    from gateway import clock
    from sync.regional import pg_schema
    from sync.regional.web import hash_password

    root = Path(tempfile.mkdtemp(prefix="simpul-fleet-"))
    cluster = pg_support.Cluster().init()
    cluster._run("sh", "-c", f"echo 'fsync = on' >> '{cluster.data}/postgresql.auto.conf'")
    cluster.start()
    standby = None
    result: dict = {"nodes": args.nodes, "requests": args.nodes * args.per_node}
    try:
        url = cluster.create_database("regional")
        regional = Regional(root / "regional", database_url=url)
        regional.start()
        regional.stop()  # schema in place
        now = clock.utcnow()
        start = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            pg_schema.ensure_month(conn, now[:7])
            params = {"now": now, "nodes": args.nodes, "per": args.per_node, "month": now[:7]}
            with conn.transaction():
                for statement in filter(str.strip, BULK_SQL.split(";")):
                    conn.execute(statement, params if "%(" in statement else None)
            conn.execute("VACUUM ANALYZE")
            conn.execute("CHECKPOINT")
        result["load_s"] = round(time.perf_counter() - start, 1)
        log(f"loaded {result['requests']} requests in {result['load_s']} s; building the standby")
        start = time.perf_counter()
        standby = cluster.standby()
        result["standby_build_s"] = round(time.perf_counter() - start, 1)
        regional = Regional(root / "regional2", database_url=url,
                            extra=f'workers = {args.workers}\nread_database_url = "{standby.url("regional")}"\n')
        regional.start()
        from gateway.config.loader import load_config
        from sync.regional.engines import open_store

        store = open_store(load_config(regional.config))
        store.add_user("ani", hash_password("rahasia-kuat-1"))
        pool = RecordPool(random.Random(args.seed))
        nodes = [SimNode(f"desa-{i:04d}", store.add_node(f"desa-{i:04d}", rotate=True), random.Random(i), pool)
                 for i in range(args.nodes)]
        store.close()
        session = requests.Session()
        page = session.get(regional.url + "/login").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        session.post(regional.url + "/login", data={"username": "ani", "password": "rahasia-kuat-1",
                                                    "csrf_token": token})
        started, pushed = threading.Event(), {}
        fleet = threading.Thread(target=lambda: pushed.update(offered(
            regional.url, nodes, args.seconds, args.threads, random.Random(args.seed), started)), daemon=True)
        fleet.start()
        started.wait()
        time.sleep(min(10, args.seconds / 4))  # the fleet is pushing
        log("timing the pages")
        for path in ("/analytics", "/transparansi", "/nodes"):
            times = []
            for _ in range(10):
                t = time.perf_counter()
                resp = session.get(regional.url + path + "?lang=en", timeout=120)
                times.append(time.perf_counter() - t)
                assert resp.status_code == 200, (path, resp.status_code)
            result[path] = {"p50_ms": round(1000 * pct(times, .5)), "max_ms": round(1000 * max(times)),
                            "from_standby": "replica" not in resp.text and "Data as of" in resp.text}
        fleet.join()
        result["fleet_while_timed"] = pushed
        regional.stop()
        result["server_log"] = server_log(regional)
    finally:
        if standby is not None:
            standby.stop()
        cluster.cleanup()
    return result


def run(args: argparse.Namespace) -> dict:
    root = Path(tempfile.mkdtemp(prefix="simpul-fleet-"))
    cluster = None
    url = ""
    if args.engine == "postgresql":
        cluster = pg_support.Cluster().init()
        cluster._run("sh", "-c", f"echo 'fsync = on' >> '{cluster.data}/postgresql.auto.conf'")  # durable, as deployed
        cluster.start()
        url = cluster.create_database("regional")
    regional = Regional(root / "regional", database_url=url, extra=f"workers = {args.workers}\n")
    result: dict = {"engine": args.engine, "workers": args.workers, "nodes": args.nodes}
    try:
        regional.start()  # migrations done
        log(f"{args.engine}, {args.workers} worker(s): server up, registering {args.nodes} nodes")
        nodes = register(regional, args.nodes, args.seed)
        result["baseline"] = baseline(regional.url, nodes, args.threads)
        log(f"baseline {result['baseline']}")
        result["offered"] = offered(regional.url, nodes, args.seconds, args.threads, random.Random(args.seed))
        log(f"offered {result['offered']}")
        if args.saturate:
            result["saturation"] = saturate(regional.url, nodes, args.threads)
            log(f"saturation {result['saturation']}")
        result["stored"] = requests.get(regional.url + "/healthz", timeout=60).json()["requests"]
    finally:
        regional.stop()
        if cluster is not None:
            cluster.cleanup()
    result["server_log"] = server_log(regional)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--threads", type=int, default=64, help="client connections in flight at most")
    parser.add_argument("--saturate", action="store_true")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--dashboards", action="store_true", help="time the pages at nodes x per-node requests")
    parser.add_argument("--per-node", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(dashboards(args) if args.dashboards else run(args)), flush=True)


if __name__ == "__main__":
    main()
