"""The regional store on both engines: batch outcomes, later-month resends, partitions, settings, workers."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests

from gateway import clock
from gateway.config.loader import load_config
from gateway.errors import ConfigError
from gateway.intake.codes import generate
from sync.errors import RegionalError
from sync.protocol import wire
from tests.conftest import run_cli, write_config
from tests.syncenv import NodeBox, Regional, assert_exactly_once


def _request(i: int, code: str | None = None, name: str = "Siti") -> dict:
    return wire.decode_requests(wire.encode_requests([{
        "seq": i, "id": f"req-{i}", "tracking_code": code or generate(), "service": "DOMISILI", "channel": "sms",
        "phone": None, "locale": "id", "officer": None, "created_at": "2026-11-23T08:00:00Z",
        "fields": {"name": name}}]))[0]


def _at(monkeypatch, when: str) -> None:
    moment = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    monkeypatch.setattr(clock, "now", lambda: moment)


def test_one_batch_gives_the_same_outcomes_on_both_engines(regional_engine):
    store = regional_engine.store()
    try:
        store.add_node("desa-1")
        store.add_node("desa-2")
        shared, one = generate(), generate()
        first = store.push_requests("desa-1", 1, [_request(1, one), _request(2, shared), _request(3, shared)])
        assert first == {"new": 3, "same": 0, "conflicts": 0, "code_clashes": 1, "unopenable": 0}
        again = store.push_requests("desa-1", 2, [_request(1, one), _request(2, shared, name="Lain"), _request(4)])
        assert again == {"new": 1, "same": 1, "conflicts": 1, "code_clashes": 0, "unopenable": 0}
        other = store.push_requests("desa-2", 1, [_request(1, one)])  # another node sends a known UUID
        assert other["conflicts"] == 1 and other["new"] == 0
        with pytest.raises(Exception) as replay:
            store.push_requests("desa-1", 2, [_request(5)])
        assert type(replay.value).__name__ == "ReplayError"
        assert store.stats()["requests"] == 4
        assert sorted(c["kind"] for c in store.conflicts()) == ["content", "content", "tracking_code"]
        assert [e["status"] for e in store.history("req-4")] == ["received"]
        assert sorted(r["id"] for r in store.by_code(shared)) == ["req-2", "req-3"]
    finally:
        store.close()


def test_a_resend_in_a_later_month_is_the_same_request(regional_engine, monkeypatch):
    store = regional_engine.store()
    try:
        store.add_node("desa-1")
        _at(monkeypatch, "2026-11-30T23:59:00Z")
        code = generate()
        assert store.push_requests("desa-1", 1, [_request(1, code)])["new"] == 1
        store.set_status("req-1", "in_progress", actor="ani")
        _at(monkeypatch, "2026-12-01T00:01:00Z")  # the ack was lost; the node resends next month
        assert store.push_requests("desa-1", 2, [_request(1, code)])["same"] == 1
        assert store.push_requests("desa-1", 3, [_request(1, code, name="Lain")])["conflicts"] == 1
        store.set_status("req-1", "ready", actor="ani")
        assert store.stats()["requests"] == 1
        row = store.get_request("req-1")
        assert (row["received_at"], row["status"]) == ("2026-11-30T23:59:00Z", "ready")
        assert [e["status"] for e in store.history("req-1")] == ["received", "in_progress", "ready"]
        if regional_engine.name == "postgresql":
            db = store.read()
            parts = {r[0] for r in db.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events'").fetchall()}
            assert parts == {"events_2026_11", "events_2026_12"}
            assert db.execute("SELECT count(*) FROM requests_2026_11").fetchone()[0] == 1
            assert db.execute("SELECT month FROM request_keys").fetchall() == [("2026-11",)]
    finally:
        store.close()


def test_postgres_migrations_are_versioned_and_applied_once(pg_cluster):
    from sync.regional import pg_schema
    from sync.regional.pg_store import connect

    url = pg_cluster.create_database(f"mig_{os.getpid()}")
    conn = connect(url)
    try:
        assert pg_schema.apply(conn) == [name for name, _ in pg_schema.MIGRATIONS]
        assert pg_schema.apply(conn) == []
        names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name").fetchall()]
        assert names == [name for name, _ in pg_schema.MIGRATIONS]
        with pytest.raises(ValueError):
            pg_schema.ensure_month(conn, "2026-13'; DROP TABLE nodes; --")
    finally:
        conn.close()
    assert pg_schema.next_month("2026-12") == "2027-01" and pg_schema.next_month("2026-01") == "2026-02"


def test_password_never_in_the_url_and_taken_from_the_environment(pg_cluster, monkeypatch, tmp_path):
    from sync.regional.engines import open_store

    pg_cluster.sql(f"CREATE DATABASE pw_{os.getpid()}")
    pg_cluster.sql("DO $$BEGIN CREATE ROLE simpul_pw LOGIN PASSWORD 'geheim-99'; "
                   "EXCEPTION WHEN duplicate_object THEN NULL; END$$")
    pg_cluster.sql(f"ALTER DATABASE pw_{os.getpid()} OWNER TO simpul_pw")
    base = f"postgresql://simpul_pw@127.0.0.1:{pg_cluster.port}/pw_{os.getpid()}"

    def config(url: str):
        return load_config(overrides={"regional": {"db": str(tmp_path / "r.db"), "database_url": url}})

    with pytest.raises(ConfigError, match="password"):
        open_store(config(base.replace("simpul_pw@", "simpul_pw:geheim-99@")))
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(RegionalError, match="cannot connect"):
        open_store(config(base))
    monkeypatch.setenv("SIMPUL_REGIONAL_DATABASE_PASSWORD", "geheim-99")
    store = open_store(config(base))
    try:
        store.add_node("desa-1")
        assert store.node("desa-1")["last_counter"] == 0
    finally:
        store.close()
    with pytest.raises(ConfigError):
        open_store(config("mysql://x@y/z"))


def test_several_workers_need_postgresql(tmp_path):
    server = Regional(tmp_path / "r", extra="workers = 2\n")
    out = server.cli("regional", "serve")
    assert out.returncode == 2
    assert "PostgreSQL" in out.stderr and "workers" in out.stderr


def test_two_workers_on_one_port_share_everything_through_postgres(tmp_path, pg_cluster):
    url = pg_cluster.create_database(f"workers_{os.getpid()}")
    server = Regional(tmp_path / "regional", database_url=url, extra="workers = 2\n").start()
    try:
        children_file = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children")
        deadline = time.monotonic() + 15  # the port answers once the first worker is up; the second may still fork
        while len(children_file.read_text().split()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(children_file.read_text().split()) == 2  # the gunicorn master and its two workers
        boxes = []
        for i in range(3):
            box = NodeBox(tmp_path / f"n{i}", f"desa-{i}", server.url, server.add_node(f"desa-{i}"))
            box.submit_many(40, seed=i)
            boxes.append(box)
        procs = [b.sync_process() for b in boxes]
        for p in procs:
            assert p.wait(120) == 0, p.stderr.read().decode()
        assert_exactly_once(server, *boxes)
        # Any worker answers for any node: counters are in the database.
        for _ in range(6):
            assert requests.get(server.url + "/healthz", timeout=5).json()["requests"] == 120
    finally:
        server.stop()
    deadline = time.monotonic() + 10
    while server.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.proc.returncode is not None
    assert subprocess.run(["true"]).returncode == 0


def test_a_node_name_with_control_characters_is_refused(regional_engine):
    store = regional_engine.store()
    try:
        for bad in ("Desa\x1b[31mMerah", "Desa\nBaru", " ", "x" * 81):
            with pytest.raises(RegionalError, match="node name"):
                store.add_node("desa-1", name=bad)
            with pytest.raises(RegionalError, match="node name"):
                store.add_enrolment("desa-1", bad, "hash", "2099-01-01T00:00:00Z")
        assert store.node("desa-1") is None  # nothing was written
        store.add_node("desa-1", name="Desa Sukamaju — Kec. Cibadak")
        assert [n["name"] for n in store.nodes()] == ["Desa Sukamaju — Kec. Cibadak"]
    finally:
        store.close()


def test_add_node_with_a_control_character_in_the_name_exits_2(tmp_path):
    cfg = write_config(tmp_path / "config.toml", f'[regional]\ndb = "{tmp_path / "regional.db"}"\n')
    result = run_cli("--config", str(cfg), "regional", "add-node", "desa-2", "--name", "Desa\x07", cwd=tmp_path)
    assert result.returncode == 2 and "node name" in result.stderr and "Traceback" not in result.stderr
    assert run_cli("--config", str(cfg), "regional", "nodes", "--json", cwd=tmp_path).stdout.strip() == "[]"


def test_node_secrets_are_sealed_at_rest_and_clear_ones_get_sealed(regional_engine, tmp_path):
    from sync.regional import secretbox
    from sync.regional.sealkeys import load_keys

    config = regional_engine.config(tmp_path)
    keys = load_keys(config)  # the key file beside regional.db, made 0600 on first use
    store = regional_engine.store(tmp_path, keys)
    try:
        secret = store.add_node("desa-1")
        stored = store.read().execute("SELECT secret FROM nodes WHERE id = 'desa-1'").fetchone()[0]
        assert secretbox.is_sealed(stored) and secret not in stored
        assert store.node("desa-1")["secret"] == secret
        store.write(lambda db: db.execute(  # a clear secret from before sealing at rest
            "INSERT INTO nodes (id, secret, created_at) VALUES ('desa-old', 'clear-secret-1', '2026-01-01T00:00:00Z')"))
        store.write(lambda db: db.execute("INSERT INTO nodes (id, secret, created_at) VALUES (?, ?, ?)",
                                          ["desa-copy", stored, "2026-01-01T00:00:00Z"]))
    finally:
        store.close()
    store = regional_engine.store(tmp_path, keys)  # the next opening with the keys seals it
    try:
        rows = dict(store.read().execute("SELECT id, secret FROM nodes").fetchall())
        assert all(secretbox.is_sealed(v) for v in rows.values()) and "clear-secret-1" not in rows["desa-old"]
        assert store.node("desa-old")["secret"] == "clear-secret-1"
        with pytest.raises(secretbox.SecretUnopenable, match="another node"):
            store.node("desa-copy")  # desa-1's sealed secret copied onto another row does not open
        assert store.seal_node_secrets() == 0
    finally:
        store.close()
    keyless = regional_engine.store(tmp_path)
    try:
        with pytest.raises(secretbox.SecretUnopenable, match="sealing key"):
            keyless.node("desa-1")
    finally:
        keyless.close()
