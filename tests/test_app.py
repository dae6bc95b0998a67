from gateway.intake.pipeline import Submission


def test_healthz_reports_queue(client, node):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["queue_depth"] == 0 and body["oldest_unsynced_age_s"] is None and body["last_sync_at"] is None
    node.pipeline.submit(Submission("web", "ADUAN", {"message": "lampu jalan mati"}))
    body = client.get("/healthz").get_json()
    assert body["queue_depth"] == 1 and body["oldest_unsynced_age_s"] >= 0
    node.store.write(lambda db: db.execute("UPDATE requests SET synced = 1"))
    assert client.get("/healthz").get_json()["queue_depth"] == 0


def test_create_app_with_test_config(tmp_path, monkeypatch):
    from gateway.app import create_app

    app = create_app({"storage": {"path": str(tmp_path / "t.db")}, "node": {"id": "t-node"}})
    assert app.testing
    assert app.test_client().get("/healthz").get_json()["node_id"] == "t-node"
    assert (tmp_path / "t.db").exists()
