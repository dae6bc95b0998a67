"""Twilio inbound webhook against the real app: real signatures, real SQLite, real TwiML."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.intake import codes
from tests.sms_helpers import (
    NIK,
    OTHER_PHONE,
    PHONE,
    STATUS_URL,
    TOKEN,
    URL,
    count,
    new_sid,
    post_sms,
    reply_text,
    sign,
    twilio_form,
)

SUBMIT = f"DOMISILI#{NIK}#Siti Aminah#Dusun Krajan RT 02/03"


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("SIMPUL_TWILIO_AUTH_TOKEN", TOKEN)


def test_submission_gets_code_in_twiml_and_is_stored(client, node):
    sid = new_sid()
    response = post_sms(client, SUBMIT, sid=sid)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    text = reply_text(response)
    rows = node.store.read().execute(
        "SELECT tracking_code, channel, channel_message_id, phone, fields FROM requests").fetchall()
    assert len(rows) == 1
    code, channel, message_id, phone, _fields = rows[0]
    assert (channel, message_id, phone) == ("sms", sid, PHONE)
    assert code in text and text.startswith("Permohonan Surat Keterangan Domisili diterima")
    assert codes.normalize(code) == code


def test_missing_or_bad_signature_is_403_and_nothing_stored(client, node):
    form = twilio_form(SUBMIT)
    for headers in ({}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
                    {"X-Twilio-Signature": sign(URL, form, token="wrong-token")},
                    {"X-Twilio-Signature": sign(URL + "?x=1", form)}):
        response = client.post("/channels/sms/twilio", data=form, headers=headers)
        assert response.status_code == 403
    tampered = dict(form, Body=form["Body"] + "x")
    response = client.post("/channels/sms/twilio", data=tampered, headers={"X-Twilio-Signature": sign(URL, form)})
    assert response.status_code == 403
    assert count(node, "requests") == 0 and count(node, "sms_inbound") == 0


def test_no_token_configured_means_403_for_everything(client, node, monkeypatch):
    monkeypatch.delenv("SIMPUL_TWILIO_AUTH_TOKEN")
    assert post_sms(client, SUBMIT).status_code == 403
    assert post_sms(client, "HELP", signature="").status_code == 403
    form = {"MessageSid": new_sid(), "MessageStatus": "delivered"}
    assert client.post("/channels/sms/twilio/status", data=form,
                       headers={"X-Twilio-Signature": sign(STATUS_URL, form)}).status_code == 403
    assert count(node, "requests") == 0 and count(node, "sms_inbound") == 0


def test_public_url_is_what_gets_validated(tmp_path, monkeypatch):
    from gateway.app import create_app
    from gateway.config.loader import load_config

    config = load_config(overrides={"storage": {"path": str(tmp_path / "p.db")},
                                    "node": {"public_url": "https://desa.example.id/simpul/"}})
    app = create_app(config=config)
    client = app.test_client()
    public = "https://desa.example.id/simpul/channels/sms/twilio"
    form = twilio_form("HELP")
    ok = client.post("/channels/sms/twilio", data=form, headers={"X-Twilio-Signature": sign(public, form)})
    assert ok.status_code == 200 and "DOMISILI" in reply_text(ok)
    local = client.post("/channels/sms/twilio", data=form, headers={"X-Twilio-Signature": sign(URL, form)})
    assert local.status_code == 403
    app.extensions["simpul"].close()


def test_redelivery_returns_same_reply_and_stores_nothing_new(client, node):
    sid = new_sid()
    first = post_sms(client, SUBMIT, sid=sid)
    again = post_sms(client, SUBMIT, sid=sid)
    assert first.data == again.data
    assert count(node, "requests") == 1 and count(node, "status_events") == 1
    for body in ("HELP", "INFO SKD", "BAHASA EN", "DOMISILI#123", "STATUS ABCDE-12345"):
        sid = new_sid()
        replies = {post_sms(client, body, sid=sid).data for _ in range(3)}
        assert len(replies) == 1
    assert count(node, "sms_inbound") == 6 and count(node, "requests") == 1


@pytest.mark.parametrize("copies", [1, 2, 3, 4, 5, 6])
def test_concurrent_copies_give_exactly_one_request(app, node, copies):
    sid = new_sid()
    barrier = threading.Barrier(copies)
    results: list = [None] * copies

    def deliver(i):
        client = app.test_client()
        barrier.wait()
        results[i] = post_sms(client, SUBMIT, sid=sid)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status_code == 200 for r in results)
    assert len({r.data for r in results}) == 1
    assert count(node, "requests") == 1 and count(node, "sms_inbound") == 1


@pytest.mark.parametrize("copies", [2, 6])
def test_concurrent_copies_of_a_language_switch_claim_once(app, node, copies):
    sid = new_sid()
    barrier = threading.Barrier(copies)
    results: list = [None] * copies

    def deliver(i):
        barrier.wait()
        results[i] = post_sms(app.test_client(), "BAHASA EN", sid=sid)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(copies)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len({r.data for r in results}) == 1
    assert count(node, "sms_inbound") == 1 and count(node, "contacts") == 1


def test_wrong_input_names_problem_and_format(client, node):
    text = reply_text(post_sms(client, "domisili#12345#Siti#Krajan"))
    assert text == "Belum diterima: NIK: harus 16 digit. Format: DOMISILI#NIK#NAMA#ALAMAT"
    text = reply_text(post_sms(client, "DOMSILI#3201011708900001#Siti#Krajan"))
    assert "Maksud Anda DOMISILI?" in text and "Format: DOMISILI#NIK#NAMA#ALAMAT" in text
    text = reply_text(post_sms(client, "SKTM 3201011708900001 Budi sekolah"))
    assert "SKTM#NIK#NAMA#KEPERLUAN" in text
    assert count(node, "requests") == 0


def test_help_and_info(client):
    # An unmatched text is a question for the inbox (issue 18): the first one in an hour is
    # acknowledged with the service keywords; later ones get the HELP text itself.
    acknowledged = reply_text(post_sms(client, "apa ini?"))
    assert acknowledged.startswith("Pertanyaan diterima")
    assert all(k in acknowledged for k in ("DOMISILI", "SKTM", "KTP", "LAHIR", "ADUAN"))
    help_text = reply_text(post_sms(client, "apa lagi ini?"))
    assert all(k in help_text for k in ("DOMISILI", "SKTM", "KTP", "LAHIR", "ADUAN"))
    assert reply_text(post_sms(client, "BANTUAN")) == help_text
    info = reply_text(post_sms(client, "info akta"))
    assert "Syarat:" in info and "Biaya: Gratis" in info and "3 hari kerja" in info


def test_language_switch_applies_to_every_later_message(client, node):
    assert reply_text(post_sms(client, "HELP")).startswith("Layanan SMS")
    assert reply_text(post_sms(client, "LANGUAGE EN")).startswith("Language set to English")
    assert node.store.read().execute("SELECT locale FROM contacts WHERE phone = ?", [PHONE]).fetchone()[0] == "en"
    assert reply_text(post_sms(client, "HELP")).startswith("SMS services")
    text = reply_text(post_sms(client, SUBMIT))
    assert text.startswith("Domicile certificate request received")
    assert node.store.read().execute("SELECT locale FROM requests").fetchone()[0] == "en"
    # Another number still gets Indonesian; the number written as 0812... is the same contact.
    assert reply_text(post_sms(client, "HELP", sender=OTHER_PHONE)).startswith("Layanan SMS")
    assert reply_text(post_sms(client, "HELP", sender="081234567890")).startswith("SMS services")
    assert reply_text(post_sms(client, "bahasa id")).startswith("Bahasa diubah")
    assert reply_text(post_sms(client, "HELP")).startswith("Layanan SMS")


def test_status_only_for_the_owning_number(client, node):
    code = reply_text(post_sms(client, SUBMIT)).split("Kode: ")[1][:11]
    mine = reply_text(post_sms(client, f"STATUS {code.lower()}"))
    assert mine.startswith(f"Permohonan {code} (Surat Keterangan Domisili): diterima")
    assert reply_text(post_sms(client, f"cek#{code.replace('-', '')}")) == mine
    theirs = reply_text(post_sms(client, f"STATUS {code}", sender=OTHER_PHONE))
    unknown_code = codes.generate(lambda bits: 0)
    assert unknown_code != code
    unknown = reply_text(post_sms(client, f"STATUS {unknown_code}", sender=OTHER_PHONE))
    assert theirs == unknown.replace(unknown_code, code)  # the same neutral answer, word for word
    assert "diterima" not in theirs and "Domisili" not in theirs
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert "salah ketik" in reply_text(post_sms(client, f"STATUS {typo}"))
    assert "STATUS <kode>" in reply_text(post_sms(client, "STATUS"))


def test_reply_storm_guard_holds_help_but_never_a_tracking_code(client, node):
    """#12: after 25 HELPs (limit 20) the guard says once that replies pause, then goes quiet;
    a submission still gets its receipt with the code, and every reply sent is in the outbox."""
    from gateway.outbox.queue import list_outbound

    node.config["sms.max_auto_replies_per_hour"] = 20
    answers = [reply_text(post_sms(client, "HELP")) for _ in range(25)]
    assert all(answers[:20])
    assert "dijeda" in answers[20] or "paused" in answers[20]  # said once ...
    assert answers[21:] == [None] * 4  # ... then withheld
    sid = new_sid()
    receipt = reply_text(post_sms(client, SUBMIT, sid=sid))
    assert count(node, "requests") == 1
    code = node.store.read().execute("SELECT tracking_code FROM requests").fetchone()[0]
    assert receipt and code in receipt
    assert reply_text(post_sms(client, SUBMIT, sid=sid)) == receipt  # redelivery: the same receipt, nothing new
    assert count(node, "requests") == 1
    assert reply_text(post_sms(client, f"STATUS {code}"))  # a status answer is not an error reply
    assert reply_text(post_sms(client, "HELP", sender=OTHER_PHONE))  # other numbers unaffected
    sent = [r for r in list_outbound(node.store.read()) if r["to"] == PHONE]
    assert len(sent) == 23 and {r["kind"] for r in sent} == {"reply"} and {r["status"] for r in sent} == {"sent"}
    assert any(code in r["body"] and r["segments"] == 1 for r in sent)


def test_missing_message_sid_is_a_400_not_a_crash(client, node):
    form = {"From": PHONE, "Body": "HELP"}
    response = client.post("/channels/sms/twilio", data=form, headers={"X-Twilio-Signature": sign(URL, form)})
    assert response.status_code == 400 and count(node, "sms_inbound") == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.text(max_size=400),
                      st.builds(lambda k, rest: k + rest, st.sampled_from(["DOMISILI#", "STATUS ", "INFO ",
                                                                             "BAHASA ", "ADUAN#", "LAHIR#"]),
                                st.text(max_size=200))),
       sender=st.one_of(st.just(PHONE), st.text(min_size=1, max_size=20).filter(lambda s: s.strip())))
def test_fuzzed_bodies_never_give_a_5xx(client, body, sender):
    response = post_sms(client, body, sender=sender)
    assert response.status_code == 200
    assert response.data.startswith(b"<?xml")


def test_sha256_signed_webhooks_when_the_library_supports_them(client, node):
    from twilio import request_validator

    if not hasattr(request_validator, "get_signature_algorithm"):
        pytest.skip("this twilio version signs webhooks with HMAC-SHA1 only")
    form = twilio_form("HELP")
    signature = request_validator.RequestValidator(TOKEN).compute_signature(URL, form, "HMAC_SHA256")
    headers = {"X-Twilio-Signature": signature, "X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_SHA256"}
    assert client.post("/channels/sms/twilio", data=form, headers=headers).status_code == 200
    sha1_header = {"X-Twilio-Signature": signature}  # same signature claimed as SHA1: refused
    assert client.post("/channels/sms/twilio", data=form, headers=sha1_header).status_code == 403
    assert count(node, "sms_inbound") == 1


def test_every_byte_of_a_valid_signature_mutated_is_refused_before_any_write(client, node):
    form = twilio_form(SUBMIT)
    good = sign(URL, form)
    for i in range(len(good)):
        for replacement in {"A", "b", "+"} - {good[i]}:
            bad = good[:i] + replacement + good[i + 1:]
            response = client.post("/channels/sms/twilio", data=form, headers={"X-Twilio-Signature": bad})
            assert response.status_code == 403, (i, bad)
    assert count(node, "requests") == 0 and count(node, "sms_inbound") == 0
    assert client.post("/channels/sms/twilio", data=form, headers={"X-Twilio-Signature": good}).status_code == 200


def test_disk_full_answers_5xx_so_twilio_retries_and_nothing_is_half_stored(client, node):
    post_sms(client, "HELP")  # the database exists and has some pages
    pages = node.store.read().execute("PRAGMA page_count").fetchone()[0]
    node.store.write(lambda db: db.execute(f"PRAGMA max_page_count = {pages + 2}"))
    acked, failed = {}, None
    for n in range(300):
        sid, sender = new_sid(), f"+6281234{n:06d}"
        response = post_sms(client, f"ADUAN#{'jalan rusak parah dekat masjid ' * 12}", sid=sid, sender=sender)
        assert response.status_code in (200, 500)
        if response.status_code == 500:
            failed = (sid, sender)
            break
        acked[sid] = reply_text(response).split("Kode: ")[1][:11]
    assert failed is not None, "the page limit was never reached"
    db = node.store.read()
    stored = dict(db.execute("SELECT channel_message_id, tracking_code FROM requests").fetchall())
    assert stored == acked  # every 200 is stored; the 500 left nothing behind
    assert db.execute("SELECT count(*) FROM sms_inbound WHERE message_id = ?", [failed[0]]).fetchone()[0] == 0
    node.store.write(lambda db: db.execute("PRAGMA max_page_count = 1073741823"))
    retry = post_sms(client, f"ADUAN#{'jalan rusak parah dekat masjid ' * 12}", sid=failed[0], sender=failed[1])
    assert retry.status_code == 200 and "Kode:" in reply_text(retry)  # Twilio's retry succeeds once space returns
    assert count(node, "requests") == len(acked) + 1
