"""Every look-up of a person by NIK or phone is audited (security review finding 5)."""

from __future__ import annotations

import json

from gateway.intake import codes
from tests.conftest import NIK
from tests.kiosk_support import add_officer, login
from tests.test_kiosk_access import _access_entries, admin, people  # noqa: F401 - fixtures


def _entries(node) -> list[tuple]:
    return [(e["actor"], e["subject"], json.loads(e["details"])) for e in _access_entries(node)]


def test_queue_search_by_nik_or_phone_is_audited_without_the_value(admin, node, people):  # noqa: F811
    assert admin.get(f"/kiosk/queue?q={NIK}").status_code == 200
    assert admin.get("/kiosk/queue?q=0812-3456-7890").status_code == 200
    assert _entries(node) == [("kades", None, {"via": "queue_search", "by": "nik"}),
                              ("kades", None, {"via": "queue_search", "by": "phone"})]
    text = json.dumps(_access_entries(node))
    assert NIK not in text and "81234567890" not in text


def test_a_search_by_tracking_code_or_a_plain_listing_is_not_a_person_lookup(admin, node, people):  # noqa: F811
    code = next(c for c in iter(codes.generate, None) if any(ch.isalpha() for ch in c))
    admin.get("/kiosk/queue")
    admin.get(f"/kiosk/queue?q={code}")
    admin.get("/kiosk/queue?status=received")
    assert _entries(node) == []


def test_opening_a_sealed_request_is_audited_with_its_id(admin, node, people):  # noqa: F811
    page = admin.get(f"/kiosk/requests/{people['dom']['tracking_code']}").get_data(as_text=True)
    assert "Siti Aminah" in page
    assert _entries(node) == [("kades", people["dom"]["id"], {"via": "detail_view"})]


def test_an_officer_without_the_key_sees_masked_values_and_leaves_no_access_entry(client, node, people):  # noqa: F811
    add_officer(node, "budi", grant=False)
    login(client, "budi")
    page = client.get(f"/kiosk/requests/{people['dom']['tracking_code']}").get_data(as_text=True)
    assert "Siti Aminah" not in page
    client.get(f"/kiosk/queue?q={NIK}")
    assert _entries(node) == []


def test_admin_lists_who_looked_up_what_kind_of_key(admin, node, people):  # noqa: F811
    admin.get(f"/kiosk/queue?q={NIK}")
    admin.get(f"/kiosk/requests/{people['other']['tracking_code']}")
    page = admin.get("/kiosk/access").get_data(as_text=True)
    assert "pencarian antrean" in page and "permohonan dibuka" in page and "kades" in page
    assert NIK not in page
