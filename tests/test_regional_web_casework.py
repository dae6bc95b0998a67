"""#12 in the case workers' web view: the node's transitions table, a confirmed reopen, 422 with the count."""

from __future__ import annotations

import pytest

from tests.test_sync_web import _csrf, _login, _seed, regional  # noqa: F401

LONG = ("Kantor desa buka Senin-Jumat 08.00-14.00, loket 2. Bawa KTP asli, Kartu Keluarga dan satu fotokopi "
        "masing-masing; keluarga boleh mengambil dengan surat kuasa bertanda tangan. ") * 3


@pytest.fixture
def worker(regional):  # noqa: F811
    app, store = regional
    request = _seed(store)
    client = app.test_client()
    assert _login(client, store).status_code == 302
    return client, store, request


def _post(client, request, lang="en", **form):
    page = client.get(f"/requests/{request['id']}?lang={lang}").get_data(as_text=True)
    return client.post(f"/requests/{request['id']}/status?lang={lang}", data={**form, "csrf_token": _csrf(page)})


def _events(store, request):
    return [(e["status"], e["note"], e["internal"], e["reopen"]) for e in store.history(request["id"])
            if e["status"] != "received"]


def test_a_note_too_long_is_422_with_the_count_localized_and_kept_in_the_form(worker):
    client, store, request = worker
    refused = _post(client, request, status="ready", note=LONG)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "segments, at most 3" in html and "Kantor desa buka" in html  # what was typed is not lost
    parts = int(html.split("citizen&#39;s SMS: ")[1].split()[0]) if "&#39;" in html else \
        int(html.split("citizen's SMS: ")[1].split()[0])
    assert parts > 3
    indonesian = _post(client, request, lang="id", status="ready", note=LONG)
    text = indonesian.get_data(as_text=True)
    assert indonesian.status_code == 422 and f"{parts} segmen" in text and "at most" not in text
    assert _events(store, request) == [] and store.get_request(request["id"])["status"] == "received"
    kept = _post(client, request, status="ready", note=LONG, internal="1")
    assert kept.status_code == 302
    assert _events(store, request) == [("ready", LONG.strip(), 1, 0)]


def test_a_closed_case_reopens_only_with_the_confirmation(worker):
    client, store, request = worker
    for status in ("ready", "closed"):
        assert _post(client, request, status=status).status_code == 302
    page = client.get(f"/requests/{request['id']}?lang=en").get_data(as_text=True)
    assert 'name="reopen"' in page
    refused = _post(client, request, status="in_progress", note="warga keberatan")
    assert refused.status_code == 409 and "confirmation" in refused.get_data(as_text=True)
    assert store.get_request(request["id"])["status"] == "closed"
    done = _post(client, request, status="in_progress", note="warga keberatan", reopen="1", internal="1")
    assert done.status_code == 302
    assert store.get_request(request["id"])["status"] == "in_progress"
    assert _events(store, request)[-1] == ("in_progress", "warga keberatan", 1, 1)
    history = client.get(f"/requests/{request['id']}?lang=en").get_data(as_text=True)
    assert "(reopened)" in history and "(internal)" in history


@pytest.mark.parametrize("form", [{"status": "closed"}, {"status": "received"}, {"status": "bogus"},
                                  {"status": "\u0000\u202e"}, {"status": "ready", "note": "\U0001f600" * 5000},
                                  {"status": "received", "note": "x"}, {}])
def test_bad_input_is_refused_never_500_and_writes_nothing(worker, form):
    client, store, request = worker
    resp = _post(client, request, **form)
    assert resp.status_code in (409, 422), resp.status_code
    assert _events(store, request) == []


def test_a_rejection_reason_is_the_citizens_even_if_ticked_internal(worker):
    client, store, request = worker
    assert _post(client, request, status="rejected", note="NIK tidak cocok", internal="1").status_code == 302
    assert _events(store, request) == [("rejected", "NIK tidak cocok", 0, 0)]


def test_the_status_form_offers_the_services_rejection_categories(worker):
    """#13.7: a select beside the note, offered while a rejection is; the chosen code is stored."""
    client, store, request = worker
    page = client.get(f"/requests/{request['id']}?lang=id").get_data(as_text=True)
    assert 'name="reason_code"' in page and "Berkas tidak lengkap" in page and "Kategori alasan penolakan" in page
    assert _post(client, request, status="rejected", note="KK belum ada", reason_code="mismatch").status_code == 302
    assert store.read().query("SELECT reject_reason FROM requests WHERE id = ?", [request["id"]]) == [
        {"reject_reason": "mismatch"}]
    closed = client.get(f"/requests/{request['id']}?lang=id").get_data(as_text=True)
    assert 'name="reason_code"' not in closed  # rejected: no rejection on offer any more
