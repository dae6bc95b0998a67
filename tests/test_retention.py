import datetime as dt
import json

from channels.web import feedback
from gateway.cases import records as cases
from gateway.intake.pipeline import Submission
from gateway.privacy import retention
from tests.conftest import NIK, opened_fields


def _closed_synced(node, values, service="SKTM", days_ago=0):
    receipt = node.pipeline.submit(Submission("sms", service, values, sender="081234567890"))
    rid = receipt.request["id"]
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    node.store.write(lambda db: cases.change_status(db, rid, "ready", actor="ani", at=at))  # the table: ready first
    node.store.write(lambda db: cases.change_status(db, rid, "closed", actor="ani", note="diambil Siti", at=at))
    node.store.write(lambda db: db.execute("UPDATE requests SET synced = 1 WHERE id = ?", [rid]))
    return rid


def test_purges_only_closed_synced_and_old_enough(node):
    values = {"nik": NIK, "name": "Siti Aminah", "purpose": "sekolah anak"}
    old = _closed_synced(node, values, days_ago=31)
    recent = _closed_synced(node, values, days_ago=5)
    unsynced = _closed_synced(node, values, days_ago=40)
    node.store.write(lambda db: db.execute("UPDATE requests SET synced = 0 WHERE id = ?", [unsynced]))
    open_one = node.pipeline.submit(Submission("sms", "SKTM", values)).request["id"]

    purged = node.store.write(lambda db: retention.purge(db, node.catalog, 30))
    assert purged == 1
    db = node.store.read()
    row = cases.get(db, old)
    assert row["fields"] == {} and row["phone"] is None and row["purged_at"]  # purpose: free text, personal
    assert row["sealed"] is None and row["sealed_regional"] is None
    assert row["status"] == "closed" and row["tracking_code"]
    assert all(e["note"] is None for e in cases.history(db, old))
    for kept in (recent, unsynced, open_one):
        assert opened_fields(node, cases.get(db, kept))["nik"] == NIK
    assert node.store.write(lambda db: retention.purge(db, node.catalog, 30)) == 0
    dump = json.dumps([dict(r) for r in db.query("SELECT * FROM requests WHERE id = ?", [old])])
    assert NIK not in dump and "Siti" not in dump


def test_channel_copies_are_purged_too(node):
    from gateway.outbox.queue import enqueue

    rid = _closed_synced(node, {"nik": NIK, "name": "Siti Aminah", "purpose": "sekolah"}, days_ago=40)

    def copies(db):
        enqueue(db, to="+6281234567890", body="Permohonan SKTM siap, Siti Aminah", key="k1", request_id=rid)
        db.execute("UPDATE outbound SET status = 'delivered'")
        enqueue(db, to="+6281234567890", body="masih antre", key="k2", request_id=rid)
        db.execute("INSERT INTO sms_inbound (message_id, provider, phone, kind, request_id, reply, replied, received_at)"
                   " VALUES ('SM1', 'twilio', '+6281234567890', 'submit', ?, 'Diterima Siti', 1, 'x')", [rid])
        db.execute("INSERT INTO feedback (request_id, rating, comment, comment_sealed, locale, created_at) "
                   "VALUES (?, 5, '', ?, 'id', 'x')", [rid, sealed])

    sealed = feedback.seal_comment(node.vault, rid, "Terima kasih, saya Siti")
    node.store.write(copies)
    assert node.store.write(lambda db: retention.purge(db, node.catalog, 30)) == 1
    db = node.store.read()
    rows = db.execute('SELECT "to", body, status FROM outbound ORDER BY id').fetchall()
    assert rows == [("", "", "delivered"), ("", "", "failed")]  # a stale queued one is not sent any more
    assert db.execute("SELECT phone, reply FROM sms_inbound").fetchone() == ("", None)
    assert db.execute("SELECT rating, comment, comment_sealed FROM feedback").fetchone() == (5, "", None)
