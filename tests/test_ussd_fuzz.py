"""Junk USSD input never gives a 5xx or an unprefixed body (hypothesis)."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_ussd_app import PHONE, ROUTE, Dialer, check_reply
from tests.test_ussd_app import config as config  # noqa: F401 - USSD from an allowed source

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
entries = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["0", "00", "98", "99", "*", "**", "", " ", "1*1", "#", "3201011708900001", "٣", "\x00"]),
    st.from_regex(r"[0-9*#]{0,30}", fullmatch=True),
)


@FUZZ
@given(text=st.text(max_size=300))
def test_any_first_text(client, text):
    r = client.post(ROUTE, data={"sessionId": uuid.uuid4().hex, "phoneNumber": PHONE, "text": text,
                                 "serviceCode": "*123#", "networkCode": "1"})
    check_reply(r)


@FUZZ
@given(path=st.lists(entries, max_size=12))
def test_any_inputs_mid_session(client, path):
    d = Dialer(client)
    d.dial()
    for entry in path:
        kind, _ = d.send(entry)
        if kind == "END":
            break


@FUZZ
@given(service=st.integers(min_value=1, max_value=5), values=st.lists(entries, min_size=1, max_size=6))
def test_any_field_values(client, service, values):
    d = Dialer(client)
    d.dial()
    d.send("1")
    d.send(str(service))
    for value in values:
        kind, _ = d.send(value)
        if kind == "END":
            break


@FUZZ
@given(form=st.dictionaries(
    st.sampled_from(["sessionId", "serviceCode", "phoneNumber", "networkCode", "text", "other"]),
    st.text(max_size=60), max_size=6))
def test_any_form(client, form):
    check_reply(client.post(ROUTE, data=form))


@FUZZ
@given(texts=st.lists(st.text(max_size=40), min_size=1, max_size=8))
def test_unrelated_texts_in_one_session(client, texts):
    """The aggregator (or an attacker) sends texts that do not extend each other."""
    d = Dialer(client)
    d.dial()
    for text in texts:
        check_reply(d.post(text))
