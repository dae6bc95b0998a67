"""A refused catalog (#16.1) is reported: in the push health, on /nodes and `regional nodes --json`.

A real node syncs with a real regional server that publishes a catalog which would unseal
DOMISILI.address; the node refuses it, keeps running, and every later push says so until a
corrected catalog is published.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources

import pytest
import requests

from gateway import clock
from gateway.cases.records import get_kv
from gateway.intake import guard
from gateway.intake.catalog import check_text, load_catalog
from gateway.storage.store import open_store
from sync.errors import ProtocolError
from sync.protocol import health, signing, wire
from tests.browser_support import PASSWORD
from tests.kiosk_support import hidden
from tests.syncenv import NodeBox, Regional, stop

HEAD = [0, "0" * 64]
GOOD = {"queue_depth": 0, "version": "0.1.0", "clock": "2026-12-01T08:00:00Z", "audit_head": HEAD}


def demo_text(version: int, *, unseal_address: bool) -> str:
    text = resources.files("gateway").joinpath("demo_catalog.toml").read_text("utf-8")
    text = text.replace("version = 1", f"version = {version}", 1)
    if unseal_address:
        text = text.replace(
            "max_length = 160\n  personal = true\n  label = { id = \"Alamat\"",
            "max_length = 160\n  personal = false\n  reason = \"village names only\"\n  label = { id = \"Alamat\"", 1)
        assert text.count("reason = \"village names only\"") == 1
    return text


def _nodes(regional: Regional) -> dict[str, dict]:
    out = regional.cli("regional", "nodes", "--json")
    assert out.returncode == 0, out.stderr
    return {n["id"]: n for n in json.loads(out.stdout)}


def _nodes_page(regional: Regional, lang: str) -> str:
    """/nodes as a logged-in case worker sees it, over real HTTP."""
    if not regional.query("SELECT 1 FROM users WHERE username = 'ani'"):
        added = regional.cli("regional", "user", "add", "ani", "--password-stdin", input="rahasia-kuat-1\n")
        assert added.returncode == 0, added.stderr
    web = requests.Session()
    page = web.get(regional.url + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert web.post(regional.url + "/login", data={"username": "ani", "password": "rahasia-kuat-1",
                                                   "csrf_token": token}, timeout=10).ok
    answer = web.get(regional.url + "/nodes", headers={"Accept-Language": lang}, timeout=10)
    assert answer.status_code == 200
    return html.unescape(answer.text)


class Kiosk:
    """The node's kiosk (``simpul serve`` on its database, jobs off), read over real HTTP by an officer."""

    def __init__(self, box: NodeBox):
        added = box.cli("officer", "add", "siti", "--password-stdin", input=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
        self.proc, self.url = box.serve()
        self.web = requests.Session()
        form = hidden(self.web.get(self.url + "/kiosk/login", timeout=10).text)
        signed_in = self.web.post(self.url + "/kiosk/login", data=dict(form, username="siti", password=PASSWORD),
                                  timeout=10)
        assert signed_in.ok and not signed_in.url.endswith("/kiosk/login"), signed_in.url

    def sync_panel(self, lang: str) -> str:
        answer = self.web.get(f"{self.url}/kiosk/sync?lang={lang}", timeout=10, allow_redirects=False)
        assert answer.status_code == 200
        return html.unescape(answer.text)

    def stop(self) -> None:
        stop(self.proc)


def test_refusal_travels_in_the_push_and_clears_after_a_corrected_catalog(tmp_path, regional_engine):
    catalog = tmp_path / "published.toml"
    catalog.write_text(demo_text(8, unseal_address=True), encoding="utf-8")
    regional = Regional(tmp_path / "regional", catalog=catalog, database_url=regional_engine.url).start()
    kiosk = None
    try:
        box = NodeBox(tmp_path / "node", "desa-1", regional.url, regional.add_node("desa-1"))
        box.submit()
        assert _nodes(regional)["desa-1"]["catalog_refused"] is None
        first = box.sync()
        assert first.returncode == 0, first.stderr
        # Only the catalog stage failed: the request, its events and the audit chain went up.
        assert len(regional.requests()) == 1
        assert box.query("SELECT count(*) FROM requests WHERE synced = 0") == [(0,)]
        assert _nodes(regional)["desa-1"]["last_sync_at"] is not None
        assert _nodes(regional)["desa-1"]["audit_seq"] > 0
        assert box.query("SELECT value FROM kv WHERE key = 'catalog_toml'") == []  # still the catalog it had
        reported = _nodes(regional)["desa-1"]["catalog_refused"]
        assert reported["version"] == 8 and reported["fields"] == ["DOMISILI.address"]
        assert clock.age_seconds(reported["at"]) < 120
        stored = json.loads(box.query("SELECT value FROM kv WHERE key = 'catalog_refused'")[0][0])
        assert stored == reported  # the node's own record, as sent (same moment, same fields)
        assert box.sync().returncode == 0
        assert _nodes(regional)["desa-1"]["catalog_refused"]["at"] == reported["at"]  # since when, kept
        listing = regional.cli("regional", "nodes")
        assert listing.returncode == 0 and "katalog 8 ditolak: DOMISILI.address" in listing.stdout
        page = _nodes_page(regional, "en")
        assert "Refused catalogs" in page and "DOMISILI.address" in page and "catalog refused" in page
        assert "Publish a catalog that keeps these fields personal" in page
        assert "Katalog yang ditolak" in _nodes_page(regional, "id")
        kiosk = Kiosk(box)
        panel = kiosk.sync_panel("en")
        assert "This node refused the regional server's new catalog." in panel
        assert "Catalog version 8 (refused since" in panel and "Domicile certificate: Address" in panel
        assert "keeps working with catalog version 1" in panel and "Tell the district office" in panel
        indonesian = kiosk.sync_panel("id")
        assert "Node ini menolak katalog baru dari server regional." in indonesian
        assert "Surat Keterangan Domisili: Alamat" in indonesian
    except BaseException:
        if kiosk is not None:
            kiosk.stop()
        raise
    finally:
        regional.stop()
    catalog.write_text(demo_text(9, unseal_address=False), encoding="utf-8")
    regional.start()
    try:
        assert box.sync().returncode == 0
        assert _nodes(regional)["desa-1"]["catalog_refused"] is None
        assert box.query("SELECT value FROM kv WHERE key = 'catalog_refused'") == [("",)]
        assert "katalog 8 ditolak" not in regional.cli("regional", "nodes").stdout
        assert "Refused catalogs" not in _nodes_page(regional, "en")
        assert "refused the regional server's new catalog" not in kiosk.sync_panel("en")
    finally:
        if kiosk is not None:
            kiosk.stop()
        regional.stop()


@pytest.mark.parametrize("refused", [
    "v8", [], {"version": 8, "fields": [], "at": "2026-12-01T08:00:00Z"},
    {"version": 8, "fields": "DOMISILI.address", "at": "2026-12-01T08:00:00Z"},
    {"version": 8, "fields": ["DOMISILI.address\x1b[2J"], "at": "2026-12-01T08:00:00Z"},
    {"version": 8, "fields": ["x" * 65], "at": "2026-12-01T08:00:00Z"},
    {"version": 8, "fields": ["DOMISILI.address"] * 201, "at": "2026-12-01T08:00:00Z"},
    {"version": -1, "fields": ["DOMISILI.address"], "at": "2026-12-01T08:00:00Z"},
    {"version": "8", "fields": ["DOMISILI.address"], "at": "2026-12-01T08:00:00Z"},
    {"version": 8, "fields": ["DOMISILI.address"], "at": "yesterday"},
    {"version": 8, "fields": ["DOMISILI.address"]},
])
def test_a_malformed_refusal_is_a_protocol_error(refused):
    with pytest.raises(ProtocolError, match="catalog_refused"):
        health.decode({"health": {**GOOD, "catalog_refused": refused}})


def test_decode_keeps_a_good_refusal_and_reads_absent_as_none():
    assert health.decode({"health": GOOD})["catalog_refused"] is None
    assert health.decode({"health": {**GOOD, "catalog_refused": None}})["catalog_refused"] is None
    got = health.decode({"health": {**GOOD, "catalog_refused": {
        "version": 8, "fields": ["DOMISILI.address"], "at": "2026-12-01T08:00:00+00:00"}}})
    assert got["catalog_refused"] == {"version": 8, "fields": ["DOMISILI.address"], "at": "2026-12-01T08:00:00Z"}


def test_a_bad_refusal_in_a_push_is_refused_before_any_write(regional_engine):
    from sync.regional.app import create_regional_app

    config = regional_engine.config()
    store = regional_engine.store()
    try:
        secret = store.add_node("desa-1")
        body = wire.pack({**wire.encode_audit([], (0, "0" * 64)),
                          "health": {**GOOD, "catalog_refused": {"version": 8, "fields": [1], "at": GOOD["clock"]}}})
        full = signing.PREFIX + "/audit"
        resp = create_regional_app(config, store).test_client().post(full, data=body, headers={
            signing.H_NODE: "desa-1", signing.H_REQUEST: "1",
            signing.H_SIGNATURE: signing.sign(secret, "POST", full, "desa-1", 1, body)})
        assert resp.status_code == 400 and "catalog_refused" in wire.unpack(resp.data)["error"]
        row = store.nodes()[0]
        assert row["last_sync_at"] is None and row["catalog_refused"] is None
    finally:
        store.close()


def test_the_first_refusal_time_is_kept_while_the_same_catalog_is_refused(tmp_path):
    store = open_store(tmp_path / "node.db")
    try:
        first = guard.CatalogRefused(8, ["DOMISILI.address"])
        store.write(lambda db: guard.record_refusal(db, first))
        at = guard.last_refusal(store.read())["at"]
        store.write(lambda db: guard.record_refusal(db, guard.CatalogRefused(8, ["DOMISILI.address"])))
        assert guard.last_refusal(store.read())["at"] == at
        store.write(lambda db: guard.record_refusal(db, guard.CatalogRefused(9, ["DOMISILI.address"])))
        assert guard.last_refusal(store.read()) != {"version": 8, "fields": ["DOMISILI.address"], "at": at}
        assert json.loads(get_kv(store.read(), guard.REFUSED_KEY))["version"] == 9
    finally:
        store.close()


def test_field_names_are_shown_with_the_running_catalog_labels():
    catalog = load_catalog(None)
    assert guard.field_labels(catalog, ["DOMISILI.address", "GONE.field"], "id") == [
        "Surat Keterangan Domisili: Alamat", "GONE.field"]
    assert guard.field_labels(catalog, ["DOMISILI.address"], "en") == ["Domicile certificate: Address"]
    assert check_text(demo_text(8, unseal_address=True))[0] is not None
