"""Feedback comments are sealed at rest and opened only for a session holding the node key."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from channels.kiosk import sessions
from channels.web import feedback
from gateway.cases import records as cases
from gateway.intake.pipeline import Submission
from gateway.privacy import lookup, vault
from gateway.web.sessions import hash_id
from tests.conftest import node_keys_of
from tests.kiosk_support import add_officer, hidden, login

PHONE = "+6281234567890"
COMMENT = "Pak Joko di kantor desa ramah sekali"


def _closed_with_comment(client, node) -> dict:
    row = node.pipeline.submit(Submission("sms", "ADUAN", {"message": "lampu mati"}, sender=PHONE)).request
    for status in ("in_progress", "ready", "closed"):
        node.store.write(lambda db, s=status: cases.change_status(db, row["id"], s, actor="t"))
    page = client.get(f"/track/{row['tracking_code']}").get_data(as_text=True)
    form = {"csrf_token": hidden(page)["csrf_token"], "rating": "5", "comment": COMMENT}
    assert client.post(f"/track/{row['tracking_code']}/feedback", data=form).status_code == 303
    return row


def _access_page(client, expect: int = 200) -> str:
    token = hidden(client.get("/kiosk/access").get_data(as_text=True))["csrf_token"]
    response = client.post("/kiosk/access", data={"csrf_token": token, "by": "phone", "value": PHONE})
    assert response.status_code == expect
    return response.get_data(as_text=True)


def test_comment_is_sealed_and_shown_only_with_the_sessions_key(client, node):
    _closed_with_comment(client, node)
    raw = node.store.read().execute("SELECT comment, comment_sealed FROM feedback").fetchone()
    assert raw[0] == "" and COMMENT.encode() not in raw[1]
    add_officer(node, "kades", role="admin", grant=False)
    login(client, "kades")
    session_hash = hash_id(client.get_cookie(sessions.COOKIE, path="/kiosk").value)
    # An admin without a grant cannot look anyone up (the blind index needs the node key).
    assert node.keyring.get(session_hash) == {}
    assert COMMENT not in _access_page(client, expect=409)
    node.keyring.put(session_hash, node_keys_of(node))  # a session holding the node key
    html = _access_page(client)
    assert COMMENT in html and vault.SEALED not in html.split("Pak Joko")[0][-200:]


def test_gather_opens_with_an_opener_only(client, node):
    from gateway.privacy import access

    row = _closed_with_comment(client, node)
    db = node.store.read()
    held = node_keys_of(node)
    lookup.catch_up(node.store, node.vault.opener(held))
    # A session holding a retired key finds nothing and opens nothing.
    stranger = node.vault.opener({"0" * 16: X25519PrivateKey.generate()})
    assert access.gather(db, node.catalog, stranger, phone=PHONE).requests == []
    opened = access.gather(db, node.catalog, node.vault.opener(held), phone=PHONE)
    given = opened.section("feedback").rows
    assert given[0]["request_id"] == opened.requests[0]["id"] == row["id"]
    assert given[0]["comment"] == COMMENT
    assert given[0]["rating"] == 5
    assert feedback.opened_comment(None, row["id"], db.execute(
        "SELECT comment_sealed FROM feedback").fetchone()[0]) == vault.SEALED
    assert feedback.get(db, row["id"])["rating"] == 5 and "comment" not in feedback.get(db, row["id"])
