"""Node keys on disk, the vault, the blind index and rotation, on a real SQLite file."""

from __future__ import annotations

import sqlite3

import pytest

from gateway.intake.pipeline import Submission
from gateway.privacy import keys, lookup, rotation, sealing
from gateway.privacy.sealing import SealError
from gateway.privacy.vault import SEALED, fields_for_view
from tests.conftest import NIK, node_keys_of, opened_fields

OTHER_NIK = "3201014107950002"
VALUES = {"nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan RT 02/03"}


def _submit(node, values=VALUES, service="DOMISILI", sender="081234567890"):
    receipt = node.pipeline.submit(Submission("sms", service, values, sender=sender))
    assert receipt.ok, receipt.render_problems("en")
    return receipt.request["id"]


def _row(node, rid):
    return next(iter(node.store.read().query("SELECT id, fields, sealed FROM requests WHERE id = ?", [rid])))


def _raw_bytes(path) -> bytes:
    out = b""
    for suffix in ("", "-wal", "-shm"):
        try:
            with open(str(path) + suffix, "rb") as f:
                out += f.read()
        except FileNotFoundError:
            pass
    return out


def test_provisioning_makes_one_key_and_a_working_recovery_code(node):
    db = node.store.read()  # opening the store provisions
    code = node.new_recovery_code
    assert code and len(code.replace("-", "")) == 26
    assert keys.provision(db) is None  # idempotent: never a second key
    held = keys.recover(db, code.lower().replace("-", " "))  # forgiving about case and spacing
    assert list(held) == [keys.current_key(db)[0]]
    with pytest.raises(keys.KeyAccessError):
        keys.recover(db, keys.new_recovery_code())
    # Nothing on disk is the private key in clear.
    raw = _raw_bytes(node.config["storage.path"])
    assert sealing.private_bytes(next(iter(held.values()))) not in raw


def test_holder_gets_the_key_only_through_a_grant(node):
    held = node_keys_of(node)
    node.store.write(lambda db: keys.add_holder(db, "ani", "rahasia-ani-1"))
    db = node.store.read()
    assert keys.unlock(db, "ani", "rahasia-ani-1") == {}
    assert keys.ungranted(db) == ["ani"]
    with pytest.raises(keys.KeyAccessError):
        keys.unlock(db, "ani", "wrong-password")
    node.store.write(lambda db: keys.grant(db, "ani", held))
    opened = keys.unlock(node.store.read(), "ani", "rahasia-ani-1")
    assert {k: sealing.private_bytes(v) for k, v in opened.items()} == {
        k: sealing.private_bytes(v) for k, v in held.items()}
    assert keys.ungranted(node.store.read()) == []


def test_password_change_keeps_the_grant_and_reset_ends_it(node):
    held = node_keys_of(node)
    node.store.write(lambda db: keys.add_holder(db, "ani", "rahasia-ani-1"))
    node.store.write(lambda db: keys.grant(db, "ani", held))
    node.store.write(lambda db: keys.change_password(db, "ani", "rahasia-ani-1", "rahasia-ani-2"))
    assert keys.unlock(node.store.read(), "ani", "rahasia-ani-2")
    with pytest.raises(keys.KeyAccessError):
        keys.unlock(node.store.read(), "ani", "rahasia-ani-1")
    node.store.write(lambda db: keys.add_holder(db, "ani", "baru-sekali-3"))  # an admin's reset
    assert keys.unlock(node.store.read(), "ani", "baru-sekali-3") == {}
    node.store.write(lambda db: keys.remove_holder(db, "ani"))
    with pytest.raises(keys.KeyAccessError):
        keys.unlock(node.store.read(), "ani", "baru-sekali-3")


def test_sealed_fields_open_only_for_their_record_and_key(node):
    rid = _submit(node)
    other = _submit(node, dict(VALUES, nik=OTHER_NIK, name="Budi"))
    db = node.store.read()
    row = _row(node, rid)
    moved = dict(row, sealed=db.execute("SELECT sealed FROM requests WHERE id = ?", [other]).fetchone()[0])
    opener = node.vault.opener(node_keys_of(node))
    assert opener.fields(row) == VALUES
    with pytest.raises(SealError):  # a blob copied onto another record does not open there
        opener.fields(moved)
    tampered = dict(row, sealed=row["sealed"][:-1] + bytes([row["sealed"][-1] ^ 1]))
    with pytest.raises(SealError):
        opener.fields(tampered)
    stranger = node.vault.opener({keys.current_key(db)[0]: sealing.X25519PrivateKey.generate()})
    with pytest.raises(SealError):
        stranger.fields(row)
    service = node.catalog.service("DOMISILI")
    masked, opened = fields_for_view(None, row, service)
    assert not opened and masked == {"nik": SEALED, "name": SEALED, "address": SEALED}


def test_non_personal_values_stay_plain_and_personal_ones_do_not(node):
    # A choice is not personal; free text (an SKTM purpose) is, by default (security review finding 1).
    rid = _submit(node, {"nik": NIK, "name": "Siti Aminah", "reason": "new"}, service="KTP")
    row = node.store.read().execute("SELECT fields FROM requests WHERE id = ?", [rid]).fetchone()
    assert row[0] == '{"reason": "new"}'
    sktm = _submit(node, {"nik": NIK, "name": "Siti Aminah", "purpose": "beasiswa sekolah"}, service="SKTM")
    row = node.store.read().execute("SELECT fields FROM requests WHERE id = ?", [sktm]).fetchone()
    assert row[0] == "{}"
    raw = _raw_bytes(node.config["storage.path"])
    assert NIK.encode() not in raw and b"Siti Aminah" not in raw and b"beasiswa" not in raw


def test_epochs_rotate_by_record_count_and_every_epoch_opens(node):
    node.vault.epoch_records = 3
    ids = [_submit(node, dict(VALUES, name=f"Warga {i}"), sender=None) for i in range(7)]
    db = node.store.read()
    epochs = {sealing.epoch_of(r[0]) for r in db.execute("SELECT sealed FROM requests")}
    assert len(epochs) == 3
    for i, rid in enumerate(ids):
        row = _row(node, rid)
        assert opened_fields(node, row)["name"] == f"Warga {i}"


def test_blind_index_finds_by_nik_and_phone_after_catch_up(node):
    a = _submit(node)
    b = _submit(node, {"child_name": "Bayi", "birth_date": "2024-01-02", "mother_nik": NIK}, service="LAHIR",
                sender="+6281300000001")
    c = _submit(node, dict(VALUES, nik=OTHER_NIK), sender=None)
    held = node_keys_of(node)
    db = node.store.read()
    assert lookup.find(db, held, lookup.NIK, NIK) == []  # nothing indexed yet: intake holds no key
    assert lookup.catch_up(node.store, node.vault.opener(held)) == 3
    assert lookup.catch_up(node.store, node.vault.opener(held)) == 0
    assert sorted(lookup.find(db, held, lookup.NIK, NIK)) == sorted([a, b])
    assert lookup.find(db, held, lookup.NIK, OTHER_NIK) == [c]
    assert lookup.find(db, held, lookup.PHONE, "+6281300000001") == [b]
    assert lookup.find(db, {}, lookup.NIK, NIK) == []  # no key, no look-up
    tokens = [r[0] for r in db.execute("SELECT token FROM request_index")]
    assert NIK not in "".join(tokens)
    # The token is keyed: the same NIK under another key gives another token.
    assert sealing.blind_index(b"k" * 32, lookup.NIK, NIK) not in tokens


def test_rotation_reseals_everything_and_forgets_the_old_key(node):
    ids = [_submit(node, dict(VALUES, name=f"Warga {i}")) for i in range(5)]
    held = node_keys_of(node)
    node.store.write(lambda db: keys.add_holder(db, "ani", "rahasia-ani-1"))
    node.store.write(lambda db: keys.grant(db, "ani", held))
    old_kid = next(iter(held))
    result = rotation.rotate(node, held, "test", settle_seconds=0)
    db = node.store.read()
    assert result.resealed == 5 and result.unreadable == 0 and result.new != old_kid
    assert keys.current_key(db)[0] == result.new
    # Officers and the recovery code open the new key only; the old one is gone from disk.
    ani = keys.unlock(db, "ani", "rahasia-ani-1")
    assert list(ani) == [result.new]
    assert list(keys.recover(db, node.new_recovery_code)) == [result.new]
    assert db.execute("SELECT count(*) FROM key_grants WHERE key_id = ?", [old_kid]).fetchone()[0] == 0
    opener = node.vault.opener(ani)
    for i, rid in enumerate(ids):
        row = _row(node, rid)
        assert opener.fields(row)["name"] == f"Warga {i}"
    with pytest.raises(SealError):  # the old key no longer opens what is stored
        node.vault.opener(held).fields(_row(node, ids[0]))
    # Intake after the rotation seals to the new key; the index was rebuilt with the new key.
    late = _submit(node, dict(VALUES, name="Sesudah"))
    assert sorted(lookup.find(db, ani, lookup.NIK, NIK)) == sorted(ids)
    lookup.catch_up(node.store, opener)
    assert late in lookup.find(db, ani, lookup.NIK, NIK)


def test_rotation_needs_the_current_key(node):
    with pytest.raises(keys.KeyAccessError):
        node.store.write(lambda db: rotation.start(db, {"0" * 16: sealing.X25519PrivateKey.generate()}, "x"))


def test_holder_tables_refuse_nothing_silently(node):
    # A grant for an unknown holder is an error, not a silent no-op.
    with pytest.raises(keys.KeyAccessError):
        node.store.write(lambda db: keys.grant(db, "nobody", node_keys_of(node)))
    with pytest.raises(sqlite3.IntegrityError):
        node.store.write(lambda db: db.execute(
            "INSERT INTO node_keys (key_id, public, created_at) SELECT key_id, public, created_at FROM node_keys"))


def _code_from(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip().count("-") == 5]
    assert len(lines) == 1, stderr
    return lines[0]


def test_keys_cli_init_status_rotate_and_new_recovery_code(tmp_path):
    from tests.conftest import run_cli

    env = {"SIMPUL_SECRET_KEY": "k"}
    first = run_cli("init-db", cwd=tmp_path, env=env)
    assert first.returncode == 0
    code = _code_from(first.stderr)
    again = run_cli("init-db", cwd=tmp_path, env=env)
    assert again.returncode == 0 and code not in again.stderr + again.stdout  # shown once only
    sms = run_cli("submit", "DOMISILI", f"nik={NIK}", "name=Siti Aminah", "address=Dusun Krajan",
                  cwd=tmp_path, env=env)
    assert sms.returncode == 0, sms.stderr
    status = run_cli("keys", "status", cwd=tmp_path, env=env)
    assert status.returncode == 0 and "@recovery" in status.stdout and "1" in status.stdout

    wrong = run_cli("keys", "rotate", cwd=tmp_path, env={**env, "SIMPUL_RECOVERY_CODE": keys.new_recovery_code()})
    assert wrong.returncode == 2 and wrong.stderr.strip()
    rotated = run_cli("keys", "rotate", cwd=tmp_path, env={**env, "SIMPUL_RECOVERY_CODE": code})
    assert rotated.returncode == 0, rotated.stderr
    assert "1" in rotated.stdout  # one sealed record re-sealed

    renewed = run_cli("keys", "recovery-code", cwd=tmp_path, input=code + "\n", env=env)
    assert renewed.returncode == 0, renewed.stderr
    new_code = _code_from(renewed.stderr)
    assert new_code != code
    old = run_cli("keys", "status", cwd=tmp_path, env=env)
    assert old.returncode == 0
    stale = run_cli("keys", "rotate", cwd=tmp_path, env={**env, "SIMPUL_RECOVERY_CODE": code})
    assert stale.returncode == 2  # the old code stopped working
    audit = run_cli("audit", "list", cwd=tmp_path, env=env)
    assert "key_rotated" in audit.stdout and "recovery_code_changed" in audit.stdout
    for text in (first.stdout, status.stdout, rotated.stdout, audit.stdout):
        assert NIK not in text


def test_a_database_from_before_sealing_is_sealed_at_start(config, tmp_path):
    from gateway.node import Node

    first = Node(config)
    # What a database from before sealing looks like: no "sealed" flag, personal values in clear.
    first.store.write(lambda db: db.execute("DELETE FROM kv WHERE key = 'plaintext_sealed'"))
    first.store.write(lambda db: db.execute(
        "INSERT INTO requests (id, tracking_code, service, channel, locale, fields, status, created_at, updated_at) "
        "VALUES ('old-1', 'AAAAA-AAAAA', 'SKTM', 'sms', 'id', ?, 'received', '2026-01-01T00:00:00Z', "
        "'2026-01-01T00:00:00Z')", [f'{{"name": "Siti Aminah", "nik": "{NIK}", "purpose": "sekolah"}}']))
    code = first.new_recovery_code
    first.close()
    again = Node(config)
    again.store  # noqa: B018 - opening the store seals leftovers
    row = _row(again, "old-1")
    assert row["fields"] == "{}"  # the purpose is free text: personal by default
    held = keys.recover(again.store.read(), code)
    assert again.vault.opener(held).fields(row) == {"name": "Siti Aminah", "nik": NIK, "purpose": "sekolah"}
    again.close()
    raw = _raw_bytes(config["storage.path"])
    assert NIK.encode() not in raw and b"Siti Aminah" not in raw and b"sekolah" not in raw


def test_notes_stored_in_clear_before_sealing_are_sealed_at_start(config):
    from gateway.cases import records as cases
    from gateway.node import Node

    first = Node(config)
    rid = _submit(first)
    # An older version stored notes in clear (no vault) and did not know the "notes_sealed" flag.
    first.store.write(lambda db: cases.change_status(db, rid, "in_progress", actor="ani",
                                                     note="KK asli dibawa Yohanes Manurung"))
    first.store.write(lambda db: db.execute("DELETE FROM kv WHERE key = 'notes_sealed'"))
    code = first.new_recovery_code
    first.close()
    assert b"Yohanes Manurung" in _raw_bytes(config["storage.path"])
    again = Node(config)
    try:
        again.store  # noqa: B018 - opening the store seals leftovers
        db = again.store.read()
        assert db.execute("SELECT count(*) FROM status_events WHERE note IS NOT NULL").fetchone()[0] == 0
        held = keys.recover(db, code)
        notes = [e["note"] for e in cases.history(db, rid, again.vault.opener(held)) if e["status"] == "in_progress"]
        assert notes == ["KK asli dibawa Yohanes Manurung"]
        assert [e["note"] for e in cases.history(db, rid) if e["status"] == "in_progress"] == [SEALED]
    finally:
        again.close()
    assert b"Yohanes Manurung" not in _raw_bytes(config["storage.path"])


def test_rotation_reseals_notes_and_feedback_comments(node):
    from channels.web import feedback
    from gateway.cases import records as cases

    rid = _submit(node)
    node.vault.ready()
    event = node.store.write(lambda db: cases.change_status(db, rid, "in_progress", actor="ani",
                                                            note="diambil Siti", vault=node.vault))
    sealed_comment = feedback.seal_comment(node.vault, rid, "Pak Joko ramah")
    node.store.write(lambda db: feedback.save(db, rid, 5, sealed_comment, "id"))
    held = node_keys_of(node)
    result = rotation.rotate(node, held, "test", settle_seconds=0)
    assert result.resealed == 3 and result.unreadable == 0  # fields, note, comment
    new_keys = keys.recover(node.store.read(), node.new_recovery_code)
    opener = node.vault.opener(new_keys)
    db = node.store.read()
    assert [e["note"] for e in cases.history(db, rid, opener) if e["id"] == event["id"]] == ["diambil Siti"]
    blob = db.execute("SELECT comment_sealed FROM feedback WHERE request_id = ?", [rid]).fetchone()[0]
    assert feedback.opened_comment(opener, rid, blob) == "Pak Joko ramah"
    assert feedback.opened_comment(node.vault.opener(held), rid, blob) != "Pak Joko ramah"  # old key: masked
