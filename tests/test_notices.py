"""#12: citizens hear about every change to their case, with the reason, from any path.

Real SQLite, the real ``simpul`` console script, the real kiosk app (Flask
test client; the Chromium path is in test_browser_notices.py).
"""

from __future__ import annotations

import json

import pytest

from gateway.cases import contacts, transitions
from gateway.cases import records as cases
from gateway.errors import NoteTooLong, StatusError
from gateway.i18n import LOCALES
from gateway.intake.catalog import load_catalog
from gateway.intake.pipeline import Submission
from gateway.outbox import notices, segments
from gateway.outbox.queue import list_outbound
from tests.conftest import NIK, run_cli, write_config
from tests.kiosk_support import add_officer, hidden, login

PHONE = "+6281234567890"
REASON = ("NIK ibu pada formulir tidak sama dengan KTP. Datang ke kantor desa hari Senin-Jumat pukul 08.00-14.00 "
          "dengan KTP asli ibu dan Kartu Keluarga, lalu ajukan lagi lewat SMS atau kios.")


# -- segment arithmetic: one function -------------------------------------

def test_segments_gsm7_extension_ucs2_and_surrogates():
    count = segments.count
    assert count("a" * 160) == segments.Segments("GSM-7", 160, 1)
    assert count("a" * 161) == segments.Segments("GSM-7", 161, 2)  # 153 per part
    assert count("a" * 306).parts == 2 and count("a" * 307).parts == 3
    assert count("[" * 80).units == 160 and count("[" * 81).parts == 2  # extension table: 2 septets
    assert count("€" * 80) == segments.Segments("GSM-7", 160, 1)  # € is GSM-7 (extension), not UCS-2
    assert count("€" * 80 + "a").parts == 2
    assert count("\u201cquoted\u201d" + "a" * 62) == segments.Segments("UCS-2", 70, 1)  # curly quotes: UCS-2
    assert count("\u2019" + "a" * 70).parts == 2
    assert count("\u2705" + "a" * 69).parts == 1 and count("\u2705" + "a" * 70).parts == 2  # BMP emoji: 1 unit
    assert count("😀" * 35) == segments.Segments("UCS-2", 70, 1)  # surrogate pair: 2 units
    assert count("😀" * 36).parts == 2 and count("a" * 67 * 2 + "😀").parts == 3  # 67 per part


def test_every_status_sms_without_a_note_fits_one_segment_with_the_longest_name_everywhere():
    catalog = load_catalog(None)
    code = "7KQ2M-XP9RH"
    for locale in LOCALES:
        longest = max(catalog.services, key=lambda s: len(s.text("name", locale)))
        request = {"tracking_code": code, "service": longest.code}
        for status in transitions.STATUSES:
            text = notices.text_for(catalog, request, status, locale, None)
            assert longest.text("name", locale) in text and code in text
            assert segments.count(text).parts == 1, text


def test_note_limit_is_three_segments_in_the_worst_locale():
    catalog = load_catalog(None)
    request = {"tracking_code": "7KQ2M-XP9RH", "service": "DOMISILI"}
    assert notices.check_note(catalog, request, "rejected", REASON).parts == 2
    with pytest.raises(NoteTooLong) as refused:
        notices.check_note(catalog, request, "rejected", REASON * 3)
    assert refused.value.segments > 3 and refused.value.limit == 3


def test_transition_table():
    assert transitions.allowed("received", "ready") and transitions.allowed("received", "rejected")
    assert not transitions.allowed("received", "closed") and not transitions.allowed("ready", "rejected")
    assert not transitions.allowed("closed", "in_progress")
    assert transitions.allowed("closed", "in_progress", reopen=True)
    assert not transitions.allowed("closed", "ready", reopen=True)
    with pytest.raises(StatusError, match="reopen"):
        transitions.check("closed", "in_progress", note=False)
    assert transitions.check("ready", "ready", note=True) == transitions.NOTE


# -- the CLI ---------------------------------------------------------------

@pytest.fixture
def cli_node(tmp_path, node, config):
    """A request from an English-speaking citizen, and a config file for the real console script."""
    request = node.pipeline.submit(Submission("sms", "DOMISILI", {"nik": NIK, "name": "Siti", "address": "Krajan"},
                                              sender=PHONE)).request
    node.store.write(lambda db: contacts.remember_locale(db, PHONE, "en"))
    node.close()
    write_config(tmp_path / "config.toml", f'[storage]\npath = "{config["storage.path"]}"\n'
                                           '[jobs]\nenabled = false\n[node]\ndefault_locale = "en"\n')
    return request


def _outbox(tmp_path) -> list[dict]:
    out = run_cli("outbox", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_set_status_cli_tells_the_citizen_with_the_full_reason(tmp_path, cli_node):
    code = cli_node["tracking_code"]
    done = run_cli("set-status", code.lower(), "rejected", "--note", REASON, "--actor", "ani", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [row] = _outbox(tmp_path)
    assert row["to"] == PHONE and row["locale"] == "en" and row["kind"] == "status"
    assert row["body"] == f"Request Domicile certificate {code}: rejected. Reason: {REASON}"
    assert row["segments"] == segments.count(row["body"]).parts == 2
    # the closed hand-over sends nothing: the citizen is at the counter
    assert run_cli("set-status", code, "closed", cwd=tmp_path).returncode == 0
    assert len(_outbox(tmp_path)) == 1


def test_set_status_cli_exit_codes(tmp_path, cli_node):
    code = cli_node["tracking_code"]
    assert run_cli("set-status", "NOT-A-CODE", "ready", cwd=tmp_path).returncode == 2
    bad_check = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert run_cli("set-status", bad_check, "ready", cwd=tmp_path).returncode == 2
    from gateway.intake.codes import generate

    assert run_cli("set-status", generate(), "ready", cwd=tmp_path).returncode == 1
    refused = run_cli("set-status", code, "closed", cwd=tmp_path)  # received -> closed is not in the table
    assert refused.returncode == 2 and "received" in refused.stderr and "closed" in refused.stderr
    too_long = run_cli("set-status", code, "in_progress", "--note", REASON * 3, cwd=tmp_path)
    assert too_long.returncode == 2 and "segments" in too_long.stderr
    assert _outbox(tmp_path) == []  # nothing written by a refusal
    internal = run_cli("set-status", code, "in_progress", "--note", REASON * 3, "--internal", cwd=tmp_path)
    assert internal.returncode == 0, internal.stderr
    [row] = _outbox(tmp_path)
    assert "Reason" not in row["body"] and "Note" not in row["body"] and row["segments"] == 1


def test_reopen_is_refused_without_the_flag_and_audited_with_it(tmp_path, cli_node):
    code = cli_node["tracking_code"]
    for status in ("ready", "closed"):
        assert run_cli("set-status", code, status, cwd=tmp_path).returncode == 0
    refused = run_cli("set-status", code, "in_progress", cwd=tmp_path)
    assert refused.returncode == 2 and "--reopen" in refused.stderr
    assert len(_outbox(tmp_path)) == 1  # only "ready"
    assert run_cli("set-status", code, "in_progress", "--reopen", "--actor", "budi", cwd=tmp_path).returncode == 0
    import sqlite_utils

    db = sqlite_utils.Database(tmp_path / "simpul.db")
    actions = [r["action"] for r in db.query("SELECT action FROM audit_log WHERE actor = 'budi'")]
    assert actions == ["reopen"]
    assert "being processed" in _outbox(tmp_path)[0]["body"]


# -- the rule in the core, the track page, CEK -----------------------------

@pytest.fixture
def request_(node):
    return node.pipeline.submit(Submission("sms", "DOMISILI", {"nik": NIK, "name": "Siti", "address": "Krajan"},
                                           sender=PHONE)).request


def test_regional_override_is_applied_and_audited(node, request_):
    node.store.write(lambda db: cases.change_status(db, request_["id"], "ready", actor="ani"))
    node.store.write(lambda db: cases.change_status(db, request_["id"], "received", actor="regional",
                                                    origin="regional", enforce=False, notifier=node.notifier))
    db = node.store.read()
    assert cases.get(db, request_["id"])["status"] == "received"
    assert db.execute("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()[0] == "status_override"
    [sms] = list_outbound(db)  # the citizen hears of the override like of any change
    assert request_["tracking_code"] in sms["body"] and "diterima" in sms["body"]


def test_track_page_and_cek_show_the_reason_but_never_an_internal_note(client, node, request_):
    from gateway.cases import actions

    row = cases.get(node.store.read(), request_["id"])
    actions.set_status(node, row, "in_progress", actor="ani", note="cek ulang NIK di dukcapil", internal=True)
    row = cases.get(node.store.read(), request_["id"])
    actions.set_status(node, row, "rejected", actor="ani", note="NIK tidak cocok dengan KK")
    page = client.get(f"/track/{row['tracking_code']}").get_data(as_text=True)
    assert "NIK tidak cocok dengan KK" in page and "dukcapil" not in page
    assert 'id="reason"' in page
    from channels.sms.inbound import Handler, InboundSms

    reply = Handler(node).handle(InboundSms("gammu", "m-1", PHONE, f"CEK {row['tracking_code']}"),
                                 queue_reply=True).reply
    assert reply and "NIK tidak cocok dengan KK" in reply and segments.fits(reply)
    stored = node.store.read().execute("SELECT note, note_sealed IS NOT NULL, internal FROM status_events "
                                       "WHERE note IS NOT NULL OR note_sealed IS NOT NULL ORDER BY seq").fetchall()
    assert stored == [(None, 1, 1), ("NIK tidak cocok dengan KK", 0, 0)]  # internal sealed, citizen's readable


# -- the kiosk (test client) ----------------------------------------------

@pytest.fixture
def kiosk(client, node):
    add_officer(node)
    login(client)
    return client


def _post(kiosk, code, **form):
    page = kiosk.get(f"/kiosk/requests/{code}").get_data(as_text=True)
    return kiosk.post(f"/kiosk/requests/{code}/status", data={**hidden(page), **form})


def test_kiosk_refuses_a_note_too_long_with_the_count_and_counts_as_typed(kiosk, node, request_):
    code = request_["tracking_code"]
    answer = _post(kiosk, code, status="rejected", note=REASON * 3)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "segmen" in html and REASON[:40] in html  # the count is shown, the typed text kept
    assert list_outbound(node.store.read()) == []
    counted = kiosk.get(f"/kiosk/requests/{code}/segments", query_string={"note": REASON}).get_json()
    assert counted["segments"] == 2 and counted["max"] == 3
    assert kiosk.get(f"/kiosk/requests/{code}/segments", query_string={"note": "😀" * 200}).get_json()["segments"] > 3


def test_kiosk_history_lists_every_sms_and_rebuilds_a_blanked_text(kiosk, node, request_):
    code = request_["tracking_code"]
    assert _post(kiosk, code, status="in_progress", note="berkas lengkap", for_citizen="1").status_code == 303
    assert _post(kiosk, code, status="ready").status_code == 303
    assert _post(kiosk, code, status="closed").status_code == 303  # hand-over: no SMS
    rows = list_outbound(node.store.read())
    assert len(rows) == 2
    node.store.write(lambda db: db.execute("UPDATE outbound SET body = '', status = 'delivered'"))
    page = kiosk.get(f"/kiosk/requests/{code}").get_data(as_text=True)
    assert "Permohonan Surat Keterangan Domisili" in page and "Catatan: berkas lengkap" in page
    assert page.count("sampai di HP") == 2


def test_kiosk_reopen_needs_the_confirmation(kiosk, node, request_):
    code = request_["tracking_code"]
    for status in ("ready", "closed"):
        assert _post(kiosk, code, status=status).status_code == 303
    assert _post(kiosk, code, status="in_progress").status_code == 409
    assert cases.get_by_code(node.store.read(), code)["status"] == "closed"
    assert _post(kiosk, code, status="in_progress", reopen="1").status_code == 303
    assert cases.get_by_code(node.store.read(), code)["status"] == "in_progress"
    actions = [r[0] for r in node.store.read().execute("SELECT action FROM audit_log WHERE actor = 'siti'")]
    assert "reopen" in actions


def test_set_status_cli_files_a_rejection_under_a_catalog_category(tmp_path, cli_node):
    import sqlite3

    code = cli_node["tracking_code"]
    for args in (("rejected", "--note", REASON, "--reason", "no-such-category"),
                 ("in_progress", "--reason", "incomplete")):  # a category only files a rejection
        refused = run_cli("set-status", code, *args, cwd=tmp_path)
        assert refused.returncode == 2 and "incomplete, mismatch, not_eligible" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert _outbox(tmp_path) == []  # nothing written by a refusal
    done = run_cli("set-status", code, "rejected", "--note", REASON, "--reason", "mismatch", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "simpul.db") as db:
        assert db.execute("SELECT status, reason FROM status_events WHERE status = 'rejected'").fetchall() == [
            ("rejected", "mismatch")]
