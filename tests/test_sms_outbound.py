"""Outbound SMS: the real twilio.rest.Client against a local stand-in, retries, pacing, crash recovery."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import socket
import time

import pytest

from channels.sms import sender
from gateway import clock
from gateway.app import create_app
from gateway.config.loader import load_config
from gateway.node import Node
from gateway.outbox import delivery
from gateway.outbox import queue as outbound
from tests.conftest import run_cli, write_config
from tests.sms_helpers import PHONE, STATUS_URL, TOKEN, sign
from tests.twilio_standin import TwilioStandIn

ACCOUNT = "AC" + "1" * 32
FROM = "+15005550006"


@pytest.fixture
def standin():
    s = TwilioStandIn()
    yield s
    s.close()


@pytest.fixture
def twilio_node(tmp_path, standin, monkeypatch):
    monkeypatch.setenv("SIMPUL_TWILIO_AUTH_TOKEN", TOKEN)
    config = load_config(overrides={
        "storage": {"path": str(tmp_path / "o.db")}, "jobs": {"enabled": False},
        "sms": {"provider": "twilio", "max_attempts": 3,
                "twilio": {"account_sid": ACCOUNT, "from_number": FROM, "api_base_url": standin.url}}})
    node = Node(config)
    yield node
    node.close()


def queue(node, n=1, prefix="n"):
    for i in range(n):
        node.store.write(lambda db, i=i: outbound.enqueue(db, to=PHONE, body=f"Permohonan siap {i}",
                                                          key=f"{prefix}:{i}"))


def rows(node):
    return {r["key"]: r for r in outbound.list_outbound(node.store.read())}


def test_no_provider_means_messages_stay_queued(node, standin):
    queue(node, 2)
    report = sender.send_due(node)
    assert report.sent == 0 and not standin.requests
    assert {r["status"] for r in rows(node).values()} == {"queued"}


def test_twilio_send_posts_to_from_body_once(twilio_node, standin):
    queue(twilio_node, 2)
    assert sender.send_due(twilio_node).sent == 2
    assert [(f["To"], f["From"], f["Body"]) for f in standin.forms] == [
        (PHONE, FROM, "Permohonan siap 0"), (PHONE, FROM, "Permohonan siap 1")]
    assert standin.requests[0]["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert standin.requests[0]["auth"] == f"{ACCOUNT}:{TOKEN}"
    assert "StatusCallback" not in standin.forms[0]  # no public URL configured
    sent = rows(twilio_node)
    assert {r["status"] for r in sent.values()} == {"sent"}
    assert all(r["provider"] == "twilio" and r["provider_id"].startswith("SM") for r in sent.values())
    assert sender.send_due(twilio_node).sent == 0
    assert len(standin.requests) == 2  # never the same notification twice


def test_status_callback_updates_delivery_state(twilio_node, standin):
    twilio_node.config["node.public_url"] = "https://desa.example.id"
    queue(twilio_node, 2)
    sender.send_due(twilio_node)
    assert standin.forms[0]["StatusCallback"].startswith("https://desa.example.id/channels/sms/twilio/status?outbound=")
    twilio_node.config["node.public_url"] = ""
    app = create_app(config=twilio_node.config, node=twilio_node)
    client = app.test_client()
    first, second = rows(twilio_node)["n:0"], rows(twilio_node)["n:1"]

    def callback(form):
        return client.post("/channels/sms/twilio/status", data=form,
                           headers={"X-Twilio-Signature": sign(STATUS_URL, form)})

    assert callback({"MessageSid": first["provider_id"], "MessageStatus": "delivered"}).status_code == 204
    assert callback({"MessageSid": first["provider_id"], "MessageStatus": "sent"}).status_code == 204
    assert callback({"MessageSid": second["provider_id"], "MessageStatus": "undelivered",
                     "ErrorCode": "30003"}).status_code == 204
    bad = {"MessageSid": second["provider_id"], "MessageStatus": "delivered"}
    assert client.post("/channels/sms/twilio/status", data=bad,
                       headers={"X-Twilio-Signature": "AAAA"}).status_code == 403
    now = rows(twilio_node)
    assert (now["n:0"]["status"], now["n:0"]["provider_status"]) == ("delivered", "sent")
    assert (now["n:1"]["status"], now["n:1"]["error_code"]) == ("undelivered", "30003")


def test_transient_errors_retry_with_backoff_then_fail(twilio_node, standin):
    standin.mode = "500"
    queue(twilio_node)
    before = clock.now()
    report = sender.send_due(twilio_node)
    assert report.retried == 1 and report.sent == 0
    row = rows(twilio_node)["n:0"]
    assert row["status"] == "queued" and row["attempts"] == 1 and "500" in row["last_error"]
    wait = (clock.parse(row["next_attempt_at"]) - before).total_seconds()
    assert 14 <= wait <= 46  # 30 s base, jitter 0.5..1.5
    assert sender.send_due(twilio_node).retried == 0  # not due yet: nothing sent
    assert len(standin.requests) == 1
    for attempt in (2, 3):
        twilio_node.store.write(lambda db: db.execute("UPDATE outbound SET next_attempt_at = ?", [clock.utcnow()]))
        sender.send_due(twilio_node)
        assert rows(twilio_node)["n:0"]["attempts"] == attempt
    assert rows(twilio_node)["n:0"]["status"] == "failed"  # max_attempts = 3
    assert len(standin.requests) == 3
    standin.mode = "ok"
    twilio_node.store.write(lambda db: db.execute("UPDATE outbound SET next_attempt_at = ?", [clock.utcnow()]))
    assert sender.send_due(twilio_node).sent == 0  # failed stays failed


def test_backoff_is_exponential_with_jitter():
    rng = random.Random(7)
    for attempts in range(1, 8):
        base = min(30 * 2 ** (attempts - 1), 3600)
        values = [delivery.backoff_seconds(attempts, rng) for _ in range(50)]
        assert all(base * 0.5 <= v <= base * 1.5 for v in values)
        assert len({round(v, 3) for v in values}) > 40  # jittered, not lock-step


def test_permanent_error_fails_at_once(twilio_node, standin):
    standin.mode = "400"
    queue(twilio_node)
    assert sender.send_due(twilio_node).failed == 1
    row = rows(twilio_node)["n:0"]
    assert (row["status"], row["attempts"], row["error_code"]) == ("failed", 1, "21211")


def test_lost_answer_is_not_resent_blindly(twilio_node, standin):
    standin.mode = "drop"
    queue(twilio_node)
    sender.send_due(twilio_node)
    row = rows(twilio_node)["n:0"]
    assert row["status"] == "failed" and "outcome unknown" in row["last_error"]
    standin.mode = "ok"
    sender.send_due(twilio_node)
    assert len(standin.requests) == 1
    # The operator decides to resend:
    result = twilio_node.store.write(lambda db: delivery.requeue(db, row["id"]))
    assert result and sender.send_due(twilio_node).sent == 1


def test_offline_messages_wait_out_any_outage_then_go(twilio_node, standin):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    twilio_node.config["sms.twilio.api_base_url"] = dead
    queue(twilio_node, 3)
    for _ in range(12):  # an outage much longer than max_attempts (3) retries
        assert sender.send_due(twilio_node).retried == 1  # one probe per pass, the rest untouched
        twilio_node.store.write(lambda db: db.execute("UPDATE outbound SET next_attempt_at = ?", [clock.utcnow()]))
    waiting = rows(twilio_node)
    assert {r["status"] for r in waiting.values()} == {"queued"}
    assert {r["attempts"] for r in waiting.values()} == {0}
    assert "offline" in waiting["n:0"]["last_error"]
    twilio_node.config["sms.twilio.api_base_url"] = standin.url  # the link is back
    assert sender.send_due(twilio_node).sent == 3
    assert len(standin.requests) == 3


def test_pacing_per_provider(twilio_node, standin):
    twilio_node.config["sms.twilio.per_minute"] = 2
    queue(twilio_node, 5)
    assert sender.send_due(twilio_node).sent == 2
    assert sender.send_due(twilio_node).sent == 0  # same minute: paced
    statuses = sorted(r["status"] for r in rows(twilio_node).values())
    assert statuses == ["queued", "queued", "queued", "sent", "sent"]
    past = clock.to_iso(clock.now() - dt.timedelta(seconds=61))
    twilio_node.store.write(lambda db: db.execute("UPDATE outbound SET last_attempt_at = ? WHERE status = 'sent'",
                                                  [past]))
    assert sender.send_due(twilio_node).sent == 2


def test_crash_between_send_and_ack_is_resolved_without_resending(twilio_node, standin):
    twilio_node.config["node.public_url"] = "http://localhost"
    queue(twilio_node)
    row = twilio_node.store.write(lambda db: delivery.claim_next(db, "twilio", 60))
    # ... the process "dies" here, after Twilio got the message:
    twilio_node.config["sms.twilio.api_base_url"] = standin.url
    message_sid = "SM" + "a" * 32
    stale = clock.to_iso(clock.now() - dt.timedelta(seconds=delivery.LEASE_SECONDS + 5))
    twilio_node.store.write(lambda db: db.execute("UPDATE outbound SET last_attempt_at = ?", [stale]))
    report = sender.send_due(twilio_node)
    assert report.recovered == 1 and report.sent == 0 and not standin.requests
    assert rows(twilio_node)["n:0"]["status"] == "failed"
    # Twilio's status callback names our row in its URL: the truth wins.
    app = create_app(config=twilio_node.config, node=twilio_node)
    url = f"{STATUS_URL}?outbound={row['id']}"
    form = {"MessageSid": message_sid, "MessageStatus": "delivered"}
    response = app.test_client().post(f"/channels/sms/twilio/status?outbound={row['id']}", data=form,
                                      headers={"X-Twilio-Signature": sign(url, form)})
    assert response.status_code == 204
    final = rows(twilio_node)["n:0"]
    assert (final["status"], final["provider_id"]) == ("delivered", message_sid)


def twilio_config(path, db_path, api_url):
    """A node config file that sends through Twilio's API at ``api_url`` (the stand-in)."""
    return write_config(path, f"""
[storage]
path = "{db_path}"
[sms]
provider = "twilio"
[sms.twilio]
account_sid = "{ACCOUNT}"
from_number = "{FROM}"
api_base_url = "{api_url}"
""")


def test_outbox_cli_lists_what_was_and_was_not_sent(tmp_path, standin):
    cfg = twilio_config(tmp_path / "c.toml", tmp_path / "cli.db", standin.url)
    node = Node(load_config(cfg))
    queue(node, 2)
    node.close()
    env = {"SIMPUL_TWILIO_AUTH_TOKEN": TOKEN}
    empty = run_cli("--config", str(cfg), "outbox", "--json", cwd=tmp_path, env=env)
    listed = json.loads(empty.stdout)
    assert [m["status"] for m in listed] == ["queued", "queued"]
    assert {"to", "body", "status", "provider", "created_at", "attempts", "last_error"} <= set(listed[0])
    sent = run_cli("--config", str(cfg), "sms", "send-queued", cwd=tmp_path, env=env)
    assert sent.returncode == 0, sent.stderr
    listed = json.loads(run_cli("--config", str(cfg), "outbox", "--json", cwd=tmp_path, env=env).stdout)
    assert [(m["status"], m["provider"], m["to"]) for m in listed] == [("sent", "twilio", PHONE)] * 2
    text = run_cli("--config", str(cfg), "outbox", cwd=tmp_path, env=env).stdout
    assert "sent" in text and "Permohonan siap 1" in text
    assert len(standin.requests) == 2


def test_send_job_runs_inside_serve_jobs(twilio_node, standin):
    from gateway.jobs import start_jobs

    twilio_node.config["sms.send_interval_seconds"] = 1
    app = create_app(config=twilio_node.config, node=twilio_node)
    queue(twilio_node)
    scheduler = start_jobs(app)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and rows(twilio_node)["n:0"]["status"] != "sent":
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
    assert rows(twilio_node)["n:0"]["status"] == "sent" and len(standin.requests) == 1


def test_sender_killed_mid_call_never_resends(tmp_path, standin):
    """A real `simpul sms send-queued` is SIGKILLed while Twilio holds the request."""
    import signal
    import subprocess

    from tests.conftest import SIMPUL

    standin.mode = "hang"
    db_path = tmp_path / "kill.db"
    cfg = twilio_config(tmp_path / "k.toml", db_path, standin.url)
    node = Node(load_config(cfg))
    queue(node, 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    env["SIMPUL_TWILIO_AUTH_TOKEN"] = TOKEN
    proc = subprocess.Popen([SIMPUL, "--config", str(cfg), "sms", "send-queued"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not standin.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert standin.requests, "the sender never called the stand-in"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert rows(node)["n:0"]["status"] == "sending"
    standin.mode = "ok"
    run_cli("--config", str(cfg), "sms", "send-queued", cwd=tmp_path, env={"SIMPUL_TWILIO_AUTH_TOKEN": TOKEN})
    assert rows(node)["n:0"]["status"] == "sending"  # lease not over: left alone
    stale = clock.to_iso(clock.now() - dt.timedelta(seconds=delivery.LEASE_SECONDS + 1))
    node.store.write(lambda db: db.execute("UPDATE outbound SET last_attempt_at = ?", [stale]))
    result = run_cli("--config", str(cfg), "sms", "send-queued", cwd=tmp_path,
                     env={"SIMPUL_TWILIO_AUTH_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    row = rows(node)["n:0"]
    assert row["status"] == "failed" and "outcome unknown" in row["last_error"]
    assert len(standin.requests) == 1  # never sent twice
    node.close()


def test_bodies_are_blanked_once_nothing_can_resend_them(twilio_node, standin):
    """A body may carry a case worker's note (personal data): kept only while a resend is possible."""
    app = create_app(config=twilio_node.config, node=twilio_node)
    client = app.test_client()
    queue(twilio_node, 3)
    sender.send_due(twilio_node)
    sent = rows(twilio_node)
    assert all(r["status"] == "sent" and r["body"] for r in sent.values())  # Twilio may still say undelivered

    def callback(row, status):
        form = {"MessageSid": row["provider_id"], "MessageStatus": status}
        assert client.post("/channels/sms/twilio/status", data=form,
                           headers={"X-Twilio-Signature": sign(STATUS_URL, form)}).status_code == 204

    callback(sent["n:0"], "delivered")
    callback(sent["n:1"], "undelivered")
    now = rows(twilio_node)
    assert now["n:0"]["status"] == "delivered" and now["n:0"]["body"] == ""
    assert now["n:1"]["status"] == "undelivered" and now["n:1"]["body"] == "Permohonan siap 1"
    # The operator's resend of the undelivered one still has its text and sends it.
    assert twilio_node.store.write(lambda db: delivery.requeue(db, now["n:1"]["id"]))
    sender.send_due(twilio_node)
    assert [f["Body"] for f in standin.forms][-1] == "Permohonan siap 1"
    # A sent row with no final report keeps its body SENT_BODY_KEEP_HOURS, then loses it.
    later = clock.now() + dt.timedelta(hours=delivery.SENT_BODY_KEEP_HOURS - 1)
    assert twilio_node.store.write(lambda db: delivery.forget_sent_bodies(db, later)) == 0
    later = clock.now() + dt.timedelta(hours=delivery.SENT_BODY_KEEP_HOURS + 1)
    assert twilio_node.store.write(lambda db: delivery.forget_sent_bodies(db, later)) == 2
    final = rows(twilio_node)
    assert {r["body"] for r in final.values()} == {""}
    assert {k: r["status"] for k, r in final.items()} == {"n:0": "delivered", "n:1": "sent", "n:2": "sent"}
    # A late "undelivered" after that cannot be requeued with an empty text: refused, not sent empty.
    callback(final["n:2"], "undelivered")
    assert not twilio_node.store.write(lambda db: delivery.requeue(db, final["n:2"]["id"]))


def test_gammu_bodies_are_blanked_when_handed_over(tmp_path):
    config = load_config(overrides={
        "storage": {"path": str(tmp_path / "g.db")}, "jobs": {"enabled": False},
        "sms": {"provider": "gammu", "gammu": {"outbox_path": str(tmp_path / "outbox")}}})
    node = Node(config)
    try:
        queue(node, 2)
        assert sender.send_due(node).sent == 2
        assert [(r["status"], r["body"]) for r in rows(node).values()] == [("sent", ""), ("sent", "")]
        assert len(list((tmp_path / "outbox").iterdir())) == 2  # smsd's file carries the text until it sends
    finally:
        node.close()
