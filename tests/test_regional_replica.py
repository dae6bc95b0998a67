"""A PostgreSQL hot standby (pg_basebackup -R) for the many readers: data as of, lag, standby down."""

from __future__ import annotations

import time

import pytest

from sync.regional import pg_store
from sync.regional.app import create_regional_app
from sync.regional.engines import open_store
from tests import pg_support
from tests.test_regional_analytics import NOW, _at, _seed


@pytest.fixture(scope="module")
def pair():
    if not pg_support.available():
        pytest.fail("PostgreSQL is not installed: `make test` installs Debian's postgresql")
    primary = pg_support.Cluster().init().start()
    standby = None
    try:
        primary.create_database("regional")
        standby = primary.standby()
        yield primary, standby
    finally:
        if standby is not None:
            standby.stop()
        primary.cleanup()


@pytest.fixture
def replicated(pair, tmp_path, monkeypatch):
    from gateway.config.loader import load_config

    primary, standby = pair
    if not _running(standby):
        standby.start()
    config = load_config(overrides={"regional": {"db": str(tmp_path / "r.db"),
                                                 "database_url": primary.url("regional"),
                                                 "read_database_url": standby.url("regional")}})
    primary.sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public", db="regional")
    store = open_store(config)
    app = create_regional_app(config, store)
    _seed(store, monkeypatch)
    _at(monkeypatch, NOW)
    primary.wait_replayed(standby)
    yield app, store, primary, standby
    store.close()
    if not _running(standby):
        standby.start()


def _running(cluster) -> bool:
    return cluster._run(pg_support.pg_bin("pg_ctl"), "-D", str(cluster.data), "status", check=False).returncode == 0


def _local(as_of: str) -> str:
    """The standby's replay time as the pages show it: district time, English reader."""
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime

    from gateway import clock

    return format_datetime(clock.parse(as_of), "d MMM yyyy HH:mm", tzinfo=ZoneInfo("Asia/Jakarta"), locale="en")


def test_pages_read_the_standby_and_say_as_of_when(replicated):
    app, store, primary, standby = replicated
    db, as_of, source = store.reader()
    assert source == "standby"
    assert db.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
    html = app.test_client().get("/transparansi?lang=en").get_data(as_text=True)
    assert f"Data as of {_local(as_of)} (Asia/Jakarta)." in html and "(total: 13)" in html
    assert "replica" not in html  # no warning while it keeps up
    # Writes and sync go to the primary even with a standby configured.
    store.add_node("desa-3")
    primary.wait_replayed(standby)
    assert [r["node_id"] for r in store.reader_nodes(store.reader()[0])][-1] == "desa-3"


def test_a_lagging_standby_is_named_and_still_read(replicated, monkeypatch):
    app, store, primary, standby = replicated
    standby.sql("SELECT pg_wal_replay_pause()", db="regional")
    try:
        store.add_node("desa-9")  # received by the standby, not replayed
        monkeypatch.setattr(pg_store, "LAG_SECONDS", -1)
        for _ in range(50):
            _db, _as_of, source = store.reader()
            if source == "lagging":
                break
            time.sleep(0.1)
        assert source == "lagging"
        html = app.test_client().get("/transparansi?lang=en").get_data(as_text=True)
        assert "behind the primary" in html and "(total: 13)" in html
    finally:
        standby.sql("SELECT pg_wal_replay_resume()", db="regional")


def test_standby_down_pages_fall_back_to_the_primary_and_say_so(replicated):
    app, store, primary, standby = replicated
    standby.stop()
    db, _as_of, source = store.reader()
    assert source == "standby_down"
    assert db.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
    client = app.test_client()
    html = client.get("/transparansi?lang=en").get_data(as_text=True)
    assert "not answering" in html and "(total: 13)" in html
    standby.start()
    assert store.reader()[2] == "standby"  # back by itself once it answers again


def test_the_fleet_view_reads_the_standby_and_falls_back_when_it_is_down(replicated):
    from tests.test_sync_web import _login

    app, store, primary, standby = replicated
    client = app.test_client()
    _login(client, store)
    primary.wait_replayed(standby)
    rows, as_of, source = store.fleet()
    assert source == "standby" and {r["id"]: r["requests"] for r in rows} == {"desa-1": 11, "desa-2": 2}
    html = client.get("/nodes?lang=en").get_data(as_text=True)
    assert f"Data as of {_local(as_of)} (Asia/Jakarta)." in html and "replica" not in html
    standby.stop()
    down = client.get("/nodes?lang=en")
    assert down.status_code == 200
    html = down.get_data(as_text=True)
    assert "not answering" in html and "desa-2" in html
    assert store.fleet()[2] == "standby_down"


def test_a_standby_lost_between_the_check_and_the_page_falls_back_to_the_primary(replicated, monkeypatch):
    from sync.regional import analytics

    app, store, primary, standby = replicated
    real = analytics.summary
    calls: list[str] = []

    def standby_dies_first(db, *args, **kwargs):
        if not calls:
            standby.stop()  # after store.reader() found it up, before the page's query
        calls.append("x")
        return real(db, *args, **kwargs)

    monkeypatch.setattr(analytics, "summary", standby_dies_first)
    page = app.test_client().get("/transparansi?lang=en")
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    html = page.get_data(as_text=True)
    assert "not answering" in html and "(total: 13)" in html and len(calls) == 2
