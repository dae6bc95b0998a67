"""The citizen inbox in real headless Chromium against a real ``simpul serve``: a question texted
through the signed Twilio webhook is answered at /kiosk/inbox and lands in the outbox."""

from __future__ import annotations

import re
import sqlite3

import pytest
import requests
from playwright.sync_api import expect

from tests.browser_support import shot, start_server, stop_server
from tests.conftest import NIK
from tests.sms_helpers import OTHER_PHONE, PHONE, TOKEN, new_sid, sign, twilio_form

pytestmark = [pytest.mark.browser, pytest.mark.slow]
QUESTION = "Pak, kapan kantor desa buka hari Sabtu? Saya mau ambil surat."


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("inbox"), {"siti": "officer"},
                       extra_env={"SIMPUL_TWILIO_AUTH_TOKEN": TOKEN})
    yield srv
    stop_server(srv)


def _sms(server, body, sender=PHONE):
    url = f"{server.url}/channels/sms/twilio"
    form = twilio_form(body, sender, new_sid())
    response = requests.post(url, data=form, headers={"X-Twilio-Signature": sign(url, form)}, timeout=30)
    assert response.status_code == 200
    return response.text


def _outbox(server):
    with sqlite3.connect(server.db_path) as db:
        return db.execute('SELECT "to", body, kind, status FROM outbound WHERE kind = ?', ["answer"]).fetchall()


def test_answer_a_question_from_the_kiosk(browser, server):
    assert "Kode" in _sms(server, f"DOMISILI#{NIK}#Siti Aminah#Dusun Krajan RT 02/03")
    _sms(server, "TANYA " + QUESTION)
    _sms(server, "halo, posyandu bulan ini tanggal berapa?", sender=OTHER_PHONE)
    page = browser.new_context(viewport={"width": 1024, "height": 900}, locale="id-ID").new_page()
    page.goto(f"{server.url}/kiosk/login?next=/kiosk/inbox")
    page.fill("input[name=username]", "siti")
    page.fill("input[name=password]", "kata-sandi-rahasia")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/kiosk/inbox$"))
    assert page.inner_text(".nav-inbox .count") == "2"
    rows = page.locator("table.inbox tbody tr")
    assert rows.count() == 2 and OTHER_PHONE in rows.nth(0).inner_text()  # newest first
    page.click(f"text={PHONE}")
    assert QUESTION in page.inner_text("ol.thread")
    expect(page.locator("a[href^='/kiosk/requests/']")).to_have_count(1)  # the citizen's request, linked
    page.fill("#answer", "Kantor buka Sabtu pukul 08.00-12.00. Surat Anda sudah bisa diambil.")
    page.wait_for_selector("#segments:has-text('SMS jawaban: 1 dari paling banyak 3 segmen')")
    shot(page, "kiosk-inbox")
    page.fill("#answer", "x" * 400)
    page.wait_for_selector("#segments:has-text('SMS jawaban: 3 dari')")
    page.fill("#answer", "Kantor buka Sabtu pukul 08.00-12.00. Surat Anda sudah bisa diambil.")
    page.click("button:has-text('Kirim jawaban')")
    page.wait_for_selector(".alert.ok")
    assert _outbox(server) == [(PHONE, "Kantor buka Sabtu pukul 08.00-12.00. Surat Anda sudah bisa diambil.",
                                "answer", "queued")]
    assert "Kantor buka Sabtu" in page.inner_text("ol.thread li.answer")
    expect(page.locator("ol.thread li.answer .sms-queued")).to_have_count(1)
    assert page.inner_text(".nav-inbox .count") == "1"
    page.goto(f"{server.url}/kiosk/inbox")
    page.click(f"text={OTHER_PHONE}")
    page.click("button:has-text('Tandai selesai')")
    page.wait_for_selector(".alert.ok")
    assert page.locator(".nav-inbox .count").count() == 0
    assert len(_outbox(server)) == 1
    page.context.close()
