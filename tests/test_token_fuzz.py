"""Fuzz every form field, cookie and header that carries a token or signature (issue #16.4).

Non-ASCII and very long values must be refused as invalid (400/401/403, a
redirect to the login page for a session cookie, or the USSD error screen):
never a 500. ``hmac.compare_digest`` on a non-ASCII ``str`` used to raise
``TypeError``; every comparison now goes through ``gateway.web.compare.same``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.web.compare import same
from tests.kiosk_support import PASSWORD, add_officer, hidden, login

pytestmark = pytest.mark.filterwarnings("ignore:The .* cookie is too large")
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
LATIN1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters=";,\x7f")
# Form fields and query strings carry any Unicode; header and cookie values reach WSGI as latin-1.
FORM_VALUES = st.one_of(st.text(min_size=1, max_size=60), st.text(min_size=4000, max_size=20000),
                        st.sampled_from(["é", "тест", "😀" * 40, "a" * 100_000, "\x00", "ü.ü"]))
HEADER_VALUES = st.one_of(st.text(alphabet=LATIN1, min_size=1, max_size=60),
                          st.text(alphabet=LATIN1, min_size=4000, max_size=8000),
                          st.sampled_from(["é", "Ã©Ã©", "ÿ" * 64, "a" * 8000]))


def test_same_never_raises():
    assert same("abc", "abc") and same(b"abc", "abc")
    assert not same("abc", "abé") and not same("abé", "abé") and not same("abc", None)
    assert not same("abc", "a" * 100_000) and not same("abc", 42)  # type: ignore[arg-type]


@pytest.fixture
def kiosk(node, client):
    add_officer(node)
    return client


@FUZZ
@given(value=FORM_VALUES)
def test_login_csrf_field(kiosk, value):
    kiosk.get("/kiosk/login")
    resp = kiosk.post("/kiosk/login", data={"username": "siti", "password": PASSWORD, "csrf_token": value})
    assert resp.status_code == 400


@FUZZ
@given(value=HEADER_VALUES)
def test_anonymous_csrf_cookie(kiosk, value):
    page = hidden(kiosk.get("/kiosk/login").get_data(as_text=True))
    kiosk.set_cookie("simpul_csrf", value)
    resp = kiosk.post("/kiosk/login", data={"username": "siti", "password": PASSWORD, **page})
    assert resp.status_code == 400


@FUZZ
@given(value=HEADER_VALUES)
def test_kiosk_session_cookie(kiosk, value):
    kiosk.set_cookie("simpul_kiosk", value, path="/kiosk")
    assert kiosk.get("/kiosk/queue").status_code == 303


@FUZZ
@given(value=FORM_VALUES)
def test_kiosk_form_csrf_after_login(node, client, value):
    if not node.store.read().execute("SELECT 1 FROM officers").fetchone():
        add_officer(node)
        assert login(client).status_code == 303
    assert client.post("/kiosk/logout", data={"csrf_token": value}).status_code == 400


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(csrf_value=FORM_VALUES, form_value=FORM_VALUES)  # two large values at once
def test_portal_form_and_csrf_tokens(client, csrf_value, form_value):
    page = hidden(client.get("/services/DOMISILI/apply").get_data(as_text=True))
    bad_csrf = client.post("/services/DOMISILI/apply", data={**page, "csrf_token": csrf_value})
    assert bad_csrf.status_code == 400
    bad_form = client.post("/services/DOMISILI/apply", data={**page, "form_token": form_value})
    assert bad_form.status_code == 400


@FUZZ
@given(value=FORM_VALUES)
def test_ussd_callback_token(monkeypatch, config, node, value):
    from gateway.app import create_app

    monkeypatch.setenv("SIMPUL_USSD_TOKEN", "rahasia-callback")
    client = create_app(config=config, node=node).test_client()
    resp = client.post("/channels/ussd/africastalking", query_string={"token": value},
                       data={"sessionId": "s1", "serviceCode": "*123#", "phoneNumber": "+6281234567890", "text": ""})
    assert resp.status_code == 403  # a wrong token is refused before the store is touched (issue 15)
    assert node.store.read().execute("SELECT count(*) FROM ussd_sessions").fetchone()[0] == 0


@FUZZ
@given(value=HEADER_VALUES)
def test_twilio_signature(monkeypatch, config, node, value):
    from gateway.app import create_app

    monkeypatch.setenv("SIMPUL_TWILIO_AUTH_TOKEN", "twilio-token")
    client = create_app(config=config, node=node).test_client()
    resp = client.post("/channels/sms/twilio", data={"From": "+6281234567890", "Body": "CEK", "MessageSid": "SM1"},
                       headers={"X-Twilio-Signature": value})
    assert resp.status_code == 403


@pytest.fixture
def regional(regional_engine):
    from sync.regional.app import create_regional_app

    config = regional_engine.config()
    store = regional_engine.store()
    store.add_node("desa-1")
    yield create_regional_app(config, store).test_client()
    store.close()


@FUZZ
@given(value=FORM_VALUES)
def test_regional_login_csrf(regional, value):
    regional.get("/login")
    resp = regional.post("/login", data={"username": "ani", "password": "rahasia-kuat-1", "csrf_token": value})
    assert resp.status_code == 400


@FUZZ
@given(value=HEADER_VALUES)
def test_regional_session_cookie(regional, value):
    regional.set_cookie("simpul_regional", value)
    assert regional.get("/").status_code == 302


@FUZZ
@given(signature=HEADER_VALUES, node_id=HEADER_VALUES)
def test_sync_signature_and_node_headers(regional, signature, node_id):
    for node in (node_id, "desa-1"):
        resp = regional.post("/sync/v1/requests", data=b"{}",
                             headers={"X-Simpul-Node": node, "X-Simpul-Request": "1", "X-Simpul-Signature": signature})
        assert resp.status_code == 401


@pytest.fixture
def sms_webhooks(monkeypatch, config, node):
    """The Android gateway and HTTP aggregator webhooks with their secrets and the signing key set."""
    from gateway.app import create_app

    monkeypatch.setenv("SIMPUL_ANDROID_WEBHOOK_SECRET", "android-secret")
    monkeypatch.setenv("SIMPUL_ANDROID_SIGNING_KEY", "android-signing")
    monkeypatch.setenv("SIMPUL_SMS_HTTP_SECRET", "http-secret")
    return create_app(config=config, node=node).test_client()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(secret=FORM_VALUES, timestamp=HEADER_VALUES, signature=HEADER_VALUES)  # three large values at once
def test_android_gateway_secret_timestamp_and_signature(sms_webhooks, node, secret, timestamp, signature):
    body = b'{"event":"sms:received","payload":{"phoneNumber":"+6281234567890","message":"CEK","receivedAt":"x"}}'
    for query in (secret, "android-secret"):
        resp = sms_webhooks.post("/channels/sms/android", query_string={"secret": query}, data=body,
                                 content_type="application/json",
                                 headers={"X-Timestamp": timestamp, "X-Signature": signature})
        assert resp.status_code == 403
    assert node.store.read().execute("SELECT count(*) FROM sms_inbound").fetchone()[0] == 0


@pytest.mark.parametrize("timestamp", ["²", "¹²³", "9" * 5000, " 1", "-1"])
def test_android_timestamp_that_is_no_plain_number(sms_webhooks, timestamp):
    from channels.sms.providers import android

    assert not android.signature_ok("k", b"{}", timestamp, "00")
    resp = sms_webhooks.post("/channels/sms/android", query_string={"secret": "android-secret"}, data=b"{}",
                             content_type="application/json", headers={"X-Timestamp": timestamp, "X-Signature": "00"})
    assert resp.status_code == 403


@FUZZ
@given(value=FORM_VALUES)
def test_http_aggregator_secret(sms_webhooks, value):
    for path in ("/channels/sms/http", "/channels/sms/http/status"):
        resp = sms_webhooks.post(path, query_string={"secret": value}, data={"from": "+6281234567890", "text": "CEK"})
        assert resp.status_code == 403


@FUZZ
@given(value=FORM_VALUES)
def test_ussd_http_route_token(monkeypatch, config, node, value):
    from gateway.app import create_app

    monkeypatch.setenv("SIMPUL_USSD_TOKEN", "rahasia-callback")
    client = create_app(config=config, node=node).test_client()
    resp = client.post("/channels/ussd/http", query_string={"token": value},
                       data={"sessionId": "s1", "phoneNumber": "+6281234567890", "text": ""})
    assert resp.status_code == 403
