"""One per-phone limit for the self-service channels (SMS, USSD, portal), enforced in the pipeline.

USSD has its own regression test through real HTTP in tests/test_ussd_routes.py.
"""

from __future__ import annotations

import threading

import pytest

from channels.sms.inbound import Handler, InboundSms
from gateway.cases import records as cases
from gateway.config.loader import load_config
from gateway.intake.pipeline import Submission
from gateway.node import Node
from gateway.outbox import queue as outbound
from tests.conftest import NIK
from tests.kiosk_support import hidden

PHONE = "+6281234567890"
VALUES = {"nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan RT 02/03"}


@pytest.fixture
def config(tmp_path):
    return load_config(overrides={"storage": {"path": str(tmp_path / "l.db")}, "jobs": {"enabled": False},
                                  "intake": {"max_per_phone_per_hour": 3}})


def count(node):
    return len(cases.list_requests(node.store.read()))


def test_sms_over_the_limit_gets_a_polite_reply_and_nothing_is_stored(node):
    handler = Handler(node)
    kinds = [handler.handle(InboundSms("gammu", f"m{n}", "0812-3456-7890", f"SKTM#{NIK}#Budi#sekolah {n}"),
                            queue_reply=True) for n in range(5)]
    assert [o.kind for o in kinds] == ["submit"] * 3 + ["limited"] * 2
    assert kinds[3].reply.startswith("Terlalu banyak permohonan") and len(kinds[3].reply) <= 160
    assert count(node) == 3
    # A redelivery of a stored message is never "over": it gets its first answer back.
    again = handler.handle(InboundSms("gammu", "m0", PHONE, f"SKTM#{NIK}#Budi#sekolah 0"), queue_reply=True)
    assert again.duplicate and again.kind == "submit"
    # Replies are queued, but no receipt or request for the refused ones.
    assert count(node) == 3 and len(outbound.list_outbound(node.store.read())) == 5


def test_english_citizen_is_told_in_english(node):
    node.store.write(lambda db: db.execute("INSERT INTO contacts VALUES (?, 'en', '2026-01-01T00:00:00Z')", [PHONE]))
    for n in range(3):
        node.pipeline.submit(Submission("sms", "DOMISILI", VALUES, sender=PHONE, channel_message_id=f"e{n}"))
    receipt = node.pipeline.submit(Submission("sms", "DOMISILI", VALUES, sender=PHONE, channel_message_id="e9"))
    assert receipt.limited and not receipt.ok and receipt.request is None
    assert receipt.limit_text.startswith("Too many requests from this number")


def test_concurrent_burst_cannot_slip_past_the_limit(node):
    stored = []

    def submit(n):
        r = node.pipeline.submit(Submission("ussd", "DOMISILI", VALUES, sender=PHONE, channel_message_id=f"b{n}"))
        stored.append(r.ok)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stored.count(True) == 3 and count(node) == 3


def test_kiosk_officer_and_cli_entries_are_not_limited(node):
    for n in range(5):
        assert node.pipeline.submit(Submission("kiosk", "DOMISILI", VALUES, sender=PHONE, officer="ani",
                                               channel_message_id=f"k{n}")).ok
        assert node.pipeline.submit(Submission("cli", "DOMISILI", VALUES, sender=PHONE, assisted=True)).ok
    # Assisted entries do not eat the citizen's own allowance either.
    assert node.pipeline.submit(Submission("sms", "DOMISILI", VALUES, sender=PHONE, channel_message_id="s1")).ok


def test_portal_over_the_limit_shows_the_message_and_stores_nothing(client, node):
    form = {**VALUES, "consent": "yes", "phone": "081234567890"}
    for _ in range(3):
        page = client.get("/services/DOMISILI/apply").get_data(as_text=True)
        assert client.post("/services/DOMISILI/apply", data={**hidden(page), **form}).status_code == 303
    page = client.get("/services/DOMISILI/apply").get_data(as_text=True)
    refused = client.post("/services/DOMISILI/apply", data={**hidden(page), **form})
    assert refused.status_code != 303 and "Terlalu banyak permohonan" in refused.get_data(as_text=True)
    assert count(node) == 3


def test_zero_means_no_limit(tmp_path):
    node = Node(load_config(overrides={"storage": {"path": str(tmp_path / "z.db")},
                                       "intake": {"max_per_phone_per_hour": 0}}))
    try:
        for n in range(15):
            assert node.pipeline.submit(Submission("sms", "DOMISILI", VALUES, sender=PHONE,
                                                   channel_message_id=f"z{n}")).ok
    finally:
        node.close()
