"""The kiosk in real headless Chromium against a real ``simpul serve`` process."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser_support import PASSWORD, shot, start_server, stop_server
from tests.conftest import NIK
from tests.kiosk_support import expected_modules, qr_modules

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("kiosk"), {"siti": "admin", "budi": "officer", "ani": "officer",
                                                                   "dewi": "officer"})
    yield srv
    stop_server(srv)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="id-ID")
    pg = context.new_page()
    external: list[str] = []
    pg.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:")) else external.append(r.url))
    yield pg
    context.close()
    assert external == [], f"the page fetched something off this machine: {external}"


def _login(page, server, username="siti", password=PASSWORD):
    page.goto(f"{server.url}/kiosk/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_login_and_logout(page, server):
    page.goto(f"{server.url}/kiosk/")
    assert "/kiosk/login" in page.url
    shot(page, "kiosk-login")
    _login(page, server, password="salah-sekali-ya")
    assert "Nama pengguna atau kata sandi salah" in page.inner_text(".alert.error")
    _login(page, server)
    page.wait_for_url(f"{server.url}/kiosk/")
    assert page.is_visible("text=Permohonan baru untuk warga")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["simpul_kiosk"]["httpOnly"] and cookies["simpul_kiosk"]["sameSite"] == "Strict"
    shot(page, "kiosk-home")
    page.click("button:has-text('Keluar')")
    assert "Anda sudah keluar" in page.inner_text(".alert")
    page.goto(f"{server.url}/kiosk/queue")
    assert "/kiosk/login" in page.url


def test_failed_login_throttling(page, server):
    for _ in range(4):
        _login(page, server, "budi", "tebak-tebak")
        assert "salah" in page.inner_text(".alert.error")
    _login(page, server, "budi", "tebak-tebak")
    assert "Tunggu 30 detik" in page.inner_text(".alert.error")
    _login(page, server, "budi", PASSWORD)  # blocked even with the right password...
    assert "Terlalu banyak percobaan gagal" in page.inner_text(".alert.error")
    assert "/kiosk/login" in page.url
    _login(page, server, "siti", PASSWORD)  # ...but nobody else is locked out
    page.wait_for_url(f"{server.url}/kiosk/")


def test_assisted_submission_receipt_and_queue(page, server):
    _login(page, server)
    page.click("a.tile:has-text('Surat Keterangan Domisili')")
    page.fill("input[name=nik]", "3201011708900")  # 13 digits
    page.fill("input[name=name]", "Siti Aminah")
    page.fill("input[name=address]", "Dusun Krajan RT 02/03")
    page.click("button:has-text('Kirim dan cetak tanda terima')")
    assert page.inner_text("#e-nik") == "harus 16 digit"
    assert "persetujuan" in page.inner_text("#e-consent")
    assert page.input_value("input[name=name]") == "Siti Aminah"
    shot(page, "kiosk-form-errors")
    page.fill("input[name=nik]", NIK)
    page.fill("input[name=phone]", "0812 3456 7890")
    page.check("input[name=consent]")
    page.dblclick("button:has-text('Kirim dan cetak tanda terima')")  # a double click
    page.wait_for_url(re.compile(r".*/kiosk/receipt/.+"))
    code = page.inner_text(".r-code")
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", code)
    svg = page.locator("svg.qr").evaluate("e => e.outerHTML")
    assert qr_modules(svg) == expected_modules(f"{server.url}/track/{code}")
    assert page.is_visible("[data-print]")  # the script made the Print button visible
    shot(page, "kiosk-receipt")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 220, "height": 700})  # ~58 mm at 96 dpi
    assert not page.is_visible("header.top") and not page.is_visible("[data-print]")
    shot(page, "kiosk-receipt-print")
    pdf = page.pdf(prefer_css_page_size=True, print_background=False)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1  # the whole slip on one 58 mm page
    size = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", pdf)
    assert abs(float(size.group(1)) - 58 / 25.4 * 72) < 2  # 58 mm wide, in PDF points
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 1024, "height": 768})
    with server.db() as db:
        rows = db.execute("SELECT tracking_code, channel, officer FROM requests WHERE tracking_code = ?",
                          [code]).fetchall()
    assert rows == [(code, "kiosk", "siti")]  # one request despite the double click

    # queue: filter, search by NIK, open, mark ready, hand over
    page.goto(f"{server.url}/kiosk/queue")
    page.select_option("select[name=channel]", "kiosk")
    page.click("button:has-text('Saring')")
    assert code in page.inner_text("table.queue")
    page.select_option("select[name=channel]", "sms")
    page.click("button:has-text('Saring')")
    assert page.is_visible("text=Tidak ada permohonan yang cocok")
    page.goto(f"{server.url}/kiosk/queue")
    page.fill("input[name=q]", NIK)
    page.click("button:has-text('Saring')")
    shot(page, "kiosk-queue")
    page.click(f"a:has-text('{code}')")
    # the officer's session holds the node key: the sealed values show opened, the disk has none
    assert NIK in page.inner_text("dl.facts") and "Siti Aminah" in page.inner_text("dl.facts")
    assert not page.is_visible(".sealed-notice")
    with server.db() as db:
        assert db.execute("SELECT count(*) FROM requests WHERE fields LIKE ? OR fields LIKE ?",
                          [f"%{NIK}%", "%Aminah%"]).fetchone()[0] == 0
    page.click("button:has-text('Tandai siap')")
    assert "Tersimpan" in page.inner_text(".alert.ok")
    assert "siap diambil" in page.inner_text("p .status")
    page.fill("textarea[name=note]", "Surat sudah ditandatangani kepala desa")
    page.click("button:has-text('Tambah catatan')")
    assert "ditandatangani kepala desa" in page.inner_text("ol.history")  # the sealed note, opened
    with server.db() as db:
        assert db.execute("SELECT count(*) FROM status_events WHERE note LIKE '%kepala desa%'").fetchone()[0] == 0
    shot(page, "kiosk-detail")
    page.click("button:has-text('Serahkan')")
    assert "selesai" in page.inner_text("p .status")
    with server.db() as db:
        events = db.execute("SELECT e.status, e.actor FROM status_events e JOIN requests r ON r.id = e.request_id "
                            "WHERE r.tracking_code = ? ORDER BY e.seq", [code]).fetchall()
    assert events == [("received", "siti"), ("ready", "siti"), ("ready", "siti"), ("closed", "siti")]


def _seed_history(server, n=40):
    """Two weeks of requests from every channel, some of them ready (a realistic dashboard)."""
    import datetime as dt
    import random

    from gateway import clock
    from gateway.cases import records as cases
    from gateway.config.loader import load_config
    from gateway.intake.pipeline import Submission
    from gateway.node import Node

    rng = random.Random(7)
    node = Node(load_config(overrides={"storage": {"path": str(server.db_path)}, "jobs": {"enabled": False}}))
    try:
        for i in range(n):
            channel = rng.choice(["sms", "sms", "sms", "ussd", "ussd", "kiosk", "web"])
            service, values = rng.choice([
                ("DOMISILI", {"nik": NIK, "name": "Warga", "address": "Krajan"}),
                ("SKTM", {"nik": NIK, "name": "Warga", "purpose": "sekolah"}),
                ("ADUAN", {"message": "lampu jalan mati"}),
            ])
            row = node.pipeline.submit(Submission(channel, service, values)).request
            created = clock.now() - dt.timedelta(days=rng.randint(0, 13), hours=rng.randint(0, 6))
            node.store.write(lambda db, r=row, c=created: db.execute(
                "UPDATE requests SET created_at = ? WHERE id = ?", [clock.to_iso(c), r["id"]]))
            if i % 3 == 0:
                ready_at = clock.to_iso(created + dt.timedelta(hours=rng.randint(2, 30)))
                node.store.write(lambda db, r=row, at=ready_at: cases.change_status(
                    db, r["id"], "ready", actor="siti", at=at))
    finally:
        node.close()


def test_sync_panel_and_dashboard(page, server):
    _seed_history(server)
    _login(page, server)
    page.click("nav a:has-text('Sinkron')")
    page.click("button:has-text('Sinkron sekarang')")
    assert "Server regional belum diatur" in page.inner_text(".alert")
    shot(page, "kiosk-sync")
    page.click("nav a:has-text('Dasbor')")
    expect(page.locator("svg.chart")).to_have_count(3)  # waits for the page the click opened
    shot(page, "kiosk-dashboard")


def test_session_idle_timeout(page, server):
    _login(page, server, "ani")
    page.wait_for_url(f"{server.url}/kiosk/")
    with server.db() as db:  # ten minutes pass without activity
        db.execute("UPDATE kiosk_sessions SET last_seen_at = '2000-01-01T00:00:00Z' WHERE username = 'ani'")
    page.goto(f"{server.url}/kiosk/queue")
    assert "/kiosk/login" in page.url
    assert "Sesi Anda berakhir" in page.inner_text(".alert")
    with server.db() as db:
        assert db.execute("SELECT count(*) FROM kiosk_sessions WHERE username = 'ani'").fetchone()[0] == 0


def test_kiosk_in_english(page, server):
    _login(page, server)
    page.goto(f"{server.url}/kiosk/?lang=en")
    assert page.is_visible("text=New request for a citizen")
    page.goto(f"{server.url}/kiosk/queue")
    assert page.is_visible("h1:has-text('Queue')")
    page.goto(f"{server.url}/kiosk/?lang=id")


def test_officer_changes_own_password(page, server):
    _login(page, server, "dewi")
    page.wait_for_url(f"{server.url}/kiosk/")
    page.click("nav a:has-text('Kata sandi')")
    page.fill("#current_password", PASSWORD)
    page.fill("#new_password", "sandi-baru-dewi-2026")
    page.fill("#confirm_password", "sandi-baru-dewi-2026x")
    page.click("form.form button[type=submit]")
    assert "Kedua kata sandi baru tidak sama" in page.inner_text(".alert.error")
    page.fill("#current_password", PASSWORD)
    page.fill("#new_password", "sandi-baru-dewi-2026")
    page.fill("#confirm_password", "sandi-baru-dewi-2026")
    page.click("form.form button[type=submit]")
    assert "Kata sandi Anda telah diganti" in page.inner_text(".alert.ok")
    page.click("button:has-text('Keluar')")
    _login(page, server, "dewi")  # the old password no longer works
    assert "Nama pengguna atau kata sandi salah" in page.inner_text(".alert.error")
    _login(page, server, "dewi", "sandi-baru-dewi-2026")
    page.wait_for_url(f"{server.url}/kiosk/")
    with server.db() as db:
        assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'password_changed' "
                          "AND actor = 'dewi'").fetchone()[0] == 1
