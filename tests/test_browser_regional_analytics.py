"""/analytics and /transparansi in Chromium against a real ``simpul regional serve`` (screenshots in docs/)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from playwright.sync_api import expect

from gateway import clock
from gateway.config.loader import load_config
from gateway.intake.codes import generate
from sync.protocol import wire
from sync.regional.engines import open_store
from sync.regional.web import hash_password
from tests.browser_support import shot
from tests.syncenv import Regional

pytestmark = pytest.mark.browser
SERVICES = (("DOMISILI", 1), ("SKTM", 2), ("KTP", 1), ("LAHIR", 3), ("ADUAN", 7))
CHANNELS = ("sms", "ussd", "web", "kiosk")
CATEGORIES = ("roads", "roads", "utilities", "service", "other")  # the demo catalog's ADUAN categories
REASONS = ("incomplete", "incomplete", "mismatch", "not_eligible")


def _seed(regional: Regional) -> None:
    """Six villages, four months of requests with real-looking delays, rejections and ratings."""
    config = load_config(overrides={"regional": {"db": str(regional.db), "database_url": regional.database_url}})
    store = open_store(config)
    rng = random.Random(13)
    now = clock.now()
    try:
        store.add_user("ani", hash_password("rahasia-kuat-1"))
        for v in range(6):
            node = f"desa-{v + 1}"
            store.add_node(node)
            rows, moves = [], []
            for i in range(rng.randint(20, 60)):
                service, days = rng.choice(SERVICES)
                created = now - dt.timedelta(days=rng.uniform(3, 110))
                # ADUAN's category: desa-6 runs an older catalog (none sent: "unknown").
                fields = {"category": rng.choice(CATEGORIES)} if service == "ADUAN" and v < 5 else {}
                rows.append({"seq": i + 1, "id": f"{node}-{i}", "tracking_code": generate(), "service": service,
                             "channel": rng.choice(CHANNELS), "phone": None, "locale": "id", "officer": None,
                             "created_at": clock.to_iso(created), "fields": fields})
                fate = rng.random()
                if fate < 0.7:
                    moves.append((f"{node}-{i}", "ready", created + dt.timedelta(hours=rng.expovariate(1 / (days * 20)))))
                elif fate < 0.8:
                    moves.append((f"{node}-{i}", "rejected", created + dt.timedelta(hours=rng.uniform(2, 30))))
            store.push_requests(node, 1, wire.decode_requests(wire.encode_requests(rows)))
            # Rejection categories and ratings as a node sends them; desa-6 (an older node) sends neither.
            events = [{"seq": k + 1, "id": f"e-{rid}", "request_id": rid, "status": status, "actor": "petugas",
                       "at": clock.to_iso(min(at, now)), "note": None, "before": "received",
                       "note_sealed_regional": None,
                       "reason": rng.choice(REASONS) if status == "rejected" and v < 5 else None}
                      for k, (rid, status, at) in enumerate(moves)]
            ratings = [(r["id"], rng.choice((3, 4, 4, 5, 5, 2))) for r in rows if v < 5 and rng.random() < 0.5]
            store.push_events(node, 2, events, ratings=ratings)
        rejected = [r["id"] for r in store.list_requests(node_id="desa-1") if r["status"] == "received"][:3]
        for rid in rejected:
            store.set_status(rid, "rejected", actor="ani", reason="incomplete")
    finally:
        store.close()


@pytest.fixture
def server(tmp_path, regional_engine):
    regional = Regional(tmp_path / "regional", database_url=regional_engine.url)
    _seed(regional)
    regional.start()
    yield regional
    regional.stop()


def test_public_transparency_page_and_case_workers_analytics(server, browser, regional_engine):
    page = browser.new_page(viewport={"width": 1000, "height": 900}, locale="id-ID")
    errors: list[str] = []
    # Chromium asks for /favicon.ico on its own (there is none: a 404 that is not the page's doing).
    page.on("console", lambda m: errors.append(f"{m.text} {m.location.get('url')}")
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico") else None)
    page.goto(server.url + "/transparansi")
    assert page.locator("h1").inner_text() == "Layanan publik dalam angka"
    assert page.locator("svg.chart").count() >= 4
    assert "Data per" in page.locator(".asof").inner_text()
    assert "desa-" not in page.content()
    # What nodes send (categories, reasons, ratings) is charted; desa-6 sends none: "unknown".
    complaints = page.locator("svg[aria-label='Pengaduan per kategori']").text_content()
    assert "Jalan" in complaints and "Air/listrik" in complaints and "tidak diketahui" in complaints
    rejections = page.locator("svg[aria-label='Penolakan per alasan']").text_content()
    assert "Berkas tidak lengkap" in rejections and "tidak diketahui" in rejections
    assert "5 ★" in page.locator("svg[aria-label='Penilaian kepuasan']").text_content()
    if regional_engine.name == "postgresql":
        shot(page, "regional-transparansi")
    page.select_option("select[name=channel]", "sms")
    page.click("form.filters button")
    assert "channel=sms" in page.url
    page.goto(server.url + "/analytics")
    assert "/login" in page.url
    page.fill("input[name=username]", "ani")
    page.fill("input[name=password]", "rahasia-kuat-1")
    page.click("button[type=submit]")
    assert "/analytics" in page.url
    expect(page.locator("select[name=node] option")).to_have_count(7)
    expect(page.locator("text=Berkas tidak lengkap")).to_have_count(1)
    if regional_engine.name == "postgresql":
        shot(page, "regional-analytics")
    page.select_option("select[name=node]", "desa-2")
    page.click("form.filters button")
    assert "node=desa-2" in page.url
    assert not errors, errors  # the CSP allows everything these pages need (no inline script or style)
    page.close()
