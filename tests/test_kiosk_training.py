"""Practice at the kiosk: a separate database, never synced, no SMS, wiped, audited on the live node."""

from __future__ import annotations

import datetime as dt
import html
import json

import pytest

from channels.kiosk import training
from gateway import clock
from gateway.app import create_app
from gateway.config.loader import load_config
from gateway.errors import ConfigError
from gateway.node import Node
from gateway.privacy import audit
from tests.conftest import NIK
from tests.kiosk_support import add_officer, hidden, login

CITIZEN = {"nik": NIK, "name": "Siti Latihan", "address": "Dusun Krajan RT 02/03", "phone": "0812-3456-7890",
           "consent": "yes", "citizen_locale": "id"}


@pytest.fixture
def kiosk(client, node):
    add_officer(node)
    login(client)
    return client


def _post(kiosk, url: str, page: str = "/kiosk/"):
    return kiosk.post(url, data=hidden(kiosk.get(page).get_data(as_text=True)))


def _submit(kiosk) -> str:
    form = kiosk.get("/kiosk/new/DOMISILI").get_data(as_text=True)
    response = kiosk.post("/kiosk/new/DOMISILI", data={**hidden(form), **CITIZEN})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def _count(db, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - test table names


def _audit(node, action: str) -> list[dict]:
    return [dict(r) for r in node.store.read().query(
        "SELECT actor, details FROM audit_log WHERE action = ? ORDER BY seq", [action])]


def test_practice_requests_stay_in_the_training_database_and_no_sms_leaves(kiosk, app, node, tmp_path):
    path = tmp_path / "simpul-training.db"  # beside the live simpul.db
    assert "LATIHAN" not in kiosk.get("/kiosk/").get_data(as_text=True)
    assert _post(kiosk, "/kiosk/training/start").status_code == 303
    home = kiosk.get("/kiosk/").get_data(as_text=True)
    assert "LATIHAN" in home and 'class="kiosk training"' in home
    assert path.exists()

    code = _submit(kiosk)
    assert 'class="r-training">LATIHAN' in kiosk.get(f"/kiosk/receipt/{code}").get_data(as_text=True)
    page = kiosk.get(f"/kiosk/requests/{code}").get_data(as_text=True)
    assert "LATIHAN" in page and "Siti Latihan" in page  # the training node's key opens its own data
    assert kiosk.post(f"/kiosk/requests/{code}/status",
                      data={**hidden(page), "status": "ready", "note": ""}).status_code == 303
    page = kiosk.get(f"/kiosk/requests/{code}").get_data(as_text=True)
    assert code in kiosk.get("/kiosk/queue").get_data(as_text=True)

    trainee = training.of(app).node_for(next(iter(training.of(app)._sessions)))
    tdb = trainee.store.read()
    assert _count(tdb, "requests") == 1
    [sms] = list(tdb.query('SELECT "to", body AS text, status FROM outbound'))
    assert sms["to"] == "+6281234567890" and sms["status"] == "queued"  # what would have been sent ...
    assert html.escape(sms["text"], quote=True) in page  # ... shown on the request's thread
    live = node.store.read()
    assert _count(live, "requests") == 0 and _count(live, "outbound") == 0 and _count(live, "status_events") == 0
    assert [a["actor"] for a in _audit(node, training.TRAINING_START)] == ["siti"]
    assert _count(live, "audit_log") and not _audit(node, audit.SUBMIT)

    # The dashboard counts the live node only.
    assert node.store.read().execute("SELECT count(*) FROM requests").fetchone()[0] == 0

    assert _post(kiosk, "/kiosk/training/end").status_code == 303
    assert not path.exists() and not (tmp_path / "simpul-training.db-wal").exists()
    home = kiosk.get("/kiosk/").get_data(as_text=True)
    assert "LATIHAN" not in home
    assert code not in kiosk.get("/kiosk/queue").get_data(as_text=True)
    assert kiosk.get(f"/kiosk/requests/{code}").status_code == 404
    [end] = _audit(node, training.TRAINING_END)
    assert end["actor"] == "siti" and json.loads(end["details"]) == {"reason": "ended"}
    assert audit.verify(node.store.read()).ok


def test_a_second_practice_starts_empty(kiosk, app):
    _post(kiosk, "/kiosk/training/start")
    code = _submit(kiosk)
    _post(kiosk, "/kiosk/training/end")
    _post(kiosk, "/kiosk/training/start")
    assert code not in kiosk.get("/kiosk/queue").get_data(as_text=True)


def test_an_officer_not_practising_works_live_meanwhile(app, node, kiosk):
    add_officer(node, "budi")
    other = app.test_client()
    login(other, "budi")
    _post(kiosk, "/kiosk/training/start")
    code = _submit(kiosk)
    assert "LATIHAN" not in other.get("/kiosk/").get_data(as_text=True)
    assert code not in other.get("/kiosk/queue").get_data(as_text=True)
    live_code = _submit(other)
    assert live_code not in kiosk.get("/kiosk/queue").get_data(as_text=True)
    assert _count(node.store.read(), "requests") == 1


def test_logout_ends_practice_and_wipes(kiosk, node, tmp_path):
    _post(kiosk, "/kiosk/training/start")
    _submit(kiosk)
    assert _post(kiosk, "/kiosk/logout").status_code == 303
    assert not (tmp_path / "simpul-training.db").exists()
    [end] = _audit(node, training.TRAINING_END)
    assert json.loads(end["details"]) == {"reason": "logout"}


def test_the_sweep_ends_practice_of_a_vanished_session_and_wipes_after_24_hours(kiosk, app, node, tmp_path):
    path = tmp_path / "simpul-training.db"
    state = training.of(app)
    _post(kiosk, "/kiosk/training/start")
    _submit(kiosk)
    [id_hash] = list(state._sessions)
    state.sweep({id_hash}, clock.now() + dt.timedelta(hours=23))
    assert path.exists() and state.practising(id_hash)
    state.sweep({id_hash}, clock.now() + dt.timedelta(hours=24, minutes=1))
    assert not path.exists() and not state.practising(id_hash)
    assert "LATIHAN" not in kiosk.get("/kiosk/").get_data(as_text=True)
    assert [json.loads(e["details"])["reason"] for e in _audit(node, training.TRAINING_END)] == ["expired"]

    _post(kiosk, "/kiosk/training/start")
    assert path.exists()
    state.sweep(set())  # the kiosk session ended (idle timeout): its practice ends with it
    assert not path.exists()
    assert [json.loads(e["details"])["reason"] for e in _audit(node, training.TRAINING_END)] == [
        "expired", "session_gone"]


def test_a_leftover_training_database_is_wiped_at_start(tmp_path):
    leftover = tmp_path / "simpul-training.db"
    leftover.write_bytes(b"old practice")
    config = load_config(overrides={"storage": {"path": str(tmp_path / "simpul.db")}, "jobs": {"enabled": False}})
    node = Node(config)
    try:
        create_app(config=config, node=node)
        assert not leftover.exists()
    finally:
        node.close()


def test_training_path_setting_and_its_guard(tmp_path):
    config = load_config(overrides={"storage": {"path": str(tmp_path / "live.db")},
                                    "kiosk": {"training_path": str(tmp_path / "t" / "practice.db")}})
    assert training.training_path(config) == tmp_path / "t" / "practice.db"
    same = load_config(overrides={"storage": {"path": str(tmp_path / "live.db")},
                                  "kiosk": {"training_path": str(tmp_path / "live.db")}})
    node = Node(same)
    try:
        with pytest.raises(ConfigError, match="training_path"):
            training.Training(node)
    finally:
        node.close()
    assert training.training_config(config)["sync.url"] == ""


def test_start_and_end_need_a_login_and_the_csrf_token(client, node, kiosk):
    assert kiosk.post("/kiosk/training/start", data={"csrf_token": "forged"}).status_code == 400
    assert not _audit(node, training.TRAINING_START)
    anonymous = create_app(config=node.config, node=node).test_client()
    assert anonymous.post("/kiosk/training/start").status_code == 303  # to the login
    assert _post(kiosk, "/kiosk/training/end").status_code == 303  # not practising: nothing happens
    assert not _audit(node, training.TRAINING_END)


def test_practice_never_answers_a_real_citizens_question(kiosk, node):
    from gateway.inbox import actions, threads

    prepared = actions.prepare(node, "kapan kantor buka?")
    live_id = node.store.write(lambda db: threads.receive(db, uid=prepared.uid, phone="+6281311112222",
                                                          kind="question", message_id="SM-live-1",
                                                          sealed=prepared.sealed))
    assert 'class="count"' in kiosk.get("/kiosk/inbox").get_data(as_text=True)  # one unanswered, live
    assert _post(kiosk, "/kiosk/training/start").status_code == 303
    listing = kiosk.get("/kiosk/inbox").get_data(as_text=True)
    assert "LATIHAN" in listing and 'class="count"' not in listing  # the practice inbox: empty
    assert kiosk.get(f"/kiosk/inbox/{live_id}").status_code == 404
    page = kiosk.get("/kiosk/").get_data(as_text=True)
    answered = kiosk.post(f"/kiosk/inbox/{live_id}/answer", data={**hidden(page), "answer": "Sabtu 08.00"})
    assert answered.status_code == 404
    live = node.store.read()
    assert live.execute("SELECT count(*) FROM outbound").fetchone()[0] == 0
    assert live.execute("SELECT handled_at FROM inbox WHERE id = ?", [live_id]).fetchone()[0] is None
    assert _post(kiosk, "/kiosk/training/end").status_code == 303
    assert kiosk.get(f"/kiosk/inbox/{live_id}").status_code == 200  # back on the live inbox
