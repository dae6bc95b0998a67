"""Right of access (UU 27/2022): an admin prints everything held about one NIK or phone."""

from __future__ import annotations

import json

import pytest

from gateway.cases import records as cases
from gateway.intake.pipeline import Submission
from gateway.outbox import queue as outbound
from tests.conftest import NIK
from tests.kiosk_support import add_officer, hidden, login

MOTHER = "3201015508900002"
OTHER_NIK = "3201012309850003"
PHONE = "+6281234567890"
OTHER_PHONE = "+6285711112222"


@pytest.fixture
def people(node):
    p = node.pipeline
    dom = p.submit(Submission("sms", "DOMISILI", {"nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan"},
                              sender="081234567890")).request
    lahir = p.submit(Submission("web", "LAHIR", {"child_name": "Budi Kecil", "birth_date": "01-02-2024",
                                                 "mother_nik": MOTHER}, sender=PHONE)).request
    other = p.submit(Submission("sms", "SKTM", {"nik": OTHER_NIK, "name": "Joko Lain", "purpose": "sekolah"},
                                sender=OTHER_PHONE)).request

    node.vault.ready()

    def seed(db):
        cases.change_status(db, dom["id"], "in_progress", actor="budi", note="berkas lengkap", vault=node.vault)
        outbound.enqueue(db, to=PHONE, body="Permohonan Anda diproses", key="n1", request_id=dom["id"])
        outbound.enqueue(db, to=OTHER_PHONE, body="Pesan untuk Joko", key="n2", request_id=other["id"])
        for mid, phone, req, reply in (("m1", PHONE, dom["id"], "Kode KODE-SITI"),
                                       ("m2", OTHER_PHONE, other["id"], "Kode KODE-JOKO")):
            db.execute("INSERT INTO sms_inbound (message_id, provider, phone, kind, request_id, reply, replied, "
                       "received_at) VALUES (?, 'twilio', ?, 'submit', ?, ?, 1, '2026-11-20T01:00:00Z')",
                       [mid, phone, req, reply])
        db.execute("INSERT INTO contacts (phone, locale, updated_at) VALUES (?, 'en', '2026-11-20T01:00:00Z')",
                   [PHONE])
        db.execute("INSERT INTO feedback (request_id, rating, comment, locale, created_at) "
                   "VALUES (?, 4, 'petugas ramah sekali', 'id', '2026-11-21T01:00:00Z')", [dom["id"]])

    node.store.write(seed)
    return {"dom": dom, "lahir": lahir, "other": other}


@pytest.fixture
def admin(client, node):
    add_officer(node, "kades", role="admin")
    login(client, "kades")
    return client


def _ask(client, by: str, value: str, **extra):
    token = hidden(client.get("/kiosk/access").get_data(as_text=True))["csrf_token"]
    data = {"csrf_token": token, "by": by, "value": value, **extra}
    return client.post("/kiosk/access", data=data)


def _access_entries(node) -> list[dict]:
    return list(node.store.read().query("SELECT * FROM audit_log WHERE action = 'data_access'"))


def test_admin_finds_everything_by_nik(admin, node, people):
    response = _ask(admin, "nik", NIK)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert people["dom"]["tracking_code"] in page
    assert "Siti Aminah" in page and "Dusun Krajan" in page and "Nama" in page  # value with its label
    assert "berkas lengkap" in page and "budi" in page  # history with who and note
    assert "Permohonan Anda diproses" in page and "Kode KODE-SITI" in page  # outbound and inbound
    assert "petugas ramah sekali" in page and "English" in page  # feedback, stored language
    assert "30 hari" in page and "masa retensi" in page  # purposes and retention, in Indonesian
    # someone else's data is not there
    for leak in ("Joko Lain", OTHER_NIK, people["other"]["tracking_code"], "Pesan untuk Joko", "KODE-JOKO",
                 "Budi Kecil"):
        assert leak not in page


def test_mother_nik_of_a_birth_registration_counts(admin, node, people):
    page = _ask(admin, "nik", MOTHER).get_data(as_text=True)
    assert people["lahir"]["tracking_code"] in page and "Budi Kecil" in page
    assert people["dom"]["tracking_code"] not in page and "Siti Aminah" not in page


@pytest.mark.parametrize("written", ["081234567890", "+6281234567890", "6281234567890", "0812-3456-7890"])
def test_admin_finds_by_phone_in_any_form(admin, node, people, written):
    page = _ask(admin, "phone", written).get_data(as_text=True)
    assert people["dom"]["tracking_code"] in page and people["lahir"]["tracking_code"] in page
    assert "Permohonan Anda diproses" in page and "KODE-SITI" in page
    assert people["other"]["tracking_code"] not in page and "Joko Lain" not in page and "KODE-JOKO" not in page


def test_audit_entry_holds_neither_nik_nor_phone(admin, node, people):
    _ask(admin, "nik", NIK)
    _ask(admin, "phone", "081234567890")
    entries = _access_entries(node)
    assert [(e["actor"], e["subject"], json.loads(e["details"])) for e in entries] == [
        ("kades", None, {"by": "nik", "via": "access_page"}), ("kades", None, {"by": "phone", "via": "access_page"})]
    text = json.dumps(entries)
    assert NIK not in text and "81234567890" not in text


def test_bad_nik_or_phone_gets_a_localized_error_and_no_audit(admin, node, people):
    response = _ask(admin, "nik", "12345")
    assert response.status_code == 422 and "NIK: harus 16 digit" in response.get_data(as_text=True)
    bad_phone = _ask(admin, "phone", "12")
    assert bad_phone.status_code == 422 and "Nomor HP: " in bad_phone.get_data(as_text=True)
    token = hidden(admin.get("/kiosk/access").get_data(as_text=True))["csrf_token"]
    english = admin.post("/kiosk/access?lang=en", data={"csrf_token": token, "by": "nik", "value": "12345"})
    assert english.status_code == 422 and "NIK: must be 16 digits" in english.get_data(as_text=True)
    assert _access_entries(node) == []


def test_missing_or_forged_csrf_is_refused_without_audit(admin, node, people):
    assert admin.post("/kiosk/access", data={"by": "nik", "value": NIK}).status_code == 400
    forged = admin.post("/kiosk/access", data={"csrf_token": "x" * 43, "by": "nik", "value": NIK})
    assert forged.status_code == 400 and "Siti Aminah" not in forged.get_data(as_text=True)
    assert _access_entries(node) == []


def test_plain_officer_gets_403_and_no_link(client, node, people):
    add_officer(node, "siti", role="officer")
    login(client, "siti")
    assert client.get("/kiosk/access").status_code == 403
    token = hidden(client.get("/kiosk/queue").get_data(as_text=True))["csrf_token"]
    refused = client.post("/kiosk/access", data={"csrf_token": token, "by": "nik", "value": NIK})
    assert refused.status_code == 403 and "Siti Aminah" not in refused.get_data(as_text=True)
    assert 'href="/kiosk/access"' not in client.get("/kiosk/").get_data(as_text=True)
    assert _access_entries(node) == []


def test_admin_sees_the_link_and_an_unknown_person_gets_an_empty_report(admin, node, people):
    assert 'href="/kiosk/access"' in admin.get("/kiosk/").get_data(as_text=True)
    page = _ask(admin, "nik", "3201014101950004").get_data(as_text=True)
    assert "Siti Aminah" not in page and "Joko Lain" not in page and people["dom"]["tracking_code"] not in page
