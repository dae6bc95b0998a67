"""Parts: their order, and what a part added beside Simpul contributes (kiosk panel, report section).

The added parts here are real modules built in the test and put in the
parts list; ``tests/test_plugin.py`` installs one through an entry point and
drives a real ``simpul serve``.
"""

from __future__ import annotations

import types

import pytest

from gateway import parts
from gateway.errors import ConfigError
from gateway.i18n import N_
from gateway.panels import Panel
from gateway.parts import Part, PartError, sort_parts
from tests.kiosk_support import add_officer, hidden, login


def _part(name: str, **attrs) -> Part:
    module = types.ModuleType(f"part_{name}")
    module.__dict__.update(attrs)
    return Part(name, module)


def test_order_then_name_then_after():
    got = sort_parts([_part("b", order=20), _part("a", order=20), _part("z", order=5), _part("d")])
    assert [p.name for p in got] == ["z", "a", "b", "d"]  # d has the default order 100
    got = sort_parts([_part("kiosk", order=10, after=("web",)), _part("web", order=30), _part("sms", order=20)])
    assert [p.name for p in got] == ["sms", "web", "kiosk"]


def test_after_naming_an_absent_part_is_ignored():
    assert [p.name for p in sort_parts([_part("x", after=("whatsapp",)), _part("a", order=200)])] == ["x", "a"]


def test_a_cycle_names_the_parts_caught_in_it():
    with pytest.raises(PartError, match=r"cycle in 'after'.*a, b"):
        sort_parts([_part("a", after=("b",)), _part("b", after=("a",)), _part("c", order=1)])


def test_simpul_own_parts_in_their_declared_order():
    assert parts.names() == ["sms", "ussd", "web", "kiosk", "sync", "regional"]
    assert parts.channels() == ["sms", "ussd", "web", "kiosk"]


def test_unknown_hook_is_a_programming_error():
    with pytest.raises(PartError, match="unknown part hook"):
        _part("a").hook("init")


@pytest.fixture
def tally(tmp_path, monkeypatch):
    """A part with two kiosk panels (one for admins), a report section and a channel."""
    (tmp_path / "tally_panel.html").write_text(
        '<h1>{{ _("Tally") }}</h1><p class="count">{{ count }}</p><p>{{ said }}</p>'
        '<form method="post" action="{{ panel_url }}"><input type="hidden" name="csrf_token" '
        'value="{{ csrf_token }}"><button name="add" value="2">+</button></form>')
    state = {"count": 0, "seen": []}

    def view(asked):
        state["seen"].append((asked.locale, asked.officer["username"]))
        return {"count": state["count"], "said": ""}

    def action(asked):
        state["count"] += int(asked.form.get("add", "1"))
        return {"count": state["count"], "said": "added"}

    def kiosk_panels():
        return [Panel("tally", N_("Tally"), "tally_panel.html", tmp_path, view, action, order=5),
                Panel("secret_tally", N_("Secret"), "tally_panel.html", tmp_path, view, admin_only=True)]

    def personal_data(db, subject):
        from gateway.privacy.access import Column, Section

        return Section("tally", N_("Tally"), (Column("n", N_("Tally")),), [{"n": len(subject.request_ids)}])

    added = _part("tally", kiosk_panels=kiosk_panels, personal_data=personal_data, channels=("whatsapp",))
    everything = (*parts.parts(), added)
    monkeypatch.setattr(parts, "parts", lambda: everything)
    return state


@pytest.fixture
def kiosk_client(tally, config, node):
    from gateway.app import create_app

    add_officer(node)
    client = create_app(config=config, node=node).test_client()
    login(client)
    return client


def test_a_part_panel_is_served_behind_the_kiosk_login(kiosk_client, tally):
    page = kiosk_client.get("/kiosk/tally").get_data(as_text=True)
    assert '<p class="count">0</p>' in page and 'href="/kiosk/tally"' in page
    assert tally["seen"] == [("id", "siti")]
    assert 'href="/kiosk/secret_tally"' not in page  # admin-only panels are not offered to officers
    assert kiosk_client.get("/kiosk/secret_tally").status_code == 403
    assert kiosk_client.post("/kiosk/tally", data={"add": "2"}).status_code == 400  # no CSRF token
    assert tally["count"] == 0
    answer = kiosk_client.post("/kiosk/tally", data={**hidden(page), "add": "2"})
    assert answer.status_code == 200 and '<p class="count">2</p>' in answer.get_data(as_text=True)
    assert "added" in answer.get_data(as_text=True)
    assert kiosk_client.get("/kiosk/no_such_panel").status_code == 404
    assert kiosk_client.post("/kiosk/secret_tally", data=hidden(page)).status_code == 405  # no action


def test_a_panel_needs_a_login(tally, config, node):
    from gateway.app import create_app

    anonymous = create_app(config=config, node=node).test_client()
    assert anonymous.get("/kiosk/tally").status_code == 303


def test_a_panel_id_taken_by_a_kiosk_page_stops_start_up(tmp_path, monkeypatch, config, node):
    from gateway.app import create_app

    clash = _part("clash", kiosk_panels=lambda: [Panel("queue", "Queue", "x.html", tmp_path, lambda r: {})])
    everything = (*parts.parts(), clash)
    monkeypatch.setattr(parts, "parts", lambda: everything)
    with pytest.raises(ConfigError, match="'queue' is taken"):
        create_app(config=config, node=node)


def test_the_queue_filter_offers_every_part_channel(kiosk_client):
    page = kiosk_client.get("/kiosk/queue").get_data(as_text=True)
    for channel in ("sms", "ussd", "web", "kiosk", "whatsapp"):
        assert f'value="{channel}"' in page


def test_a_part_section_joins_the_access_report(tally, node):
    from gateway.privacy import access, lookup
    from tests.conftest import node_keys_of

    opener = node.vault.opener(node_keys_of(node))
    lookup.catch_up(node.store, opener)
    report = access.gather(node.store.read(), node.catalog, opener, phone="+6281234567890")
    assert [s.id for s in report.sections] == ["sms_sent", "inbox", "sms_received", "feedback", "tally"]
    assert report.section("tally").rows == [{"n": 0}]


def test_the_sync_panel_is_the_sync_part_s(monkeypatch, config, node, client):
    """/kiosk/sync and its nav link come from the sync part's kiosk_panels(); without it, neither."""
    add_officer(node)
    login(client)
    page = client.get("/kiosk/").get_data(as_text=True)
    assert 'href="/kiosk/sync"' in page and client.get("/kiosk/sync").status_code == 200
    from gateway.app import create_app

    without_sync = tuple(p for p in parts.parts() if p.name != "sync")
    monkeypatch.setattr(parts, "parts", lambda: without_sync)
    bare = create_app(config=config, node=node).test_client()
    assert login(bare).status_code == 303
    home = bare.get("/kiosk/")
    assert home.status_code == 200 and 'href="/kiosk/sync"' not in home.get_data(as_text=True)
    assert bare.get("/kiosk/sync").status_code == 404
