"""Issue 14: `simpul sync` is a group that still syncs with no subcommand; progress one line per batch."""

from __future__ import annotations

import re

from tests.syncenv import NodeBox


def test_sync_group_keeps_once_and_prints_a_line_per_batch(regional, tmp_path):
    box = NodeBox(tmp_path / "node", "desa-p", regional.url, regional.add_node("desa-p"))
    box.submit_many(250)
    out = box.sync(env={"SIMPUL__NODE__DEFAULT_LOCALE": "en"})
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("Pushing requests")]
    assert lines, out.stdout
    assert re.search(r"Pushing requests: 250/250 records, [\d.]+ k?B, [\d.]+ k?B/s, ETA 0m00s", lines[-1]), lines
    codes = [r[0] for r in box.query("SELECT tracking_code FROM requests")]
    assert all(code not in out.stdout for code in codes)  # counts only, never a tracking code
    assert len(regional.requests()) == 250
    quiet = box.sync()  # nothing left: a short pass prints no progress
    assert quiet.returncode == 0 and "Pushing" not in quiet.stdout and "Mengirim" not in quiet.stdout
    helped = box.cli("sync", "--help")
    assert helped.returncode == 0 and "--once" in helped.stdout


def test_sync_export_prints_a_line_per_file_with_records_and_bytes(regional, tmp_path):
    """Issue 14.6: a volunteer copying a backlog onto a stick sees it move; counts only, never a code."""
    box = NodeBox(tmp_path / "node", "desa-x", regional.url, regional.add_node("desa-x"))
    box.submit_many(250)
    stick = tmp_path / "stick"
    stick.mkdir()
    out = box.cli("sync", "export", str(stick), env={"SIMPUL__NODE__DEFAULT_LOCALE": "en"})
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("Writing batches")]
    assert len(lines) == len(list(stick.iterdir())), out.stdout  # one line per file written
    total = re.search(r"Writing batches: (\d+)/(\d+) records, ([\d.]+) (k?B)", lines[-1])
    assert total and total.group(1) == total.group(2) and int(total.group(1)) >= 250, lines  # requests and audit; events wait for the office
    codes = [r[0] for r in box.query("SELECT tracking_code FROM requests")]
    assert all(code not in out.stdout for code in codes)
