"""Property: whatever the kiosk and the case workers do while apart, after syncing both sides agree.

Random interleavings of kiosk moves on the node, case-worker moves at the
regional server and sync passes, over real HTTP on loopback (the regional app
served by waitress in a thread). After a final pass the node shows the
regional status, no event is applied twice, and no citizen gets more SMS
than case-worker changes.
"""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.cases.records import STATUSES, change_status
from gateway.config.loader import load_config
from gateway.errors import StatusError
from gateway.intake.pipeline import Submission
from gateway.node import Node
from sync.client.runner import run_pass
from sync.errors import RegionalError
from sync.regional.app import create_regional_app
from sync.regional.engines import open_store
from sync.regional.store import CASE_STATUSES
from tests.inthread_server import serve_in_thread
from tests.syncenv import NIK

_ids = itertools.count(1)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("regional")
    url = ""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_cluster").create_database(f"converge_{os.getpid()}")
    config = load_config(overrides={"regional": {"db": str(root / "regional.db"), "database_url": url}})
    store = open_store(config)
    app = create_regional_app(config, store)
    with serve_in_thread(app, threads=4) as httpd:
        yield store, f"http://127.0.0.1:{httpd.effective_port}", root
    store.close()


actions = st.lists(st.one_of(
    st.tuples(st.just("kiosk"), st.sampled_from(STATUSES[1:]), st.booleans()),
    st.tuples(st.just("worker"), st.sampled_from(CASE_STATUSES), st.booleans()),
    st.tuples(st.just("sync"), st.just(""), st.just(False)),
), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
def test_node_and_regional_converge(server, monkeypatch, steps):
    store, url, root = server
    node_id = f"desa-{next(_ids)}"
    secret = store.add_node(node_id)
    monkeypatch.setenv("SIMPUL_SYNC_SECRET", secret)
    config = load_config(overrides={"node": {"id": node_id}, "sync": {"url": url, "regional_key": store.keys.public_b64()},
                                    "storage": {"path": str(root / f"{node_id}.db")}})
    node = Node(config)
    try:
        receipt = node.pipeline.submit(Submission(channel="sms", service="DOMISILI", sender="081234567890",
                                                  values={"nik": NIK, "name": "Siti", "address": "Jl. Mawar"}))
        rid = receipt.request["id"]
        assert run_pass(node).ok
        worker_changes = 0
        for kind, status, with_note in steps:
            note = "catatan" if with_note else None
            if kind == "kiosk":
                try:
                    node.store.write(lambda db, s=status, n=note: change_status(db, rid, s, actor="petugas", note=n))
                except StatusError:
                    pass
            elif kind == "worker":
                try:
                    store.set_status(rid, status, actor="ani", note=note)
                    worker_changes += 1
                except RegionalError:
                    pass
            else:
                assert run_pass(node).ok
        assert run_pass(node).ok and run_pass(node).ok
        db = node.store.read()
        regional_status = store.get_request(rid)["status"]
        assert db.execute("SELECT status FROM requests WHERE id = ?", [rid]).fetchone()[0] == regional_status
        assert db.execute("SELECT count(*) FROM status_events WHERE synced = 0").fetchone()[0] == 0
        ids = [row[0] for row in db.execute("SELECT id FROM status_events")]
        assert len(ids) == len(set(ids))
        sms = db.execute("SELECT count(*) FROM outbound").fetchone()[0]
        assert sms <= worker_changes
    finally:
        node.close()
