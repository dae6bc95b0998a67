"""A practice request never reaches the regional server: real regional process, real `simpul sync`."""

from __future__ import annotations

import pytest

from gateway.app import create_app
from gateway.config.loader import load_config
from gateway.node import Node
from tests.kiosk_support import add_officer, hidden, login
from tests.syncenv import NIK, NodeBox

pytestmark = pytest.mark.slow



def _submit(client, name: str) -> str:
    form = client.get("/kiosk/new/DOMISILI").get_data(as_text=True)
    response = client.post("/kiosk/new/DOMISILI", data={**hidden(form), "nik": NIK, "name": name,
                                                        "address": "Dusun Krajan", "consent": "yes"})
    assert response.status_code == 303
    return response.headers["Location"].rsplit("/", 1)[1]


def test_practice_requests_are_never_pushed(tmp_path, regional):
    box = NodeBox(tmp_path / "node", "desa-1", regional.url, regional.add_node("desa-1"))
    config = load_config(box.config)
    node = Node(config)
    try:
        app = create_app(config=config, node=node)
        add_officer(node, "siti")
        add_officer(node, "budi")
        trainee, officer = app.test_client(), app.test_client()
        login(trainee, "siti")
        login(officer, "budi")
        page = trainee.get("/kiosk/").get_data(as_text=True)
        assert trainee.post("/kiosk/training/start", data=hidden(page)).status_code == 303
        practice = _submit(trainee, "Siti Latihan")
        live = _submit(officer, "Budi Sungguhan")

        out = box.sync()
        assert out.returncode == 0, out.stderr
        codes = {r["tracking_code"] for r in regional.requests()}
        assert codes == {live}
        assert practice not in codes
        # still practising: a second pass pushes nothing more
        assert box.sync().returncode == 0
        assert {r["tracking_code"] for r in regional.requests()} == {live}
    finally:
        node.close()
