"""The audit chain travels with sync: real regional and node processes on loopback.

The attacker this exists for has the node's disk: drops the append-only
triggers, edits an entry and recomputes every later hash, so the node's own
``simpul audit verify`` passes. The regional server's copy is what they
cannot rewrite.
"""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from gateway.privacy.audit import entry_hash
from tests.faultproxy import FaultProxy
from tests.syncenv import NodeBox, Regional, assert_exactly_once

HEAD = re.compile(r"\b([0-9a-f]{64})\b")



def officer_work(box: NodeBox, n: int, actor: str = "ani") -> None:
    """n kiosk-style officer actions on the node, through the core API (each one audited)."""
    from gateway.cases import records as cases
    from gateway.config.loader import load_config
    from gateway.intake.pipeline import Submission
    from gateway.node import Node
    from gateway.privacy import audit

    node = Node(load_config(box.config))
    try:
        node.store.write(lambda db: audit.append(db, actor=actor, action=audit.LOGIN, details={"client": "kiosk"}))
        for i in range(n - 1):
            receipt = node.pipeline.submit(Submission(
                "kiosk", "ADUAN", {"message": f"lampu jalan mati {i}"}, officer=actor))
            assert receipt.ok
            if i % 3 == 0:
                node.store.write(lambda db, rid=receipt.request["id"]: cases.change_status(
                    db, rid, "in_progress", actor=actor))
    finally:
        node.close()


def kiosk_sessions(box: NodeBox, n: int) -> None:
    """n login/logout entries, as the kiosk's auth records them (audit entries and nothing else to sync)."""
    from gateway.config.loader import load_config
    from gateway.node import Node
    from gateway.privacy import audit

    node = Node(load_config(box.config))
    try:
        for i in range(n):
            node.store.write(lambda db, i=i: audit.append(
                db, actor=f"petugas{i % 3}", action=audit.LOGOUT if i % 2 else audit.LOGIN,
                details={} if i % 2 else {"client": "127.0.0.1"}))
    finally:
        node.close()


def local_head(box: NodeBox) -> tuple[int, str]:
    out = box.cli("audit", "verify")
    assert out.returncode == 0, out.stderr
    count = box.query("SELECT count(*) FROM audit_log")[0][0]
    return count, HEAD.search(out.stdout).group(1)


def regional_node(regional: Regional, node_id: str = "desa-1") -> dict:
    out = regional.cli("regional", "nodes", "--json")
    assert out.returncode == 0, out.stderr
    return next(n for n in json.loads(out.stdout) if n["id"] == node_id)


def rewrite_history(box: NodeBox, seq: int) -> None:
    """Edit entry ``seq`` and recompute every later hash, as someone with the disk would."""
    conn = sqlite3.connect(box.db)
    try:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        rows = conn.execute("SELECT seq, at, actor, action, subject, details FROM audit_log WHERE seq >= ? "
                            "ORDER BY seq", (seq,)).fetchall()
        prev = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq - 1,)).fetchone()[0]
        for s, at, actor, action, subject, details in rows:
            if s == seq:
                actor = "mallory"
            digest = entry_hash(prev, s, at, actor, action, subject, details)
            conn.execute("UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                         (actor, prev, digest, s))
            prev = digest
        conn.commit()
    finally:
        conn.close()


def test_normal_syncs_keep_the_regional_copy_at_the_nodes_head(tmp_path, regional):
    box = NodeBox(tmp_path / "node", "desa-1", regional.url, regional.add_node("desa-1"))
    officer_work(box, 12)
    assert box.sync().returncode == 0
    count, head = local_head(box)
    held = regional_node(regional)
    assert (held["audit_seq"], held["audit_head"], held["flagged"]) == (count, head, False)
    # A case worker's change comes down (audited on the node) and more kiosk work happens.
    code = box.query("SELECT tracking_code FROM requests ORDER BY seq LIMIT 1")[0][0]
    assert regional.cli("regional", "set-status", code, "ready").returncode == 0
    officer_work(box, 5, actor="budi")
    out = box.sync()
    assert out.returncode == 0 and out.stderr == "", out.stderr
    count2, head2 = local_head(box)
    assert count2 > count
    held = regional_node(regional)
    assert (held["audit_seq"], held["audit_head"], held["flagged"], held["flags"]) == (count2, head2, False, [])
    stored = regional.query("SELECT seq, actor, action, details FROM audit_entries ORDER BY seq")
    assert [s[0] for s in stored] == list(range(1, count2 + 1))
    assert ("regional" in {s[1] for s in stored}) or any('"origin":"regional"' in s[3] for s in stored)
    assert "lampu" not in json.dumps(stored)  # ids and action kinds only
    # A quiet pass (nothing new) sends only the head and changes nothing.
    assert box.sync().returncode == 0
    assert regional.query("SELECT count(*) FROM audit_entries")[0][0] == count2
    text = regional.cli("regional", "nodes")
    assert re.search(rf"desa-1 .* {count2} {head2[:16]}  baik$", text.stdout, re.M), text.stdout


@pytest.mark.parametrize("new_entries", [True, False], ids=["with-new-entries", "quiet-node"])
def test_rewritten_history_is_flagged_and_requests_still_arrive(tmp_path, regional, new_entries):
    box = NodeBox(tmp_path / "node", "desa-1", regional.url, regional.add_node("desa-1"))
    officer_work(box, 10)
    assert box.sync().returncode == 0
    held_before = regional.query("SELECT seq, actor, hash FROM audit_entries ORDER BY seq")
    rewrite_history(box, 3)
    count, forged_head = local_head(box)  # the node's own check passes: that is the point
    assert forged_head != held_before[-1][2]
    if new_entries:
        officer_work(box, 4)
    codes = [box.submit(name="Dewi Lestari"), box.submit(name="Agus Santoso", phone="081311112222")]

    out = box.sync()
    assert out.returncode == 0, out.stderr
    assert "menandai simpul ini" in out.stderr  # the operator is told (node locale id)
    node = regional_node(regional)
    assert node["flagged"] is True and len(node["flags"]) == 1
    flag = node["flags"][0]
    assert flag["kind"] == "audit_chain"
    assert flag["problem"] == ("unlinked" if new_entries else "rewritten")
    assert flag["held"] == held_before[-1][2]
    # Nothing the server held was overwritten, nothing from the forged chain appended.
    assert regional.query("SELECT seq, actor, hash FROM audit_entries ORDER BY seq") == held_before
    assert (node["audit_seq"], node["audit_head"]) == (held_before[-1][0], held_before[-1][2])
    # Citizens' requests still arrived, exactly once.
    assert {r["tracking_code"] for r in regional.requests()} >= set(codes)
    assert_exactly_once(regional, box)
    # The node keeps offering its chain; the flag is not recorded twice.
    assert box.sync().returncode == 0
    assert regional.query("SELECT count(*) FROM node_flags")[0][0] == 1
    text = regional.cli("regional", "nodes")
    assert re.search(r"desa-1 .*  DITANDAI$", text.stdout, re.M), text.stdout
    assert f"entri {flag['seq']}: " in text.stdout, text.stdout


def test_identical_resend_after_a_lost_mark_is_not_a_flag(tmp_path, regional):
    """A node restored from a backup taken before its last ack resends what the server holds."""
    box = NodeBox(tmp_path / "node", "desa-1", regional.url, regional.add_node("desa-1"))
    officer_work(box, 20)
    assert box.sync().returncode == 0
    conn = sqlite3.connect(box.db)
    conn.execute("UPDATE sync_state SET value = 0 WHERE name = 'audit_hwm'")
    conn.commit()
    conn.close()
    assert box.sync().returncode == 0
    node = regional_node(regional)
    assert node["flagged"] is False and node["audit_seq"] == local_head(box)[0]
    assert box.query("SELECT value FROM sync_state WHERE name = 'audit_hwm'")[0][0] == node["audit_seq"]


def test_a_raised_high_water_mark_hiding_entries_is_flagged(tmp_path, regional):
    """Skipping unsent entries (so the server never sees them) leaves a gap the server notices."""
    box = NodeBox(tmp_path / "node", "desa-1", regional.url, regional.add_node("desa-1"))
    officer_work(box, 5)
    assert box.sync().returncode == 0
    officer_work(box, 6)
    conn = sqlite3.connect(box.db)
    conn.execute("UPDATE sync_state SET value = value + 3 WHERE name = 'audit_hwm'")
    conn.commit()
    conn.close()
    assert box.sync().returncode == 0
    node = regional_node(regional)
    assert node["flagged"] and node["flags"][0]["problem"] == "gap"


def _small_batches(box: NodeBox, size: int = 16) -> None:
    conn = sqlite3.connect(box.db)
    conn.execute("UPDATE sync_state SET value = ? WHERE name = 'batch_size'", (size,))
    conn.commit()
    conn.close()


@pytest.mark.parametrize("direction,extra", [("up", 800), ("up", 1800), ("down", 400), ("down", 1000)])
def test_link_cut_mid_audit_push_then_retry(tmp_path, regional, direction, extra):
    proxy = FaultProxy(regional.port)
    box = NodeBox(tmp_path / "node", "desa-1", proxy.url, regional.add_node("desa-1"))
    assert box.sync().returncode == 0  # the first config_change entry
    # What a quiet pass costs (pull, catalog, head-only audit call): cuts past it land in audit pushes.
    proxy.reset()
    assert box.sync().returncode == 0
    quiet_up, quiet_down = proxy.up, proxy.down
    kiosk_sessions(box, 200)
    total = box.query("SELECT count(*) FROM audit_log")[0][0]
    _small_batches(box)
    proxy.reset()
    setattr(proxy, f"cut_{direction}_at", (quiet_up if direction == "up" else quiet_down) + extra)
    first = box.sync()
    assert first.returncode == 1 and "push_audit" in first.stderr, first.stderr
    held = regional.query("SELECT count(*) FROM audit_entries")[0][0]
    marked = box.query("SELECT value FROM sync_state WHERE name = 'audit_hwm'")[0][0]
    assert 1 < held < total  # cut in the middle of the audit entries
    if direction == "down":
        assert held > marked  # committed there, ack lost: the node will resend those
    else:
        assert held == marked
    second = box.sync()
    assert second.returncode == 0, second.stderr
    node = regional_node(regional)
    count, head = local_head(box)
    assert (node["audit_seq"], node["audit_head"], node["flagged"]) == (count, head, False)
    rows = regional.query("SELECT seq FROM audit_entries ORDER BY seq")
    assert [r[0] for r in rows] == list(range(1, total + 1))  # no duplicate, no hole
    assert_exactly_once(regional, box)
    proxy.close()


def test_kiosk_sync_now_tells_the_officer_about_the_flag(tmp_path, regional, monkeypatch):
    from gateway.app import create_app
    from gateway.config.loader import load_config
    from sync.client.jobs import sync_now

    box = NodeBox(tmp_path / "node", "desa-1", regional.url, regional.add_node("desa-1"))
    officer_work(box, 6)
    assert box.sync().returncode == 0
    rewrite_history(box, 2)
    code = box.submit()
    monkeypatch.setenv("SIMPUL_SYNC_SECRET", box.secret)
    app = create_app(config=load_config(box.config))
    result = sync_now(app)
    assert result["configured"] and result["ok"], result
    assert result["message"].startswith("Terkirim 1 permohonan")
    assert "Server regional menolak jejak audit simpul ini" in result["message"]
    assert "riwayat diubah" in result["message"]
    assert code in {r["tracking_code"] for r in regional.requests()}
    assert regional_node(regional)["flagged"] is True


def test_acknowledged_entries_deleted_from_the_node_are_flagged(tmp_path, regional):
    box = NodeBox(tmp_path / "node", "desa-1", regional.url, regional.add_node("desa-1"))
    officer_work(box, 6)
    assert box.sync().returncode == 0
    conn = sqlite3.connect(box.db)
    conn.execute("DROP TRIGGER audit_log_no_delete")
    conn.execute("DELETE FROM audit_log WHERE seq > 4")  # the tail: the rest still verifies locally
    conn.commit()
    conn.close()
    local_head(box)
    assert box.sync().returncode == 0
    node = regional_node(regional)
    assert node["flagged"] and node["flags"][0]["problem"] == "rewritten"
    assert node["flags"][0]["seq"] == box.query("SELECT value FROM sync_state WHERE name = 'audit_hwm'")[0][0]
