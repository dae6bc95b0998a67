import sqlite3
import threading

import pytest

from gateway.cases import records as cases
from gateway.intake import codes
from gateway.intake.pipeline import Submission
from tests.conftest import NIK, opened_fields

GOOD = {"nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan RT 02/03"}


def _count(node, table="requests"):
    return node.store.read().execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_submit_stores_request_event_and_normalized_values(node):
    receipt = node.pipeline.submit(Submission("sms", "skd", GOOD, sender="081234567890", channel_message_id="SM1"))
    assert receipt.ok and not receipt.duplicate
    assert codes.normalize(receipt.tracking_code) == receipt.tracking_code
    row = cases.get_by_code(node.store.read(), receipt.tracking_code.lower())
    assert row["service"] == "DOMISILI" and row["phone"] == "+6281234567890"
    assert row["status"] == "received" and row["synced"] is False
    # Every value of this service is personal: none is stored in clear.
    assert row["fields"] == {} and row["sealed"] and row["sealed_regional"] is None
    assert opened_fields(node, row) == GOOD
    raw = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values())
    assert NIK.encode() not in raw and b"Siti" not in raw
    history = cases.history(node.store.read(), row["id"])
    assert [(e["status"], e["actor"]) for e in history] == [("received", "sms")]


def test_invalid_submission_stores_nothing_and_names_fields(node):
    receipt = node.pipeline.submit(Submission("cli", "DOMISILI", {"nik": "123", "name": ""}, sender="12"))
    assert not receipt.ok
    assert receipt.render_problems("en") == [
        "phone: not a valid phone number", "nik: must be 16 digits", "name: required", "address: required"]
    assert receipt.render_problems("id")[1] == "nik: harus 16 digit"
    unknown = node.pipeline.submit(Submission("cli", "PASPOR", {}))
    assert unknown.render_problems("en") == ["service: unknown service"]
    assert _count(node) == 0 and _count(node, "status_events") == 0


def test_duplicate_message_id_returns_first_result(node):
    first = node.pipeline.submit(Submission("sms", "DOMISILI", GOOD, channel_message_id="SMx"))
    again = node.pipeline.submit(Submission("sms", "DOMISILI", dict(GOOD, name="Other"), channel_message_id="SMx"))
    assert again.duplicate and again.tracking_code == first.tracking_code
    assert opened_fields(node, again.request)["name"] == "Siti Aminah"
    other_channel = node.pipeline.submit(Submission("ussd", "DOMISILI", GOOD, channel_message_id="SMx"))
    assert not other_channel.duplicate
    assert _count(node) == 2 and _count(node, "status_events") == 2


@pytest.mark.parametrize("copies", [2, 6, 24])
def test_concurrent_duplicate_deliveries_store_one(node, copies):
    barrier = threading.Barrier(copies)
    results = []

    def deliver():
        barrier.wait()
        results.append(node.pipeline.submit(Submission("sms", "DOMISILI", GOOD, channel_message_id="SMrace")))

    threads = [threading.Thread(target=deliver) for _ in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.tracking_code for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    assert _count(node) == 1


def test_concurrent_duplicates_from_two_processes_worth_of_connections(node, config):
    """A second Node on the same file (as a CLI process would be) cannot double-insert."""
    from gateway.node import Node

    other = Node(config)
    try:
        a = node.pipeline.submit(Submission("sms", "DOMISILI", GOOD, channel_message_id="SMp"))
        b = other.pipeline.submit(Submission("sms", "DOMISILI", GOOD, channel_message_id="SMp"))
        assert b.duplicate and a.tracking_code == b.tracking_code
    finally:
        other.close()


def test_group_commit_batches_concurrent_writers(node):
    n = 200
    threads = [threading.Thread(target=node.pipeline.submit, args=(Submission("web", "ADUAN", {"message": f"m{i}"}),))
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _count(node) == n
    seqs = [r[0] for r in node.store.read().execute("SELECT seq FROM requests ORDER BY seq")]
    assert seqs == list(range(1, n + 1))
    assert node.store.writer.commits < n  # some submissions shared a commit


def test_tracking_code_clash_is_detected_recorded_and_redrawn(node):
    first = node.pipeline.submit(Submission("cli", "ADUAN", {"message": "a"}))
    draws = iter([first.tracking_code, first.tracking_code, codes.generate()])
    node.pipeline.code_source = lambda: next(draws)
    second = node.pipeline.submit(Submission("cli", "ADUAN", {"message": "b"}))
    assert second.ok and second.tracking_code != first.tracking_code
    clashes = list(node.store.read().query("SELECT code FROM code_clashes"))
    assert clashes == [{"code": first.tracking_code}] * 2


def test_failing_on_commit_hook_rolls_back_only_its_request(node):
    def boom(db, row):
        raise RuntimeError("outbound queue broken")

    with pytest.raises(RuntimeError):
        node.pipeline.submit(Submission("ussd", "ADUAN", {"message": "x"}), on_commit=boom)
    ok = node.pipeline.submit(Submission("ussd", "ADUAN", {"message": "y"}))
    assert ok.ok and _count(node) == 1


def test_on_commit_runs_in_same_transaction(node):
    seen = []
    node.pipeline.submit(Submission("ussd", "ADUAN", {"message": "x"}),
                         on_commit=lambda db, row: seen.append(db.execute("SELECT count(*) FROM requests").fetchone()[0]))
    assert seen == [1]


def test_citizen_language_is_remembered(node):
    node.store.write(lambda db: db.execute("INSERT INTO contacts VALUES ('+6281234567890', 'en', 'x')"))
    receipt = node.pipeline.submit(Submission("sms", "ADUAN", {"message": "x"}, sender="0812-3456-7890"))
    assert receipt.locale == "en" and receipt.request["locale"] == "en"


def test_status_lifecycle_forward_only_with_events(node):
    receipt = node.pipeline.submit(Submission("kiosk", "SKTM", {"nik": NIK, "name": "B", "purpose": "sekolah"}, officer="ani"))
    rid = receipt.request["id"]
    node.store.write(lambda db: cases.change_status(db, rid, "ready", actor="ani"))
    from gateway.errors import StatusError

    with pytest.raises(StatusError):
        node.store.write(lambda db: cases.change_status(db, rid, "in_progress", actor="ani"))
    node.store.write(lambda db: cases.change_status(db, rid, "ready", actor="ani", note="call the citizen"))
    event = node.store.write(lambda db: cases.change_status(db, rid, "closed", actor="ani", event_id="e-1"))
    assert node.store.write(lambda db: cases.change_status(db, rid, "closed", actor="ani", event_id="e-1")) is None
    assert event["id"] == "e-1"
    history = cases.history(node.store.read(), rid)
    assert [e["status"] for e in history] == ["received", "ready", "ready", "closed"]
    assert history[0]["actor"] == "ani"


def test_durability_pragmas(node):
    db = node.store.read()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_migrations_on_existing_database(tmp_path):
    """A database from before later migrations is upgraded in place, data kept."""
    from gateway.storage import migrations as core
    from gateway.storage.schema import migrate, pending
    from gateway.storage.store import connect

    path = tmp_path / "old.db"
    db = connect(path)
    core.migrations.apply(db, stop_before="m003_node_state")
    db.execute("INSERT INTO requests (id, tracking_code, service, channel, locale, fields, status, created_at, updated_at)"
               " VALUES ('u1', 'C', 'ADUAN', 'sms', 'id', '{}', 'received', 't', 't')")
    assert "simpul.gateway:m003_node_state" in pending(db)
    migrate(db)
    assert pending(db) == []
    assert db.execute("SELECT id FROM requests").fetchall() == [("u1",)]
    assert db["kv"].exists() and db["contacts"].exists()
    migrate(db)  # idempotent
    db.conn.close()


def test_commit_failure_is_reported_not_swallowed(node):
    """If the commit cannot happen (disk full, read-only), the caller hears it."""
    node.pipeline.submit(Submission("cli", "ADUAN", {"message": "first"}))
    node.store.write(lambda db: db.execute("PRAGMA max_page_count = 1"))  # nothing more fits

    with pytest.raises(sqlite3.Error):
        for i in range(200):
            node.pipeline.submit(Submission("cli", "ADUAN", {"message": "x" * 400 + str(i)}))


def test_wal_size_is_limited(node):
    assert node.store.read().execute("PRAGMA journal_size_limit").fetchone()[0] == 16 * 1024 * 1024
