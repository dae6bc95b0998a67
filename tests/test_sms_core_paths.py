"""The small core changes the SMS webhook path needed (pipeline locale read, status event insert, phone cache)."""

import pytest

from gateway.cases import records as cases
from gateway.intake import validators
from gateway.intake.pipeline import Submission
from tests.sms_helpers import NIK, PHONE

VALUES = {"nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan RT 02/03"}


def _stored_locale(node, phone, locale):
    node.store.write(lambda db: db.execute(
        "INSERT INTO contacts (phone, locale, updated_at) VALUES (?, ?, '2026-01-01T00:00:00Z')", [phone, locale]))


def test_explicit_locale_wins_missing_or_unknown_falls_back_to_stored(node):
    _stored_locale(node, PHONE, "en")
    explicit = node.pipeline.validate(Submission("sms", "DOMISILI", VALUES, sender=PHONE, locale="id"))[0]
    stored = node.pipeline.validate(Submission("sms", "DOMISILI", VALUES, sender=PHONE))[0]
    unknown = node.pipeline.validate(Submission("sms", "DOMISILI", VALUES, sender=PHONE, locale="fr"))[0]
    tagged = node.pipeline.validate(Submission("sms", "DOMISILI", VALUES, sender=PHONE, locale="en-US"))[0]
    assert (explicit.locale, stored.locale, unknown.locale, tagged.locale) == ("id", "en", "en", "en")


def test_received_event_is_written_with_the_request(node):
    receipt = node.pipeline.submit(Submission("sms", "SKD", VALUES, sender="081234567890",
                                              channel_message_id="SM1"))
    (event,) = cases.history(node.store.read(), receipt.request["id"])
    assert (event["status"], event["actor"], event["note"], event["origin"]) == ("received", "sms", None, "node")
    assert event["at"] == receipt.request["created_at"]
    synced = node.store.read().execute("SELECT synced FROM status_events").fetchone()[0]
    assert synced == 0


def test_phone_cache_returns_the_same_answers_and_never_caches_errors():
    assert validators.phone("0812-3456-7890") == validators.phone("0812-3456-7890") == PHONE
    for _ in range(2):
        with pytest.raises(validators.Invalid):
            validators.phone("12")
