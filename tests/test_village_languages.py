"""Javanese and Sundanese on every channel: chosen once, used for every later message."""

from __future__ import annotations

import pytest

from channels.sms import grammar
from gateway.i18n import gettext
from gateway.intake.catalog import load_catalog
from tests.sms_helpers import NIK, OTHER_PHONE, PHONE, TOKEN, post_sms, reply_text
from tests.test_ussd_app import Dialer, ussd_config

CATALOG = load_catalog()
SUBMIT = f"DOMISILI#{NIK}#Siti Aminah#Dusun Krajan RT 02/03"
# What a citizen reads back in each language (from the glossary in locales/README.md).
SPOKEN = {
    "jv": {"set": "Basa diganti dadi basa Jawa", "received": "Panyuwunan Surat Katrangan Domisili wis ditampa",
           "status": "wis ditampa", "help": "Layanan SMS", "menu": "1 Ngajokake panyuwunan\n2 Priksa status"},
    "su": {"set": "Basa diganti jadi basa Sunda", "received": "Pamundut Surat Katerangan Domisili tos ditampi",
           "status": "tos ditampi", "help": "Layanan SMS", "menu": "1 Ngajukeun pamundut\n2 Pariksa status"},
}


@pytest.fixture
def config(tmp_path):
    """USSD comes from 127.0.0.1, an allowed source (USSD routes answer 403 otherwise)."""
    return ussd_config(tmp_path)


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("SIMPUL_TWILIO_AUTH_TOKEN", TOKEN)


def stored_locale(node, phone=PHONE):
    row = node.store.read().execute("SELECT locale FROM contacts WHERE phone = ?", [phone]).fetchone()
    return row[0] if row else None


@pytest.mark.parametrize("command, locale", [
    ("BASA JAWA", "jv"), ("bahasa jawa", "jv"), ("JV", "jv"),
    ("BASA SUNDA", "su"), ("Bahasa Sunda", "su"), ("su", "su"),
])
def test_language_commands_parse(command, locale):
    assert grammar.parse(command, CATALOG) == grammar.Language(locale)


def test_a_language_code_with_more_text_is_not_a_language_switch():
    assert not isinstance(grammar.parse("JV#1", CATALOG), grammar.Language)
    assert not isinstance(grammar.parse("SU lagi", CATALOG), grammar.Language)
    assert grammar.parse("BASA KLINGON", CATALOG) == grammar.Language(None)


@pytest.mark.parametrize("locale, command", [("jv", "BASA JAWA"), ("su", "BASA SUNDA")])
def test_sms_language_then_submit_and_status_all_in_that_language(client, node, locale, command):
    words = SPOKEN[locale]
    assert reply_text(post_sms(client, command)).startswith(words["set"])
    assert stored_locale(node) == locale
    receipt = reply_text(post_sms(client, SUBMIT))
    assert receipt.startswith(words["received"]), receipt
    code = receipt.split("Kode: ")[1][:11]
    status = reply_text(post_sms(client, f"STATUS {code}"))
    assert status.startswith(f"{'Panyuwunan' if locale == 'jv' else 'Pamundut'} {code}") and words["status"] in status
    assert reply_text(post_sms(client, "BANTUAN")).startswith(words["help"])
    assert "BAHASA ID" in reply_text(post_sms(client, "BANTUAN"))  # the way back is always shown
    # another number is untouched; switching back works
    assert reply_text(post_sms(client, "HELP", sender=OTHER_PHONE)).startswith("Layanan SMS: ")
    assert stored_locale(node, OTHER_PHONE) is None
    assert reply_text(post_sms(client, "BAHASA ID")).startswith("Bahasa diubah")


def test_unknown_language_lists_all_four(client):
    text = reply_text(post_sms(client, "BAHASA KLINGON"))
    assert all(w in text for w in ("BAHASA ID", "LANGUAGE EN", "BASA JAWA", "BASA SUNDA")), text


def test_village_keyword_aliases_reach_their_service(client, node):
    for word, service in (("SAMBAT", "ADUAN"), ("PANGADUAN", "ADUAN"), ("LAIR", "LAHIR")):
        assert grammar.parse(f"{word.lower()}#jalan rusak", CATALOG).service.code == service


def test_grammar_has_no_ambiguous_keyword():
    """Every keyword reaches exactly one service; none is shadowed by a command word."""
    keywords = CATALOG.keywords()
    assert len(keywords) == len(set(keywords))
    commands = set(grammar.COMMAND_WORDS) | set(grammar.LANGUAGE_SHORTCUTS)
    assert not commands & set(keywords), commands & set(keywords)
    assert not commands & {s.code for s in CATALOG.services}
    for service in CATALOG.services:
        for word in (*service.keywords, service.code):
            parsed = grammar.parse(f"{word}#x", CATALOG)
            assert isinstance(parsed, grammar.Submit) and parsed.service is service, word
            hint = grammar.parse(word.lower(), CATALOG)
            assert isinstance(hint, grammar.FormatHint) and hint.service is service, word


@pytest.mark.parametrize("choice, locale", [("1", "id"), ("2", "en"), ("3", "jv"), ("4", "su")])
def test_ussd_language_menu_lists_all_four_and_the_session_walks_in_it(client, node, choice, locale):
    phone = Dialer(client)
    _, main = phone.dial()
    _, menu = phone.send("4")
    assert all(name in menu for name in ("Bahasa Indonesia", "English", "Basa Jawa", "Basa Sunda")), menu
    _, home = phone.send(choice)
    assert stored_locale(node) == locale
    if locale in SPOKEN:
        assert SPOKEN[locale]["menu"] in home, home
    fresh = Dialer(client)  # a later session starts in the stored language
    _, start = fresh.dial()
    assert start.startswith(gettext(locale, "Village services")), start
    assert start.split("\n", 1)[1] == home.split("\n", 1)[1]  # same menu; the notice took the title's place
    _, services = fresh.send("1")
    _, prompt = fresh.send("1")
    assert prompt.startswith(CATALOG.service("DOMISILI").fields[0].text("prompt", locale)), prompt
    fresh.send(NIK)
    fresh.send("Siti Aminah")
    _, confirm = fresh.send("Dusun Krajan")
    kind, sent = fresh.send("1")
    assert kind == "END"
    code = node.store.read().execute("SELECT tracking_code, locale FROM requests").fetchone()
    assert code[0] in sent and code[1] == locale
    if locale in SPOKEN:
        assert sent.startswith({"jv": "Panyuwunan wis ditampa", "su": "Pamundut tos ditampi"}[locale]), sent


@pytest.mark.parametrize("locale, word", [("jv", "Wis ngajokake?"), ("su", "Tos ngajukeun?")])
def test_portal_switches_language_and_remembers_it(client, locale, word):
    page = client.get(f"/?lang={locale}").get_data(as_text=True)
    assert word in page and f'lang="{locale}"' in page
    for name in ("Bahasa Indonesia", "English", "Basa Jawa", "Basa Sunda"):
        assert name in page  # the switch lists every language, each named in itself
    assert word in client.get("/").get_data(as_text=True)  # the cookie keeps the choice


def template_renderings(locale):
    """(name, text, allowed segments): each SMS template rendered raw (no fallback, no cut) with
    every demo service's own values — its name, format, requirements — and the longest code."""
    from channels.sms import replies
    from gateway.cases import records as cases
    from gateway.i18n import Message, render
    from gateway.outbox.notices import STATUS_SMS

    code, date = "ABCDE-12345", "28-11-2026"
    keywords = replies.main_keywords(CATALOG)
    longest_keyword = max(CATALOG.keywords(), key=len)
    for s in CATALOG.services:
        name, fmt = s.text("name", locale), s.sms_format(locale)
        problems = [replies.problem_text(s, p, locale) for p in CATALOG.validate(s, {}, locale)[1]]
        yield "submitted", render(Message(
            "%(service)s request received. Code: %(code)s. Check with: STATUS %(code)s. "
            "We will text you when it is ready.", service=name, code=code), locale), 1
        yield "rejected", render(Message("Not accepted: %(problems)s. Format: %(format)s",
                                         problems=max(problems, key=len), format=fmt), locale), 1
        yield "format", render(Message("For %(service)s send: %(format)s (fields separated by #)",
                                       service=name, format=fmt), locale), 1
        yield "info", render(Message(
            "%(service)s. Requirements: %(requirements)s. Fee: %(fee)s. Time: %(time)s. Format: %(format)s",
            service=name, requirements=s.text("requirements", locale), fee=s.text("fee", locale),
            time=s.text("processing_time", locale), format=fmt), locale), replies.INFO_MAX_PARTS
        for status in cases.STATUSES:
            yield "status", render(Message("Request %(code)s (%(service)s): %(status)s, %(date)s.", code=code,
                                           service=name, status=cases.status_label(status, locale),
                                           date=date), locale), 1
            yield "notify", render(Message(STATUS_SMS[status], service=s.code, code=code), locale), 1
        yield "did you mean", render(Message("Unknown keyword. Did you mean %(keyword)s? Format: %(format)s",
                                             keyword=longest_keyword, format=fmt), locale), 1
        from channels.ussd.screens import receipt_sms
        yield "ussd receipt", receipt_sms(locale, s, code), 1
    yield "help", replies.help_text(CATALOG, locale), 1
    yield "info usage", render(Message("Send INFO <keyword>. Services: %(keywords)s", keywords=keywords), locale), 1
    yield "did you mean services", render(Message(
        "Unknown keyword. Did you mean %(keyword)s? Services: %(keywords)s",
        keyword=longest_keyword, keywords=keywords), locale), 1
    for fixed in (replies.status_not_found(code, locale), replies.status_check_code(locale),
                  replies.status_usage(locale), replies.language_set(locale), replies.language_usage(locale),
                  replies.info_usage(CATALOG, longest_keyword, locale)):
        yield "fixed", fixed, 1


@pytest.mark.parametrize("locale", ["id", "en", "jv", "su"])
def test_every_sms_template_fits_in_gsm7_with_the_catalog_values_uncut(locale):
    """Shorten the template in that language if this fails: replies must never be cut at run time."""
    from gateway.outbox import segments

    problems = []
    for name, text, allowed in template_renderings(locale):
        counted = segments.count(text)
        if counted.encoding != "GSM-7" or counted.parts > allowed or text.endswith("..."):
            problems.append((name, counted, text))
    assert not problems, problems


def test_status_change_pulled_from_the_regional_server_is_texted_in_the_stored_language(tmp_path, regional_engine):
    """Requests made in Indonesian; the citizens then chose Javanese / Sundanese by SMS."""
    from channels.sms.inbound import Handler, InboundSms
    from gateway.config.loader import load_config
    from gateway.node import Node
    from tests.syncenv import NodeBox, Regional

    server = Regional(tmp_path / "regional", database_url=regional_engine.url).start()
    try:
        box = NodeBox(tmp_path / "node", "desa-1", server.url, server.add_node("desa-1"))
        people = {"+6281234567890": ("BASA JAWA", "jv"), "+6281311112222": ("basa sunda", "su")}
        codes = {phone: box.submit(phone="0" + phone[3:], locale="id") for phone in people}
        node = Node(load_config(box.config))
        try:
            for i, (phone, (command, _locale)) in enumerate(people.items()):
                Handler(node).handle(InboundSms("twilio", f"SM{i:032d}", phone, command))
        finally:
            node.close()
        assert box.sync().returncode == 0
        for code in codes.values():
            assert server.cli("regional", "set-status", code, "ready").returncode == 0
        out = box.sync()
        assert out.returncode == 0, out.stderr
        sent = dict(box.query('SELECT "to", body FROM outbound WHERE key LIKE \'status:%\''))
        assert sent == {
            # #12: the service by its catalog name in the citizen's language
            "+6281234567890": f"Panyuwunan Surat Katrangan Domisili {codes['+6281234567890']}: "
                              "wis siap dipundhut ing kantor desa.",
            "+6281311112222": f"Pamundut Surat Katerangan Domisili {codes['+6281311112222']}: "
                              "tos siap dicandak di kantor désa.",
        }
    finally:
        server.stop()


@pytest.mark.parametrize("value, ok", [("jv", True), ("su", True), ("id", True), ("en", True),
                                       ("JV", False), ("jw", False), ("", False)])
def test_node_default_locale_accepts_the_four_languages(tmp_path, value, ok):
    from gateway.config.loader import load_config
    from gateway.errors import ConfigError

    overrides = {"node": {"default_locale": value}, "storage": {"path": str(tmp_path / "n.db")}}
    if ok:
        assert load_config(overrides=overrides)["node.default_locale"] == value
    else:
        with pytest.raises(ConfigError, match="default_locale.*id, en, jv, su"):
            load_config(overrides=overrides)


def test_kiosk_language_choice_is_stored_for_later_sms(client, node):
    from tests.kiosk_support import add_officer, hidden, login

    add_officer(node)
    login(client)
    page = client.get("/kiosk/new/DOMISILI").get_data(as_text=True)
    assert all(f'value="{code}"' in page for code in ("id", "en", "jv", "su"))
    form = {**hidden(page), "nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan", "phone": "0812-3456-7890",
            "consent": "yes", "citizen_locale": "su"}
    assert client.post("/kiosk/new/DOMISILI", data=form).status_code == 303
    assert stored_locale(node) == "su"
    assert reply_text(post_sms(client, "BANTUAN")).startswith("Layanan SMS: ")
    assert "<kecap>" in reply_text(post_sms(client, "INFO"))


def test_portal_stores_the_language_only_when_the_citizen_switched(client, node):
    from tests.kiosk_support import hidden

    values = {"nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan", "consent": "yes"}
    page = client.get("/services/DOMISILI/apply").get_data(as_text=True)  # browser default: not a choice
    assert client.post("/services/DOMISILI/apply", data={**hidden(page), **values, "phone": "0812-3456-7890"}
                       ).status_code == 303
    assert stored_locale(node) is None
    page = client.get("/services/DOMISILI/apply?lang=jv").get_data(as_text=True)
    assert client.post("/services/DOMISILI/apply", data={**hidden(page), **values, "phone": "0857-1234-5678"}
                       ).status_code == 303
    assert stored_locale(node, OTHER_PHONE) == "jv"
