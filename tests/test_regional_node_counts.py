"""Per-node request counts kept at ingest (nodes.requests): exact under resends, replays and conflicts.

The fleet view used to count each node's requests over the whole requests
table on every page view (2.6 s at 1,000 nodes / 1,000,000 requests); the
count now moves in the push's own transaction, by the requests NEW in it.
"""

from __future__ import annotations

import re

import pytest

from sync.errors import ReplayError
from tests.test_regional_engines import _request


def _counts(store) -> dict[str, int]:
    return {r["id"]: r["requests"] for r in store.nodes()}


def test_only_new_requests_count_and_resends_never_double(regional_engine):
    store = regional_engine.store()
    try:
        store.add_node("desa-1")
        store.add_node("desa-2")
        batch = [_request(1), _request(2), _request(3)]
        assert store.push_requests("desa-1", 1, batch)["new"] == 3
        assert _counts(store) == {"desa-1": 3, "desa-2": 0}
        # The ack was lost: the node resends the same batch under a new counter.
        assert store.push_requests("desa-1", 2, batch)["same"] == 3
        # A replayed HTTP request (same counter) is refused before it writes anything.
        with pytest.raises(ReplayError):
            store.push_requests("desa-1", 2, batch)
        # Same UUID, other content: a conflict, not a request; plus one new.
        changed = [_request(1, batch[0]["tracking_code"], name="Lain"), _request(4)]
        assert store.push_requests("desa-1", 3, changed) == {"new": 1, "same": 0, "conflicts": 1,
                                                              "code_clashes": 0, "unopenable": 0}
        # Another node sending a UUID desa-1 already sent is a conflict for it, not a request.
        assert store.push_requests("desa-2", 1, [_request(2), _request(9)])["new"] == 1
        assert _counts(store) == {"desa-1": 4, "desa-2": 1}
        assert store.stats()["requests"] == 5
        held = store.read().query("SELECT node_id, count(*) AS n FROM requests GROUP BY node_id ORDER BY node_id")
        assert {r["node_id"]: r["n"] for r in held} == _counts(store)
    finally:
        store.close()


def test_a_failed_push_rolls_the_count_back_with_its_rows(regional_engine, monkeypatch):
    store = regional_engine.store()
    try:
        store.add_node("desa-1")
        from sync.regional import analytics

        def boom(*_args, **_kwargs):
            raise RuntimeError("disk full")

        monkeypatch.setattr(analytics, "on_new_requests", boom)  # fails after the rows and the count moved
        with pytest.raises(RuntimeError):
            store.push_requests("desa-1", 1, [_request(1)])
        monkeypatch.undo()
        assert _counts(store) == {"desa-1": 0} and store.stats()["requests"] == 0
        assert store.push_requests("desa-1", 1, [_request(1)])["new"] == 1  # the node's retry is accepted
        assert _counts(store) == {"desa-1": 1}
    finally:
        store.close()


def test_the_upgrade_backfills_counts_of_requests_already_held(regional_engine):
    store = regional_engine.store()
    try:
        store.add_node("desa-1")
        store.add_node("desa-2")
        store.push_requests("desa-1", 1, [_request(i) for i in range(1, 6)])
        store.push_requests("desa-2", 1, [_request(10), _request(11)])
        # Back to the schema before the count existed, as a server upgraded from main at ce554a5 has it.
        if regional_engine.name == "sqlite":
            store.write(lambda db: (db.execute("ALTER TABLE nodes DROP COLUMN requests"),
                                    db.execute("DELETE FROM _sqlite_migrations WHERE name = ?",
                                               ["m024_node_request_counts"])))
        else:
            store.write(lambda db: (db.execute("ALTER TABLE nodes DROP COLUMN requests"),
                                    db.execute("DELETE FROM schema_migrations WHERE name = ?",
                                               ["m010_node_request_counts"])))
    finally:
        store.close()
    store = regional_engine.store()  # opening it migrates
    try:
        assert _counts(store) == {"desa-1": 5, "desa-2": 2}
        assert store.push_requests("desa-1", 2, [_request(1), _request(6)])["new"] == 1
        assert _counts(store) == {"desa-1": 6, "desa-2": 2}
    finally:
        store.close()



def test_nodes_page_says_as_of_when_without_a_standby(regional_engine):
    from sync.regional.app import create_regional_app
    from tests.test_sync_web import _login

    store = regional_engine.store()
    try:
        store.add_node("desa-1")
        store.push_requests("desa-1", 1, [_request(1), _request(2)])
        client = create_regional_app(regional_engine.config(), store).test_client()
        _login(client, store)
        html = client.get("/nodes?lang=en").get_data(as_text=True)
        assert re.search(r"Data as of \d{1,2} \w{3} 20\d\d \d\d:\d\d \(Asia/Jakarta\)\.", html)
        assert "replica" not in html
        row = html.split('<tbody>')[1].split("</tr>")[0]
        assert "<td>2</td>" in row  # the Requests column: the kept count
    finally:
        store.close()
