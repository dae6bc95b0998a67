"""Wall-clock steps (+-1 day, back by hours) while node processes run: sync, USSD, kiosk, backoff.

The quick cases of ``bench/soak_clock.py``. Real processes run under libfaketime with a shared
control file, so the clock of a RUNNING process moves; CLOCK_MONOTONIC is left alone
(``DONT_FAKE_MONOTONIC=1``), as it is when a real clock is stepped.
"""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest

from bench import soak_clock
from gateway import clock
from gateway.web import sessions
from tests.kiosk_support import add_officer, login
from tests.syncenv import NodeBox, Regional, stop

needs_faketime = pytest.mark.skipif(not soak_clock.available(),
                                    reason=f"libfaketime missing ({soak_clock.LIBFAKETIME}); apt-get install faketime")


@needs_faketime
def test_faked_child_follows_the_control_file(tmp_path):
    assert abs(soak_clock.probe(soak_clock.FakeClock(tmp_path / "rc")) - 86400) < 60


@needs_faketime
def test_sync_exactly_once_and_in_seq_order_across_clock_jumps(tmp_path):
    counts = soak_clock.sync_campaign(tmp_path, rounds=4, rng=random.Random(6))
    assert counts["passes"] == 5 and counts["sync_failures"] == 0  # no 401/409: the counter, not the clock
    assert counts["lost"] == counts["duplicated"] == counts["unsynced"] == 0
    assert counts["out_of_order"] == 0
    assert counts["status_set"] >= 1 and counts["regional_events_on_node"] == counts["status_set"]
    assert counts["regional_events_duplicated"] == 0


@needs_faketime
def test_ussd_forward_jump_ends_politely_and_backward_jump_is_not_immortal(tmp_path):
    counts = soak_clock.ussd_campaign(tmp_path, sessions=4, rng=random.Random(7))
    assert counts["sessions"] == 4 and counts["server_errors"] == counts["unexpected"] == 0
    assert counts["forward_ended"] == counts["forward_jumps"] == 2
    assert counts["backward_continued"] == counts["backward_then_idle_ended"] == 2


def test_kiosk_session_stamped_in_the_future_is_ended(client, node):
    """After the clock steps back 2 h, a session's age is unknowable: log out, not 2 h more life."""
    add_officer(node)
    login(client)
    assert client.get("/kiosk/").status_code == 200
    later = clock.to_iso(clock.now() + dt.timedelta(hours=2))
    node.store.write(lambda db: db.execute("UPDATE kiosk_sessions SET created_at = ?, last_seen_at = ?",
                                           [later, later]))
    response = client.get("/kiosk/")
    assert response.status_code == 303 and "expired=1" in response.headers["Location"]
    assert list(node.store.read().query("SELECT * FROM kiosk_sessions")) == []


def test_kiosk_small_skew_and_forward_jump():
    timeouts = sessions.Timeouts(idle=dt.timedelta(minutes=10), absolute=dt.timedelta(hours=8))
    now = clock.now()
    row = {"created_at": clock.to_iso(now), "last_seen_at": clock.to_iso(now + dt.timedelta(seconds=30))}
    assert not sessions.expired(row, timeouts, now)  # NTP-sized slew back: still logged in
    assert sessions.expired(row, timeouts, now + dt.timedelta(days=1))  # +1 day: idle, logged out
    assert sessions.expired(row, timeouts, now - dt.timedelta(days=1))  # -1 day: logged out


def _wait_synced(regional: Regional, code: str, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if regional.query("SELECT 1 FROM requests WHERE tracking_code = ?", (code,)):
            return True
        time.sleep(0.2)
    return False


@needs_faketime
def test_sync_job_in_serve_keeps_its_interval_when_the_clock_steps(tmp_path, regional_engine):
    """Regression: the sync job was an APScheduler date job on the wall clock; -1 day stalled it a day."""
    regional = Regional(tmp_path / "regional", database_url=regional_engine.url).start()
    fake = soak_clock.FakeClock(tmp_path / "faketime.rc")
    proc = None
    try:
        box = NodeBox(tmp_path / "node", "desa-jam", regional.url, regional.add_node("desa-jam"))
        box.config.write_text(f'[node]\nid = "desa-jam"\n[storage]\npath = "{box.db}"\n[sync]\n'
                              f'url = "{regional.url}"\nregional_key = "{box.regional_key}"\n'
                              'interval_seconds = 2\n', encoding="utf-8")
        proc, _url = box.serve(jobs=True, env=fake.env())
        for offset in ("+0", "-1d", "+1d", "-3h"):
            fake.set(offset)
            code = box.submit(name=f"Warga {offset}")
            assert _wait_synced(regional, code, 20), f"no sync pass within 20 s after the clock went {offset}"
    finally:
        if proc is not None:
            stop(proc)
        regional.stop()


def test_sync_loop_keeps_trying_with_backoff_on_monotonic_waits(node):
    """After a failed pass the next one comes after the backoff, waited on CLOCK_MONOTONIC."""
    import threading

    from sync.client.jobs import SyncLoop

    asked: list[tuple[float, float]] = []

    def rand(low: float, high: float) -> float:
        asked.append((low, high))
        return 0.1  # the drawn wait; the bounds asked for are checked below

    loop = SyncLoop(node, rand=rand)  # no sync.url here: every pass fails (NotConfigured)
    stop = threading.Event()
    worker = threading.Thread(target=loop.forever, args=(stop, 0.0))
    worker.start()
    deadline = time.monotonic() + 10
    while loop.failures < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    worker.join(5)
    assert not worker.is_alive() and loop.failures >= 4
    assert asked[:4] == [(15.0, 30.0), (15.0, 60.0), (15.0, 120.0), (15.0, 240.0)]
