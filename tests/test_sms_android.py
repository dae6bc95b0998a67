"""The Android gateway phone (SMS Gateway for Android, Local Server mode) against a loopback stand-in."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from channels.sms import providers, sender
from channels.sms.providers import android
from gateway import clock
from gateway.app import create_app
from gateway.cases import records as cases
from gateway.config.loader import load_config
from gateway.node import Node
from gateway.outbox import delivery
from gateway.outbox import queue as outbound
from tests.conftest import opened_fields
from tests.provider_standins import AndroidPhone, NodeServer
from tests.sms_helpers import NIK, PHONE

SECRET = "android-webhook-secret"


@pytest.fixture
def phone():
    p = AndroidPhone()
    yield p
    p.close()


@pytest.fixture
def android_node(tmp_path, phone, monkeypatch):
    monkeypatch.setenv("SIMPUL_ANDROID_PASSWORD", phone.password)
    monkeypatch.setenv("SIMPUL_ANDROID_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("SIMPUL_ANDROID_SIGNING_KEY", phone.signing_key)
    config = load_config(overrides={
        "storage": {"path": str(tmp_path / "a.db")}, "jobs": {"enabled": False},
        "sms": {"provider": "android", "android": {"url": phone.url, "username": phone.username}}})
    node = Node(config)
    yield node
    node.close()


@pytest.fixture
def served(android_node):
    server = NodeServer(create_app(config=android_node.config, node=android_node))
    yield server
    server.close()


def hook(served, secret=SECRET):
    return f"{served.url}/channels/sms/android?secret={secret}"


def stored(node):
    db = node.store.read()
    return (db.execute("SELECT count(*) FROM requests").fetchone()[0],
            db.execute("SELECT count(*) FROM sms_inbound").fetchone()[0],
            db.execute("SELECT count(*) FROM outbound").fetchone()[0])


def test_webhook_refused_without_its_secret_and_nothing_stored(tmp_path, phone, monkeypatch):
    # No SIMPUL_ANDROID_WEBHOOK_SECRET at all: every request is refused, as Twilio without its token.
    config = load_config(overrides={"storage": {"path": str(tmp_path / "n.db")}, "jobs": {"enabled": False}})
    node = Node(config)
    server = NodeServer(create_app(config=config, node=node))
    try:
        for url in (f"{server.url}/channels/sms/android", f"{server.url}/channels/sms/android?secret="):
            assert phone.received(url, PHONE, f"SKTM#{NIK}#Budi#sekolah").status_code == 403
        assert stored(node) == (0, 0, 0)
    finally:
        server.close()
        node.close()


def test_webhook_refused_with_wrong_secret_or_signature(android_node, served, phone):
    text = f"SKTM#{NIK}#Budi#sekolah"
    assert phone.received(hook(served, "wrong"), PHONE, text).status_code == 403
    assert phone.received(f"{served.url}/channels/sms/android", PHONE, text).status_code == 403
    assert phone.received(hook(served), PHONE, text, sign=False).status_code == 403
    stale = int(time.time()) - 600  # a replayed capture: outside the documented 5 minutes
    assert phone.received(hook(served), PHONE, text, timestamp=stale).status_code == 403
    phone.signing_key = "someone-else"
    assert phone.received(hook(served), PHONE, text).status_code == 403
    assert stored(android_node) == (0, 0, 0)


def test_signature_is_the_documented_hmac():
    import hashlib
    import hmac

    body, stamp = b'{"event":"system:ping"}', "1733050000"
    good = hmac.new(b"k", body + stamp.encode(), hashlib.sha256).hexdigest()
    assert android.signature_ok("k", body, stamp, good, now=1733050000 + 299)
    assert not android.signature_ok("k", body, stamp, good, now=1733050000 + 301)
    assert not android.signature_ok("k", body + b" ", stamp, good, now=1733050000)
    assert not android.signature_ok("k", body, "not-a-number", good)


def test_inbound_submission_is_stored_once_and_answered_through_the_phone(android_node, served, phone):
    text = f"SKTM#{NIK}#Budi Santoso#sekolah anak"
    first = phone.received(hook(served), "081234567890", text)
    assert first.status_code == 200 and first.json() == {"kind": "submit", "duplicate": False}
    again = phone.received(hook(served), "081234567890", text)  # the app retries until it sees a 2xx
    assert again.json()["duplicate"] is True
    [row] = cases.list_requests(android_node.store.read())
    assert row["phone"] == PHONE and row["channel"] == "sms"
    [reply] = outbound.list_outbound(android_node.store.read())
    assert reply["to"] == PHONE and row["tracking_code"] in reply["body"]
    # The queued reply leaves through the phone's REST API.
    report = sender.send_due(android_node)
    assert report.sent == 1
    [(to, body)] = phone.sent_texts()
    assert (to, body) == (PHONE, reply["body"])
    assert all(r["auth_ok"] for r in phone.requests)


def test_same_text_at_another_time_is_another_message(android_node, served, phone):
    phone.received(hook(served), PHONE, "HELP", received_at="2026-12-01T08:00:00.000+07:00")
    phone.received(hook(served), PHONE, "HELP", received_at="2026-12-01T08:05:00.000+07:00")
    assert stored(android_node)[1] == 2


def test_long_and_non_latin_text_and_every_number_form_reach_one_citizen(android_node, served, phone):
    # > 70 UCS-2 characters: a multipart SMS on the air, joined by Android before the app sees it;
    # Javanese script and more: UCS-2.
    text = "jalan rusak dekat masjid ꦱꦶꦠꦶ Ṣaliḥah 王, " * 6
    r = phone.received(hook(served), "6281234567890", f"ADUAN#{text}")
    assert r.json()["kind"] == "submit"
    [row] = cases.list_requests(android_node.store.read())
    assert opened_fields(android_node, row)["message"] == " ".join(text.split())
    # 0812…, 62812… and +62812… are one citizen: STATUS from another form finds the request.
    for form in ("081234567890", "+6281234567890"):
        phone.received(hook(served), form, f"STATUS {row['tracking_code']}", received_at=form)
    bodies = [r["body"] for r in outbound.list_outbound(android_node.store.read()) if r["kind"] == "reply"]
    assert sum(row["tracking_code"] in b for b in bodies) == 3
    assert all("tidak ditemukan" not in b for b in bodies)


def test_delivery_webhooks_update_the_outbox_and_blank_delivered_text(android_node, served, phone):
    android_node.store.write(lambda db: outbound.enqueue(db, to=PHONE, body="satu", key="k1"))
    android_node.store.write(lambda db: outbound.enqueue(db, to=PHONE, body="dua", key="k2"))
    assert sender.send_due(android_node).sent == 2
    first, second = sorted(outbound.list_outbound(android_node.store.read()), key=lambda r: r["id"])
    assert first["provider_id"] == f"simpul-{first['id']}" and first["status"] == "sent"
    assert first["body"] == "satu"  # the phone reports delivery: kept until it does
    ok = phone.webhook(hook(served), "sms:delivered", {"messageId": first["provider_id"], "phoneNumber": PHONE,
                                                         "simNumber": None, "deliveredAt": "2026-12-01T14:00:00+07:00"})
    assert ok.status_code == 204
    phone.webhook(hook(served), "sms:failed", {"messageId": second["provider_id"], "phoneNumber": PHONE,
                                               "failedAt": "2026-12-01T14:00:00+07:00",
                                               "reason": "RESULT_ERROR_GENERIC_FAILURE"})
    # A late sms:sent never undoes "delivered".
    phone.webhook(hook(served), "sms:sent", {"messageId": first["provider_id"], "phoneNumber": PHONE,
                                             "sentAt": "2026-12-01T13:59:00+07:00"})
    first, second = sorted(outbound.list_outbound(android_node.store.read()), key=lambda r: r["id"])
    assert (first["status"], first["body"]) == ("delivered", "")
    assert (second["status"], second["error_code"], second["body"]) == (
        "failed", "RESULT_ERROR_GENERIC_FAILURE", "dua")  # kept for `simpul sms requeue`


def test_ping_marks_the_phone_alive_and_silence_shows(android_node, served, phone):
    assert android.silent(android_node.store.read()) is False  # never seen: not configured yet
    assert phone.webhook(hook(served), "system:ping", {"health": {"status": "pass"}}).status_code == 204
    db = android_node.store.read()
    assert android.last_seen(db) is not None and not android.silent(db)
    assert android.silent(db, now=clock.now() + dt.timedelta(minutes=16))


def test_bad_bodies_are_400_not_500(android_node, served, phone):
    import requests

    url = hook(served)
    for body in (b"not json", b"[]", b'{"event": "sms:received"}', b'{"event": "sms:received", "payload": {}}',
                 b'{"event": "sms:delivered", "payload": {"messageId": 5}}'):
        stamp = str(int(time.time()))
        import hashlib
        import hmac
        sig = hmac.new(phone.signing_key.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
        r = requests.post(url, data=body, headers={"X-Timestamp": stamp, "X-Signature": sig}, timeout=10)
        assert r.status_code == 400, body
    assert stored(android_node) == (0, 0, 0)


def test_outbound_errors_follow_the_queue_rules(android_node, phone, monkeypatch):
    android_node.store.write(lambda db: outbound.enqueue(db, to=PHONE, body="x", key="k"))
    phone.mode = "500"
    report = sender.send_due(android_node)
    assert report.retried == 1 and outbound.list_outbound(android_node.store.read())[0]["status"] == "queued"
    phone.close()  # the phone is off the LAN: offline, the attempt is given back
    android_node.store.write(lambda db: db.execute("UPDATE outbound SET next_attempt_at = ''"))
    report = sender.send_due(android_node)
    [row] = outbound.list_outbound(android_node.store.read())
    assert report.retried == 1 and row["status"] == "queued" and row["attempts"] == 1


def test_wrong_password_waits_instead_of_failing_the_message(android_node, phone, monkeypatch):
    monkeypatch.setenv("SIMPUL_ANDROID_PASSWORD", "wrong")
    android_node.store.write(lambda db: outbound.enqueue(db, to=PHONE, body="x", key="k"))
    report = sender.send_due(android_node, providers.build(android_node.config))
    assert report.retried == 1 and "refused" in report.errors[0]


def test_crashed_sender_asks_the_phone_before_resending(android_node, phone):
    for key in ("a", "b"):
        android_node.store.write(lambda db, k=key: outbound.enqueue(db, to=PHONE, body=k, key=k))
    provider = providers.build(android_node.config)
    rows = [android_node.store.write(lambda db: delivery.claim_next(db, "android", 10)) for _ in range(2)]
    provider.send(rows[0]["id"], PHONE, "a")  # handed over, then the sender died before the ack
    old = clock.to_iso(clock.now() - dt.timedelta(minutes=5))
    android_node.store.write(lambda db: db.execute("UPDATE outbound SET last_attempt_at = ?", [old]))
    assert sender.recover_stale(android_node, provider) == 2
    by_body = {r["body"]: r for r in outbound.list_outbound(android_node.store.read())}
    assert by_body["a"]["status"] == "sent"
    assert by_body["b"]["status"] == "queued"  # the phone never got it: safe to send
    android_node.store.write(lambda db: db.execute("UPDATE outbound SET next_attempt_at = '', last_attempt_at = ''"))
    sender.send_due(android_node)
    assert sorted(t for _, t in phone.sent_texts()) == ["a", "b"]  # each exactly once


def test_missing_settings_are_named(tmp_path, monkeypatch):
    from channels.sms.errors import SmsError

    config = load_config(overrides={"storage": {"path": str(tmp_path / "x.db")}, "sms": {"provider": "android"}})
    with pytest.raises(SmsError, match="SIMPUL_ANDROID_PASSWORD"):
        providers.build(config)
    monkeypatch.setenv("SIMPUL_ANDROID_PASSWORD", "p")
    with pytest.raises(SmsError, match="sms.android.url"):
        providers.build(config)
