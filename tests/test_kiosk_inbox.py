"""The kiosk's /kiosk/inbox with Flask's client: roles, CSRF, one-time forms, sealing, audit, bad paths."""

from __future__ import annotations

import pytest

from channels.sms.inbound import Handler, InboundSms
from gateway.inbox import threads
from gateway.intake.pipeline import Submission
from gateway.outbox import queue as outbound
from gateway.privacy import audit
from tests.conftest import NIK
from tests.kiosk_support import add_officer, hidden, login
from tests.sms_helpers import OTHER_PHONE, PHONE

QUESTION = "kapan kantor desa buka hari sabtu?"


@pytest.fixture
def asked(node):
    handler = Handler(node)
    handler.handle(InboundSms("gammu", "m1", PHONE, "TANYA " + QUESTION), queue_reply=True)
    handler.handle(InboundSms("gammu", "m2", OTHER_PHONE, "halo pak, posyandu kapan?"), queue_reply=True)
    node.pipeline.submit(Submission("sms", "DOMISILI", {"nik": NIK, "name": "Siti", "address": "Krajan"},
                                    sender=PHONE))
    return {r["phone"]: r["id"] for r in node.store.read().query("SELECT id, phone FROM inbox")}


@pytest.fixture
def kiosk(client, node):
    add_officer(node)
    login(client)
    return client


def answers(node):
    return [r for r in outbound.list_outbound(node.store.read()) if r["kind"] == "answer"]


def test_login_is_required(client, node, asked):
    for path in ("/kiosk/inbox", f"/kiosk/inbox/{asked[PHONE]}", "/kiosk/inbox/segments?answer=x"):
        response = client.get(path)
        assert response.status_code == 303 and "/kiosk/login" in response.headers["Location"]
    assert client.post(f"/kiosk/inbox/{asked[PHONE]}/answer", data={"answer": "x"}).status_code == 303
    assert answers(node) == []


def test_list_newest_first_with_the_unanswered_count_in_the_menu(kiosk, node, asked):
    html = kiosk.get("/kiosk/inbox").get_data(as_text=True)
    assert html.index(OTHER_PHONE) < html.index(PHONE)
    assert 'class="count"' in html and ">2</span>" in html
    assert QUESTION not in html  # the list shows no text


def test_thread_opens_texts_links_requests_and_is_audited(kiosk, node, asked):
    html = kiosk.get(f"/kiosk/inbox/{asked[PHONE]}").get_data(as_text=True)
    assert QUESTION in html
    code = node.store.read().execute("SELECT tracking_code FROM requests").fetchone()[0]
    assert f"/kiosk/requests/{code}" in html
    [(actor, subject, details)] = node.store.read().execute(
        "SELECT actor, subject, details FROM audit_log WHERE action = ?", [audit.DATA_ACCESS]).fetchall()
    assert (actor, subject) == ("siti", f"inbox:{asked[PHONE]}") and audit.VIA_INBOX_THREAD in details


def test_an_officer_without_the_key_sees_sealed_texts_and_no_access_is_logged(client, node, asked):
    add_officer(node, "budi", grant=False)
    login(client, "budi")
    html = client.get(f"/kiosk/inbox/{asked[PHONE]}").get_data(as_text=True)
    assert QUESTION not in html and "\u2022" * 6 in html
    assert node.store.read().execute("SELECT count(*) FROM audit_log WHERE action = ?",
                                     [audit.DATA_ACCESS]).fetchone()[0] == 0


def test_answer_is_queued_once_for_that_phone_and_closes_the_thread(kiosk, node, asked):
    page = kiosk.get(f"/kiosk/inbox/{asked[PHONE]}").get_data(as_text=True)
    form = hidden(page)
    form["answer"] = "Kantor buka Sabtu 08.00-12.00."
    done = kiosk.post(f"/kiosk/inbox/{asked[PHONE]}/answer", data=form)
    assert done.status_code == 303
    again = kiosk.post(f"/kiosk/inbox/{asked[PHONE]}/answer", data=form)  # a double click
    assert again.status_code == 303
    [sms] = answers(node)
    assert (sms["to"], sms["body"], sms["status"]) == (PHONE, "Kantor buka Sabtu 08.00-12.00.", "queued")
    html = kiosk.get(done.headers["Location"]).get_data(as_text=True)
    assert "Kantor buka Sabtu 08.00-12.00." in html and "sms-queued" in html
    assert threads.open_threads(node.store.read()) == 1
    assert node.store.read().execute("SELECT count(*) FROM audit_log WHERE action = ?",
                                     [audit.INBOX_ANSWERED]).fetchone()[0] == 1


def test_mark_handled_without_an_answer(kiosk, node, asked):
    form = hidden(kiosk.get(f"/kiosk/inbox/{asked[OTHER_PHONE]}").get_data(as_text=True))
    assert kiosk.post(f"/kiosk/inbox/{asked[OTHER_PHONE]}/handled", data=form).status_code == 303
    assert answers(node) == [] and threads.open_threads(node.store.read()) == 1


def test_bad_paths(kiosk, node, asked):
    page = kiosk.get(f"/kiosk/inbox/{asked[PHONE]}").get_data(as_text=True)
    form = hidden(page)
    assert kiosk.get("/kiosk/inbox/999").status_code == 404
    assert kiosk.post("/kiosk/inbox/999/answer", data={**form, "answer": "x"}).status_code == 404
    assert kiosk.post("/kiosk/inbox/999/handled", data=form).status_code == 404
    assert kiosk.get("/kiosk/inbox/abc").status_code == 404
    assert kiosk.post(f"/kiosk/inbox/{asked[PHONE]}/answer", data={**form, "answer": "  "}).status_code == 422
    too_long = kiosk.post(f"/kiosk/inbox/{asked[PHONE]}/answer", data={**form, "answer": "x" * 600})
    assert too_long.status_code == 422 and "x" * 600 in too_long.get_data(as_text=True)  # kept for shortening
    no_csrf = kiosk.post(f"/kiosk/inbox/{asked[PHONE]}/answer", data={"answer": "ok"})
    assert no_csrf.status_code == 400
    forged = kiosk.post(f"/kiosk/inbox/{asked[PHONE]}/answer",
                        data={"csrf_token": form["csrf_token"], "form_token": "forged.token", "answer": "ok"})
    assert forged.status_code == 400
    assert kiosk.post(f"/kiosk/inbox/{asked[PHONE]}/handled", data={}).status_code == 400
    assert answers(node) == [] and threads.open_threads(node.store.read()) == 2


def test_segment_count_while_typing(kiosk):
    one = kiosk.get("/kiosk/inbox/segments", query_string={"answer": "ya"}).get_json()
    assert (one["segments"], one["max"], one["encoding"]) == (1, 3, "GSM-7")
    four = kiosk.get("/kiosk/inbox/segments", query_string={"answer": "y" * 500}).get_json()
    assert four["segments"] == 4 and "4" in four["text"]
    assert kiosk.get("/kiosk/inbox/segments", query_string={"answer": "x" * 5000}).status_code == 200
