"""The officer's queue: filters, search, detail, status actions."""

from __future__ import annotations

import pytest

from channels.kiosk import queue
from gateway.cases import records as cases
from gateway.intake import codes
from gateway.intake.pipeline import Submission
from tests.conftest import NIK, node_keys_of
from tests.kiosk_support import add_officer, hidden, login

MOTHER = "3201015508900002"


@pytest.fixture
def kiosk(client, node):
    add_officer(node)
    login(client)
    return client


@pytest.fixture
def requests_(node):
    p = node.pipeline
    return {
        "dom": p.submit(Submission("sms", "DOMISILI", {"nik": NIK, "name": "Siti", "address": "Krajan"},
                                   sender="081234567890")).request,
        "lahir": p.submit(Submission("web", "LAHIR", {"child_name": "Budi", "birth_date": "01-02-2024",
                                                      "mother_nik": MOTHER})).request,
        "aduan": p.submit(Submission("ussd", "ADUAN", {"message": "lampu mati"}, sender="+6285711112222")).request,
    }


def _codes(html: str, requests_: dict) -> set[str]:
    return {k for k, r in requests_.items() if r["tracking_code"] in html}


def test_queue_lists_and_filters(kiosk, requests_):
    assert _codes(kiosk.get("/kiosk/queue").get_data(as_text=True), requests_) == {"dom", "lahir", "aduan"}
    assert _codes(kiosk.get("/kiosk/queue?channel=web").get_data(as_text=True), requests_) == {"lahir"}
    assert _codes(kiosk.get("/kiosk/queue?service=ADUAN").get_data(as_text=True), requests_) == {"aduan"}
    assert _codes(kiosk.get("/kiosk/queue?status=ready").get_data(as_text=True), requests_) == set()
    assert _codes(kiosk.get("/kiosk/queue?status=bogus").get_data(as_text=True), requests_) == {"dom", "lahir", "aduan"}


def test_search_by_code_nik_and_phone(kiosk, requests_):
    code = requests_["aduan"]["tracking_code"]
    assert _codes(kiosk.get(f"/kiosk/queue?q={code.lower().replace('-', '')}").get_data(as_text=True),
                  requests_) == {"aduan"}
    assert _codes(kiosk.get(f"/kiosk/queue?q={NIK}").get_data(as_text=True), requests_) == {"dom"}
    # a NIK in any field (here the mother's), typed with spaces
    spaced = " ".join(MOTHER[i:i + 4] for i in range(0, 16, 4))
    assert _codes(kiosk.get("/kiosk/queue", query_string={"q": spaced}).get_data(as_text=True), requests_) == {"lahir"}
    assert _codes(kiosk.get("/kiosk/queue?q=0812 3456 7890").get_data(as_text=True), requests_) == {"dom"}
    assert _codes(kiosk.get("/kiosk/queue?q=%2B6285711112222").get_data(as_text=True), requests_) == {"aduan"}
    junk = kiosk.get("/kiosk/queue?q=hello").get_data(as_text=True)
    assert _codes(junk, requests_) == set() and "NIK 16 digit" in junk


def test_search_terms_are_pure_and_cover_each_kind():
    assert queue.search_terms("") == []
    assert ("nik", NIK) in queue.search_terms(NIK)
    assert queue.search_terms("abc") == []
    assert queue.search_terms("081234567890")[-1] == ("phone", "+6281234567890")
    code = codes.generate()
    assert queue.search_terms(code.lower()) == [("code", code)]


def test_detail_shows_fields_and_history(kiosk, requests_):
    html = kiosk.get(f"/kiosk/requests/{requests_['dom']['tracking_code']}").get_data(as_text=True)
    assert NIK in html and "Krajan" in html and "+6281234567890" in html
    assert "diterima" in html
    assert kiosk.get("/kiosk/requests/ABCDE-12345").status_code == 404


def _act(kiosk, code, status, note=""):
    page = kiosk.get(f"/kiosk/requests/{code}").get_data(as_text=True)
    return kiosk.post(f"/kiosk/requests/{code}/status", data={**hidden(page), "status": status, "note": note})


def _events(node, request_id):
    """(status, actor, note) with notes opened by the node key: on disk they are sealed."""
    opener = node.vault.opener(node_keys_of(node))
    return [(e["status"], e["actor"], e["note"]) for e in cases.history(node.store.read(), request_id, opener)]


def test_ready_note_and_hand_over_are_events_with_their_own_ids(kiosk, node, requests_):
    row = requests_["dom"]
    code = row["tracking_code"]
    assert _act(kiosk, code, "ready").status_code == 303
    assert _act(kiosk, code, "note", "surat sudah ditandatangani").status_code == 303
    assert _act(kiosk, code, "closed").status_code == 303
    assert _events(node, row["id"]) == [("received", "sms", None), ("ready", "siti", None),
                                         ("ready", "siti", "surat sudah ditandatangani"), ("closed", "siti", None)]
    ids = [r[0] for r in node.store.read().execute("SELECT id FROM status_events").fetchall()]
    assert len(ids) == len(set(ids))
    # the note is on disk only sealed (the column `note` stays NULL), and opened for the officer
    raw = node.store.read().execute("SELECT note, note_sealed FROM status_events WHERE note_sealed IS NOT NULL"
                                    ).fetchall()
    assert len(raw) == 1 and raw[0][0] is None and b"ditandatangani" not in raw[0][1]
    assert "surat sudah ditandatangani" in kiosk.get(f"/kiosk/requests/{code}").get_data(as_text=True)
    status = node.store.read().execute("SELECT status FROM requests WHERE id = ?", [row["id"]]).fetchone()[0]
    assert status == "closed"


def test_double_click_on_an_action_records_one_event(kiosk, node, requests_):
    row = requests_["lahir"]
    page = kiosk.get(f"/kiosk/requests/{row['tracking_code']}").get_data(as_text=True)
    data = {**hidden(page), "status": "ready"}
    first = kiosk.post(f"/kiosk/requests/{row['tracking_code']}/status", data=data)
    second = kiosk.post(f"/kiosk/requests/{row['tracking_code']}/status", data=data)
    assert first.status_code == 303 and second.status_code == 303
    assert _events(node, row["id"]).count(("ready", "siti", None)) == 1


def test_invalid_transition_gets_a_clear_message(kiosk, node, requests_):
    row = requests_["aduan"]
    _act(kiosk, row["tracking_code"], "ready")
    response = _act(kiosk, row["tracking_code"], "in_progress")
    assert response.status_code == 409
    assert "sudah berstatus “siap diambil”; tidak dapat diubah menjadi “sedang diproses”" in response.get_data(as_text=True)
    assert _act(kiosk, row["tracking_code"], "teleport").status_code == 422
    assert _act(kiosk, row["tracking_code"], "note").status_code == 422  # empty note
    assert _act(kiosk, row["tracking_code"], "rejected").status_code == 422  # rejection needs a reason
    assert len(_events(node, row["id"])) == 2


def test_actions_need_the_session_csrf_token(kiosk, node, requests_):
    row = requests_["dom"]
    page = kiosk.get(f"/kiosk/requests/{row['tracking_code']}").get_data(as_text=True)
    data = {**hidden(page), "status": "ready"}
    first = data["csrf_token"][0]
    data["csrf_token"] = ("y" if first == "x" else "x") + data["csrf_token"][1:]  # always a different token
    assert kiosk.post(f"/kiosk/requests/{row['tracking_code']}/status", data=data).status_code == 400
    assert len(_events(node, row["id"])) == 1


def test_queue_pages_fifty_at_a_time(kiosk, node):
    for i in range(queue.PAGE_SIZE + 3):
        node.pipeline.submit(Submission("sms", "ADUAN", {"message": f"aduan {i}"}))
    codes_in_order = [r[0] for r in node.store.read().execute("SELECT tracking_code FROM requests ORDER BY seq DESC")]
    first = kiosk.get("/kiosk/queue").get_data(as_text=True)
    assert all(c in first for c in codes_in_order[:50]) and not any(c in first for c in codes_in_order[50:])
    assert "page=2" in first and "page=0" not in first
    second = kiosk.get("/kiosk/queue?page=2").get_data(as_text=True)
    assert all(c in second for c in codes_in_order[50:]) and "page=1" in second and "page=3" not in second
    assert kiosk.get("/kiosk/queue?page=zz").status_code == 200


def test_a_rejection_is_filed_under_the_category_chosen_beside_its_reason(kiosk, node, requests_):
    """#13.7: the service's reject_reasons are offered as a select; the code lands on the event, a
    forged one is dropped (the district counts it "unknown"); a service without reasons offers none."""
    dom = requests_["dom"]
    page = kiosk.get(f"/kiosk/requests/{dom['tracking_code']}").get_data(as_text=True)
    assert '<select id="reason_code" name="reason_code">' in page and "Berkas tidak lengkap" in page
    response = kiosk.post(f"/kiosk/requests/{dom['tracking_code']}/status",
                          data={**hidden(page), "status": "rejected", "note": "KK belum ada",
                                "reason_code": "incomplete"})
    assert response.status_code in (302, 303)
    aduan = requests_["aduan"]
    page = kiosk.get(f"/kiosk/requests/{aduan['tracking_code']}").get_data(as_text=True)
    assert "reason_code" not in page  # ADUAN declares no reject_reasons
    kiosk.post(f"/kiosk/requests/{aduan['tracking_code']}/status",
               data={**hidden(page), "status": "rejected", "note": "bukan wewenang desa", "reason_code": "incomplete"})
    lahir = requests_["lahir"]
    page = kiosk.get(f"/kiosk/requests/{lahir['tracking_code']}").get_data(as_text=True)
    kiosk.post(f"/kiosk/requests/{lahir['tracking_code']}/status",
               data={**hidden(page), "status": "rejected", "note": "x", "reason_code": "<script>"})
    reasons = dict(node.store.read().execute(
        "SELECT request_id, reason FROM status_events WHERE status = 'rejected'").fetchall())
    assert reasons == {dom["id"]: "incomplete", aduan["id"]: None, lahir["id"]: None}
