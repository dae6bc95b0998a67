"""The citizen inbox (issue 18.1): SMS routing on every provider, the acknowledgement limit,
answers landing in the outbox, privacy (sealing, access report, retention, rotation, audit), CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests

from channels.sms.inbound import Handler
from channels.sms.providers import gammu
from gateway import clock
from gateway.app import create_app
from gateway.config.loader import load_config
from gateway.inbox import actions, threads
from gateway.node import Node
from gateway.outbox import queue as outbound
from gateway.privacy import access, audit, retention, rotation
from tests.conftest import node_keys_of, run_cli, write_config
from tests.kiosk_support import PASSWORD, add_officer
from tests.provider_standins import AndroidPhone, NodeServer
from tests.sms_helpers import OTHER_PHONE, PHONE, TOKEN, post_sms, reply_text

QUESTION = "halo pak, kapan kantor desa buka hari sabtu?"


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("SIMPUL_TWILIO_AUTH_TOKEN", TOKEN)


def inbox_rows(node):
    return list(node.store.read().query("SELECT * FROM inbox ORDER BY id"))


def texts(node):
    opener = node.vault.opener(node_keys_of(node))
    return [threads.opened_text(opener, r) for r in inbox_rows(node)]


# -- routing -------------------------------------------------------------------


def test_tanya_reaches_the_inbox_and_is_acknowledged_once_an_hour(client, node):
    first = reply_text(post_sms(client, "TANYA " + QUESTION))
    assert first == "Pertanyaan diterima; petugas akan membalas lewat SMS."
    assert reply_text(post_sms(client, "tanya apakah perlu membawa KK?")) is None  # within the hour: no reply
    assert texts(node) == [QUESTION, "apakah perlu membawa KK?"]
    rows = inbox_rows(node)
    assert [(r["phone"], r["kind"], r["direction"], r["acked"]) for r in rows] == [
        (PHONE, "question", "in", 1), (PHONE, "question", "in", 0)]
    # Another phone gets its own acknowledgement.
    assert reply_text(post_sms(client, "TANYA boleh diwakilkan?", sender=OTHER_PHONE)).startswith("Pertanyaan")
    # An hour later the same phone is acknowledged again.
    node.store.write(lambda db: db.execute("UPDATE inbox SET at = ? WHERE acked = 1 AND phone = ?",
                                           [clock.to_iso(clock.now() - dt.timedelta(minutes=61)), PHONE]))
    assert reply_text(post_sms(client, "TANYA satu lagi")).startswith("Pertanyaan diterima")


def test_unmatched_message_is_filed_and_still_lists_the_services(client, node):
    reply = reply_text(post_sms(client, QUESTION))
    assert reply.startswith("Pertanyaan diterima")
    assert all(k in reply for k in ("DOMISILI", "SKTM", "KTP", "LAHIR", "ADUAN"))
    assert len(reply) <= 160
    assert texts(node) == [QUESTION]
    assert inbox_rows(node)[0]["kind"] == "unmatched"
    # Not the HELP loop alone: the next unmatched text in the hour is filed too and gets HELP.
    again = reply_text(post_sms(client, "halo?"))
    assert again == reply_text(post_sms(client, "BANTUAN"))
    assert texts(node) == [QUESTION, "halo?"]


def test_keyword_sentence_is_filed_and_gets_the_format_hint(client, node):
    reply = reply_text(post_sms(client, "KTP saya hilang, bagaimana?"))
    assert "KTP#NIK#NAMA#ALASAN" in reply and reply.startswith("Pertanyaan diterima") and len(reply) <= 160
    assert texts(node) == ["KTP saya hilang, bagaimana?"]
    assert inbox_rows(node)[0]["kind"] == "sentence"
    # Within the hour: the hint alone, still filed.
    assert reply_text(post_sms(client, "SKTM untuk apa saja ya")).startswith("Untuk Surat Keterangan Tidak Mampu")
    assert len(inbox_rows(node)) == 2


@pytest.mark.parametrize("body", [
    "DOMSILI#3201011708900001#Siti#Krajan",  # a near-miss keeps "Maksud Anda DOMISILI?"
    "SKTM 3201011708900001 Budi sekolah",  # fields typed without '#': not a sentence
    "ABCDE-12345",  # shaped like a tracking code (even with a typo)
    "KTP",  # the keyword alone
    "BANTUAN", "STATUS", "INFO KTP", "BAHASA EN", "",
])
def test_what_stays_out_of_the_inbox(client, node, body):
    post_sms(client, body)
    assert inbox_rows(node) == []


def test_near_miss_still_says_did_you_mean(client, node):
    assert "Maksud Anda DOMISILI?" in reply_text(post_sms(client, "DOMSILI#3201011708900001#Siti#Krajan"))


def test_empty_tanya_gets_the_usage_and_files_nothing(client, node):
    reply = reply_text(post_sms(client, "TANYA"))
    assert "TANYA" in reply and len(reply) <= 160
    assert reply_text(post_sms(client, "tanya   #  ")) == reply
    assert inbox_rows(node) == []


def test_a_redelivered_question_is_filed_once(client, node):
    post_sms(client, "TANYA " + QUESTION, sid="SMdup")
    again = post_sms(client, "TANYA " + QUESTION, sid="SMdup")
    assert reply_text(again).startswith("Pertanyaan diterima")  # the stored reply, replayed
    assert len(inbox_rows(node)) == 1


def test_short_codes_and_names_are_not_filed(client, node):
    post_sms(client, "Selamat! Anda mendapat bonus kuota 2GB", sender="TELKOMSEL")
    assert inbox_rows(node) == []


def test_the_question_text_is_sealed_at_rest(client, node, tmp_path):
    post_sms(client, "TANYA " + QUESTION)
    [row] = inbox_rows(node)
    assert QUESTION.encode() not in row["text_sealed"]
    node.store.read().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in tmp_path.glob("simpul.db*"):
        assert QUESTION.encode() not in path.read_bytes(), path


# -- every provider ---------------------------------------------------------------


def _gammu(tmp_path):
    config = load_config(overrides={
        "storage": {"path": str(tmp_path / "g.db")}, "jobs": {"enabled": False},
        "sms": {"provider": "gammu", "gammu": {"inbox_path": str(tmp_path / "in"), "outbox_path": str(tmp_path / "out")}}})
    return Node(config)


def test_gammu_files_a_question_and_queues_the_acknowledgement(tmp_path):
    node = _gammu(tmp_path)
    try:
        folder = tmp_path / "in"
        folder.mkdir()
        path = folder / f"IN20261201_090000_00_{PHONE}_00.txt"
        path.write_bytes(("TANYA " + QUESTION).encode("utf-16"))
        gammu.receive(Handler(node), gammu.resolve([path.name], str(folder))[0])
        assert texts(node) == [QUESTION]
        [reply] = outbound.list_outbound(node.store.read())
        assert reply["to"] == PHONE and reply["body"].startswith("Pertanyaan diterima")
    finally:
        node.close()


def test_android_files_an_unmatched_message(tmp_path, monkeypatch):
    phone = AndroidPhone()
    monkeypatch.setenv("SIMPUL_ANDROID_PASSWORD", phone.password)
    monkeypatch.setenv("SIMPUL_ANDROID_WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv("SIMPUL_ANDROID_SIGNING_KEY", phone.signing_key)
    config = load_config(overrides={"storage": {"path": str(tmp_path / "a.db")}, "jobs": {"enabled": False},
                                    "sms": {"provider": "android", "android": {"url": phone.url,
                                                                               "username": phone.username}}})
    node = Node(config)
    server = NodeServer(create_app(config=config, node=node))
    try:
        answer = phone.received(f"{server.url}/channels/sms/android?secret=s3cret", "081234567890", QUESTION)
        assert answer.status_code == 200
        assert texts(node) == [QUESTION] and inbox_rows(node)[0]["phone"] == PHONE
        [reply] = outbound.list_outbound(node.store.read())
        assert reply["to"] == PHONE and "DOMISILI" in reply["body"]
    finally:
        server.close()
        node.close()
        phone.close()


def test_http_aggregator_files_a_keyword_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMPUL_SMS_HTTP_SECRET", "agg")
    config = load_config(overrides={"storage": {"path": str(tmp_path / "h.db")}, "jobs": {"enabled": False},
                                    "sms": {"provider": "http", "http": {"send_url": "http://127.0.0.1:9/x"}}})
    node = Node(config)
    server = NodeServer(create_app(config=config, node=node))
    try:
        url = f"{server.url}/channels/sms/http?secret=agg"
        data = {"from": "6281234567890", "text": "AKTA anak saya belum jadi, kenapa?", "id": "H1"}
        assert requests.post(url, data=data, timeout=10).status_code == 200
        assert texts(node) == ["AKTA anak saya belum jadi, kenapa?"]
        [reply] = outbound.list_outbound(node.store.read())
        assert reply["to"] == PHONE and "LAHIR#" in reply["body"]
    finally:
        server.close()
        node.close()


# -- answers, privacy ---------------------------------------------------------------


def _ask(client, node, body="TANYA " + QUESTION, sender=PHONE):
    post_sms(client, body, sender=sender)
    return inbox_rows(node)[-1]["id"]


def test_answer_lands_in_the_outbox_for_the_right_phone_and_closes_the_thread(client, node):
    other = _ask(client, node, sender=OTHER_PHONE)
    first = _ask(client, node)
    _ask(client, node, "TANYA dan hari minggu?")
    assert threads.open_threads(node.store.read()) == 2
    answer_id = actions.answer(node, first, "Kantor buka Sabtu 08.00-12.00.", officer="siti")
    [sms] = [r for r in outbound.list_outbound(node.store.read()) if r["kind"] == "answer"]
    assert (sms["to"], sms["body"], sms["status"]) == (PHONE, "Kantor buka Sabtu 08.00-12.00.", "queued")
    rows = {r["id"]: r for r in inbox_rows(node)}
    assert all(r["handled_at"] for r in rows.values() if r["phone"] == PHONE)
    assert rows[other]["handled_at"] is None
    assert rows[answer_id]["direction"] == "out" and rows[answer_id]["outbound_key"] == sms["key"]
    assert threads.open_threads(node.store.read()) == 1
    phone, thread = actions.read_thread(node, first, node.vault.opener(node_keys_of(node)), actor="siti")
    assert phone == PHONE and thread[-1]["text"] == "Kantor buka Sabtu 08.00-12.00."
    assert thread[-1]["sms_status"] == "queued"
    # The same form sent twice queues one answer.
    uid = threads.new_uid()
    actions.answer(node, other, "Ya, boleh.", officer="siti", uid=uid)
    actions.answer(node, other, "Ya, boleh.", officer="siti", uid=uid)
    assert len([r for r in outbound.list_outbound(node.store.read()) if r["kind"] == "answer"]) == 2


def test_bad_answers_and_unknown_ids(client, node):
    question = _ask(client, node)
    with pytest.raises(actions.UnknownMessage):
        actions.answer(node, 999, "halo", officer="siti")
    with pytest.raises(actions.AnswerError):
        actions.answer(node, question, "   ", officer="siti")
    with pytest.raises(actions.AnswerError) as too_long:
        actions.answer(node, question, "x" * 500, officer="siti")
    assert too_long.value.segments == 4
    answer_id = actions.answer(node, question, "ok", officer="siti")
    with pytest.raises(actions.UnknownMessage):  # an answer is not a question
        actions.answer(node, answer_id, "ok", officer="siti")
    assert len([r for r in outbound.list_outbound(node.store.read()) if r["kind"] == "answer"]) == 1


def test_mark_handled_closes_without_an_sms_and_is_audited(client, node):
    question = _ask(client, node)
    assert actions.mark_handled(node, question, officer="siti") == 1
    assert actions.mark_handled(node, question, officer="siti") == 0
    assert threads.open_threads(node.store.read()) == 0
    assert not [r for r in outbound.list_outbound(node.store.read()) if r["kind"] == "answer"]
    [entry] = node.store.read().execute("SELECT actor, subject FROM audit_log WHERE action = ?",
                                        [audit.INBOX_HANDLED]).fetchall()
    assert entry == ("siti", f"inbox:{question}")


def test_viewing_a_thread_with_the_key_is_audited_without_the_text(client, node):
    question = _ask(client, node)
    actions.read_thread(node, question, None, actor="budi")  # no key: masked, nothing opened
    _phone, thread = actions.read_thread(node, question, node.vault.opener(node_keys_of(node)), actor="siti")
    assert thread[0]["text"] == QUESTION
    rows = node.store.read().execute("SELECT actor, subject, details FROM audit_log WHERE action = ?",
                                     [audit.DATA_ACCESS]).fetchall()
    assert rows == [("siti", f"inbox:{question}", json.dumps({"via": audit.VIA_INBOX_THREAD}, separators=(",", ":")))]
    assert all(PHONE not in str(r) and "kantor" not in str(r) for r in rows)


def test_right_of_access_report_shows_questions_and_answers(client, node):
    question = _ask(client, node)
    actions.answer(node, question, "Buka jam 8.", officer="siti")
    _ask(client, node, sender=OTHER_PHONE)
    opener = node.vault.opener(node_keys_of(node))
    report = access.gather(node.store.read(), node.catalog, opener, phone=PHONE)
    section = report.section("inbox")
    assert [(r["direction"], r["text"]) for r in section.rows] == [("in", QUESTION), ("out", "Buka jam 8.")]


def test_retention_deletes_threads_handled_long_ago_and_keeps_open_ones(client, node):
    old = _ask(client, node)
    actions.answer(node, old, "Buka jam 8.", officer="siti")
    fresh = _ask(client, node, sender=OTHER_PHONE)
    later = clock.now() + dt.timedelta(days=31)
    node.store.write(lambda db: retention.purge(db, node.catalog, 30, later))
    assert [r["id"] for r in inbox_rows(node)] == [fresh]
    [answer_sms] = [r for r in outbound.list_outbound(node.store.read()) if r["kind"] == "answer"]
    assert (answer_sms["to"], answer_sms["body"]) == ("", "")
    # A day short of the period nothing handled goes.
    actions.mark_handled(node, fresh, officer="siti")
    node.store.write(lambda db: retention.purge(db, node.catalog, 30, clock.now() + dt.timedelta(days=29)))
    assert [r["id"] for r in inbox_rows(node)] == [fresh]


def test_key_rotation_reseals_inbox_texts(client, node):
    _ask(client, node)
    held = node_keys_of(node)
    result = rotation.rotate(node, held, "siti", settle_seconds=0)
    assert result.resealed >= 1 and not result.unreadable
    from gateway.privacy import keys

    new_keys = keys.recover(node.store.read(), node.new_recovery_code)
    assert threads.opened_text(node.vault.opener(new_keys), inbox_rows(node)[0]) == QUESTION


# -- CLI ------------------------------------------------------------------------------


@pytest.fixture
def cli_node(tmp_path):
    cfg = write_config(tmp_path / "c.toml", f'[storage]\npath = "{tmp_path / "n.db"}"\n')
    node = Node(load_config(str(cfg)))
    add_officer(node, "kades", PASSWORD)
    handler = Handler(node)
    from channels.sms.inbound import InboundSms

    handler.handle(InboundSms("gammu", "m1", PHONE, "TANYA " + QUESTION), queue_reply=True)
    handler.handle(InboundSms("gammu", "m2", OTHER_PHONE, "kapan posyandu?"), queue_reply=True)
    node.close()
    return cfg


def _cli(cfg, *args, input=None):
    return run_cli("--config", str(cfg), *args, cwd=cfg.parent, input=input)


def test_cli_lists_masked_then_opened_with_an_officers_password(cli_node):
    masked = _cli(cli_node, "inbox", "--json")
    assert masked.returncode == 0, masked.stderr
    rows = json.loads(masked.stdout)
    assert [set(r) for r in rows] == [{"id", "phone", "received_at", "text", "handled"}] * 2
    assert [r["phone"] for r in rows] == [OTHER_PHONE, PHONE]  # newest first
    assert all(r["text"] == "\u2022" * 6 and r["handled"] is False for r in rows)
    opened = _cli(cli_node, "inbox", "--json", "--officer", "kades", "--password-stdin", input=PASSWORD + "\n")
    assert opened.returncode == 0, opened.stderr
    assert [r["text"] for r in json.loads(opened.stdout)] == ["kapan posyandu?", QUESTION]
    wrong = _cli(cli_node, "inbox", "--officer", "kades", "--password-stdin", input="salah\n")
    assert wrong.returncode == 2 and QUESTION not in wrong.stdout
    audit_rows = json.loads(_cli(cli_node, "audit", "list", "--json").stdout)
    assert [json.loads(r["details"]) for r in audit_rows if r["action"] == "data_access"] == [{"via": "inbox_cli"}]
    assert "kapan" in _cli(cli_node, "inbox", "--officer", "kades", "--password-stdin",
                           input=PASSWORD + "\n").stdout


def test_cli_reply_queues_the_answer_for_that_phone_and_marks_it_handled(cli_node):
    rows = json.loads(_cli(cli_node, "inbox", "--json").stdout)
    question = next(r["id"] for r in rows if r["phone"] == PHONE)
    done = _cli(cli_node, "inbox", "reply", str(question), "Kantor buka Sabtu jam 8.")
    assert done.returncode == 0, done.stderr
    assert PHONE in done.stdout
    outbox = json.loads(_cli(cli_node, "outbox", "--json").stdout)
    [answer] = [r for r in outbox if r["kind"] == "answer"]
    assert answer["to"] == PHONE and answer["body"] == "Kantor buka Sabtu jam 8."
    still_open = json.loads(_cli(cli_node, "inbox", "--json", "--open").stdout)
    assert [r["phone"] for r in still_open] == [OTHER_PHONE]


@pytest.mark.parametrize("args", [("999", "halo"), ("1", ""), ("1", "x" * 500), ("abc", "halo")])
def test_cli_reply_bad_input_exits_2_and_queues_nothing(cli_node, args):
    result = _cli(cli_node, "inbox", "reply", *args)
    assert result.returncode == 2
    outbox = json.loads(_cli(cli_node, "outbox", "--json").stdout)
    assert not [r for r in outbox if r["kind"] == "answer"]
