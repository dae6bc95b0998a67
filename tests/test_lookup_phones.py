"""A phone number typed into a catalog ``phone`` field is found like the sender's own number."""

from __future__ import annotations

from importlib import resources

import pytest

from gateway.config.loader import load_config
from gateway.intake.pipeline import Submission
from gateway.node import Node
from gateway.privacy import keys, lookup
from tests.conftest import NIK, node_keys_of
from tests.kiosk_support import add_officer, hidden, login

CONTACT = "+6285733334444"
SENDER = "+6281234567890"
BUSINESS = '''
[[services]]
code = "USAHA"
keywords = ["USAHA"]
name = { id = "Surat Keterangan Usaha", en = "Business certificate" }
description = { id = "Surat keterangan usaha.", en = "A business certificate." }
requirements = { id = "KTP", en = "ID card" }
fee = { id = "Gratis", en = "Free" }
processing_time = { id = "1 hari kerja", en = "1 working day" }

  [[services.fields]]
  name = "nik"
  type = "nik"
  label = { id = "NIK", en = "NIK" }
  prompt = { id = "NIK:", en = "NIK:" }

  [[services.fields]]
  name = "contact_phone"
  type = "phone"
  label = { id = "Nomor HP usaha", en = "Business phone" }
  prompt = { id = "Nomor HP usaha:", en = "Business phone:" }
'''


@pytest.fixture
def config(tmp_path):
    catalog = tmp_path / "catalog.toml"
    demo = resources.files("gateway").joinpath("demo_catalog.toml").read_text("utf-8")
    catalog.write_text(demo + BUSINESS, encoding="utf-8")
    return load_config(overrides={"storage": {"path": str(tmp_path / "simpul.db")}, "jobs": {"enabled": False},
                                  "catalog": {"path": str(catalog)}})


@pytest.fixture
def usaha(node):
    # typed at the kiosk in local form; the phone type stores E.164
    return node.pipeline.submit(Submission("kiosk", "USAHA", {"nik": NIK, "contact_phone": "0857-3333-4444"},
                                           officer="siti")).request


def test_a_form_phone_is_indexed_and_found(node, usaha):
    opener = node.vault.opener(node_keys_of(node))
    assert lookup.catch_up(node.store, opener) == 1
    found = lookup.find(node.store.read(), opener.node_keys, lookup.PHONE, CONTACT)
    assert found == [usaha["id"]]
    assert lookup.find(node.store.read(), opener.node_keys, lookup.PHONE, SENDER) == []
    raw = node.store.read().execute("SELECT fields FROM requests").fetchone()[0]
    assert CONTACT not in raw and "33334444" not in raw  # sealed, not in the plain fields


def test_kiosk_search_and_access_page_find_it_by_the_form_phone(client, node, usaha):
    other = node.pipeline.submit(Submission("sms", "DOMISILI", {"nik": "3201012309850003", "name": "Joko",
                                                                "address": "Dusun Lor"}, sender=SENDER)).request
    add_officer(node, "kades", role="admin")
    login(client, "kades")
    html = client.get("/kiosk/queue?q=085733334444").get_data(as_text=True)
    assert usaha["tracking_code"] in html and other["tracking_code"] not in html
    token = hidden(client.get("/kiosk/access").get_data(as_text=True))["csrf_token"]
    page = client.post("/kiosk/access", data={"csrf_token": token, "by": "phone", "value": "0857 3333 4444"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert usaha["tracking_code"] in text and other["tracking_code"] not in text


def test_upgrade_reindexes_rows_indexed_before(config, node, usaha):
    opener = node.vault.opener(node_keys_of(node))
    lookup.catch_up(node.store, opener)

    def as_before(db):  # the index as the previous version made it: no token for the form phone
        db.execute("DELETE FROM request_index WHERE token = ?",
                   [lookup.sealing.blind_index(lookup.index_key(opener.node_keys,
                                                                keys.current_key(db)[0]), lookup.PHONE, CONTACT)])
        db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm008_index_form_phones'")

    node.store.write(as_before)
    assert lookup.find(node.store.read(), opener.node_keys, lookup.PHONE, CONTACT) == []
    node.close()
    upgraded = Node(config)  # the migration runs when the store opens
    try:
        assert upgraded.store.read().execute("SELECT count(*) FROM requests WHERE index_key IS NULL").fetchone()[0] == 1
        opener = upgraded.vault.opener(opener.node_keys)  # the same node keys, across the restart
        lookup.catch_up(upgraded.store, opener)
        assert lookup.find(upgraded.store.read(), opener.node_keys, lookup.PHONE, CONTACT) == [usaha["id"]]
    finally:
        upgraded.close()
