from gateway.outbox.queue import enqueue, list_outbound


def test_enqueue_is_idempotent_by_key(node):
    first = node.store.write(lambda db: enqueue(db, to="+6281234567890", body="Halo", key="status:e1"))
    again = node.store.write(lambda db: enqueue(db, to="+6281234567890", body="Halo lagi", key="status:e1"))
    assert first is True and again is False
    rows = list_outbound(node.store.read())
    assert [(r["to"], r["body"], r["status"]) for r in rows] == [("+6281234567890", "Halo", "queued")]
