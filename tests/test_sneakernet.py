"""Sneakernet end to end: real node and regional databases, the real CLI, files on a "stick" folder.

The strongest check compares a stick round trip with an HTTP sync of the same
data: two copies of the same regional database and node database, one fed by
files (shuffled, duplicated, imported twice), one by `simpul sync --once`.
"""

from __future__ import annotations

import random
import shutil
import stat
from pathlib import Path

import pytest

from tests.syncenv import NodeBox, Regional, assert_exactly_once


def stick(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


@pytest.fixture
def regional(tmp_path, regional_engine):
    server = Regional(tmp_path / "regional", database_url=regional_engine.url)
    yield server
    server.stop()


@pytest.fixture
def box(tmp_path, regional):
    return NodeBox(tmp_path / "node", "desa-1", regional.url, regional.add_node("desa-1"))


def ok(out):
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def regional_state(server: Regional) -> dict:
    return {
        "requests": server.query("SELECT id, node_id, node_seq, tracking_code, service, status, digest, sealed, "
                                 "seal_problem FROM requests ORDER BY id"),
        "events": server.query("SELECT id, request_id, status, actor, at, note, origin, applied FROM events "
                               "ORDER BY id"),
        "audit": server.query("SELECT node_id, seq, hash FROM audit_entries ORDER BY node_id, seq"),
        "conflicts": server.query("SELECT kind, request_id, digest FROM conflicts ORDER BY request_id, kind"),
        "flags": server.query("SELECT kind FROM node_flags"),
    }


def node_state(node: NodeBox) -> dict:
    return {
        "requests": node.query("SELECT id, status, synced FROM requests ORDER BY seq"),
        # (ids of the case worker's events differ between the two servers; the rest must not)
        "events": node.query("SELECT CASE origin WHEN 'node' THEN id END, request_id, status, origin, synced "
                             "FROM status_events ORDER BY seq"),
        "sms": node.query('SELECT "to", body FROM outbound ORDER BY "to", body'),
        "marks": node.query("SELECT name, value FROM sync_state WHERE name IN "
                            "('requests_hwm', 'events_hwm', 'audit_hwm', 'pull_cursor') ORDER BY name"),
    }


def set_secret(server: Regional, node_id: str, secret: str) -> None:
    server.execute("UPDATE nodes SET secret = ? WHERE id = ?", [secret, node_id])


def shuffle_into(target: Path, *sources: Path, seed: int = 7) -> None:
    """Copy every file of ``sources`` into ``target`` under random names, some twice."""
    rng = random.Random(seed)
    files = [f for s in sources for f in s.iterdir()]
    files += rng.sample(files, k=max(1, len(files) // 2))
    rng.shuffle(files)
    for i, f in enumerate(files):
        shutil.copy(f, target / f"{rng.randrange(10**6):06d}-{i}.parcel")


def test_a_stick_both_ways_gives_exactly_the_http_result(tmp_path, regional, box, regional_engine):
    codes = [box.submit(name="Siti Aminah"), box.submit(name="John Smith", phone="081311112222", locale="en")]
    first = stick(tmp_path, "stick1")
    out = ok(box.cli("sync", "export", str(first)))
    assert "2" in out.stdout
    files = sorted(first.iterdir())
    assert [f.name.rsplit("-", 1)[1] for f in files] == ["requests.parcel", "events.parcel", "audit.parcel"] \
        or [f.name.rsplit("-", 1)[1] for f in files] == ["requests.parcel", "audit.parcel"]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    for f in files:  # sealed: no personal value and no code is readable on the stick
        assert b"Siti" not in f.read_bytes() and codes[0].encode() not in f.read_bytes()
    # The node marks nothing on export: the way back confirms.
    assert box.query("SELECT count(*) FROM requests WHERE synced = 0")[0][0] == 2

    box.cli("set-status", codes[0], "in_progress", "--actor", "officer1")
    second = stick(tmp_path, "stick2")
    ok(box.cli("sync", "export", str(second)))

    # The twin: the same regional database and node database, synced over HTTP instead.
    # (The twin server gets the node with the same secret through its own database, on any engine.)
    twin_regional = Regional(tmp_path / "twin-regional", database_url=regional_engine.another_url())
    twin_regional.add_node("desa-1")
    set_secret(twin_regional, "desa-1", box.secret)
    twin = NodeBox(tmp_path / "twin-node", "desa-1", twin_regional.url, box.secret)
    shutil.copy(box.db, twin.db)

    mixed = stick(tmp_path, "mixed")
    shuffle_into(mixed, first, second)
    out = ok(regional.cli("regional", "import", str(mixed)))
    again = ok(regional.cli("regional", "import", str(mixed)))
    assert "0 new requests" in again.stdout or "0 permohonan baru" in again.stdout
    assert sorted(r["tracking_code"] for r in regional.requests()) == sorted(codes)

    twin_regional.start()
    try:
        ok(twin.sync())
    finally:
        twin_regional.stop()
    # (the twin's node logs one more entry: its config names other paths; the rest is equal)
    mine, theirs = regional_state(regional), regional_state(twin_regional)
    held = box.query("SELECT count(*) FROM audit_log")[0][0]
    assert [a for a in theirs.pop("audit") if a[1] <= held] == mine.pop("audit")
    assert mine == theirs

    # The way back: a case worker moves both cases; a file for the node, and the twin pulls.
    for server in (regional, twin_regional):
        for code in codes:
            ok(server.cli("regional", "set-status", code, "ready"))
    back = stick(tmp_path, "back")
    ok(regional.cli("regional", "export-for", "desa-1", str(back)))
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in back.iterdir())
    queued = box.query("SELECT count(*) FROM outbound")[0][0]  # the kiosk's "in progress" SMS
    ok(box.cli("sync", "import", str(back)))
    ok(box.cli("sync", "import", str(back)))  # twice: nothing applied or sent twice
    twin_regional.start()
    try:
        ok(twin.sync())
    finally:
        twin_regional.stop()
    assert len(node_state(box)["sms"]) == queued + 2
    mine, theirs = node_state(box), node_state(twin)
    assert mine["requests"] == theirs["requests"] and mine["events"] == theirs["events"]
    assert mine["sms"] == theirs["sms"]
    assert dict(mine["marks"])["pull_cursor"] == dict(theirs["marks"])["pull_cursor"]
    assert dict(mine["marks"])["audit_hwm"] > 0

    # And HTTP afterwards finds nothing left to move: the stick's work counts.
    regional.start()
    out = ok(box.sync())
    assert_exactly_once(regional, box)
    assert regional_state(regional)["requests"] == regional_state(twin_regional)["requests"]
    assert box.query("SELECT count(*) FROM outbound")[0][0] == queued + 2


def test_damaged_tampered_and_foreign_files_are_refused_and_nothing_is_half_applied(tmp_path, regional, box):
    code = box.submit()
    good = stick(tmp_path, "good")
    ok(box.cli("sync", "export", str(good)))
    requests_file = next(good.glob("*requests.parcel"))

    truncated = stick(tmp_path, "truncated")
    for f in good.iterdir():
        shutil.copy(f, truncated / f.name)
    data = requests_file.read_bytes()
    (truncated / requests_file.name).write_bytes(data[:-40])
    out = regional.cli("regional", "import", str(truncated))
    assert out.returncode == 1
    assert "truncated" in out.stderr or "terpotong" in out.stderr
    assert regional.query("SELECT count(*) FROM requests")[0][0] == 0
    assert regional.query("SELECT count(*) FROM audit_entries")[0][0] == 0  # its export is refused whole

    tampered = stick(tmp_path, "tampered")
    for f in good.iterdir():
        shutil.copy(f, tampered / f.name)
    flipped = bytearray(data)
    flipped[-100] ^= 0x01
    (tampered / requests_file.name).write_bytes(bytes(flipped))
    (tampered / "junk.parcel").write_bytes(b"not a parcel at all")
    out = regional.cli("regional", "import", str(tampered))
    assert out.returncode == 1
    assert "junk.parcel" in out.stderr and requests_file.name in out.stderr
    assert regional.query("SELECT count(*) FROM requests")[0][0] == 0

    # Made with another secret (the node's secret was rotated at the office meanwhile).
    ok(regional.cli("regional", "add-node", "desa-1", "--rotate"))
    out = regional.cli("regional", "import", str(good))
    assert out.returncode == 1 and regional.query("SELECT count(*) FROM requests")[0][0] == 0

    # A file for another node on this node's stick is left alone; the node's own files apply.
    other = NodeBox(tmp_path / "other", "desa-2", regional.url, regional.add_node("desa-2"))
    other.submit(name="Budi Santoso")
    both = stick(tmp_path, "both")
    ok(other.cli("sync", "export", str(both)))
    ok(regional.cli("regional", "import", str(both)))
    ok(regional.cli("regional", "export-for", "desa-2", str(both)))
    out = box.cli("sync", "import", str(both))
    assert out.returncode == 0 and "desa-2" in out.stdout
    assert box.query("SELECT count(*) FROM requests WHERE synced = 1")[0][0] == 0
    assert code


def test_the_node_refuses_updates_over_a_hole_and_files_for_an_unknown_node(tmp_path, regional, box):
    code = box.submit()
    there = stick(tmp_path, "there")
    ok(box.cli("sync", "export", str(there)))
    ok(regional.cli("regional", "import", str(there)))
    ok(regional.cli("regional", "set-status", code, "in_progress"))
    back = stick(tmp_path, "back")
    ok(regional.cli("regional", "export-for", "desa-1", str(back)))
    ok(box.cli("sync", "import", str(back)))
    assert box.query("SELECT status FROM requests")[0][0] == "in_progress"

    ok(regional.cli("regional", "set-status", code, "ready"))
    ok(box.cli("sync", "export", str(there)))  # tells the office how far this node is
    ok(regional.cli("regional", "import", str(there)))
    later = stick(tmp_path, "later")
    ok(regional.cli("regional", "export-for", "desa-1", str(later)))
    # The node is put back to an older state (a restored backup): the files start after its cursor.
    box.execute("UPDATE sync_state SET value = 0 WHERE name = 'pull_cursor'")
    out = box.cli("sync", "import", str(later))
    assert out.returncode == 1
    assert "missing" in out.stderr or "hilang" in out.stderr
    assert box.query("SELECT status FROM requests")[0][0] == "in_progress"

    out = regional.cli("regional", "export-for", "desa-9", str(later))
    assert out.returncode == 2 and "desa-9" in out.stderr
    out = box.cli("sync", "export", str(tmp_path / "no-such-stick"))
    assert out.returncode == 2 and "no-such-stick" in out.stderr
