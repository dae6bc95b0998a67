"""Privacy by default in the catalog (security review finding 1)."""

import json

import pytest

from gateway.cases.records import get_kv
from gateway.config.loader import load_config
from gateway.errors import ConfigError
from gateway.intake import guard
from gateway.intake.catalog import check_text, load_catalog, read_catalog_text
from gateway.intake.pipeline import Submission
from gateway.node import Node
from gateway.privacy import keys
from gateway.privacy.vault import CLEAR_PERSONAL_PENDING, merge_clear_personal
from tests.conftest import NIK, run_cli, write_config

DEMO = read_catalog_text(None)[1]
PURPOSE = '''  name = "purpose"
  type = "text"
  personal = true                 # free text: health or family circumstances are often written here
'''


def _purpose(replacement: str) -> str:
    assert PURPOSE in DEMO
    return DEMO.replace(PURPOSE, replacement)


def test_free_text_is_personal_without_saying_so():
    catalog, errors = check_text(_purpose('  name = "purpose"\n  type = "text"\n'))
    assert errors == []
    assert catalog.service("SKTM").field("purpose").personal


def test_non_personal_free_text_needs_a_reason():
    _, errors = check_text(_purpose('  name = "purpose"\n  type = "text"\n  personal = false\n'))
    assert any("services[1].fields[2].personal" in e and "reason" in e for e in errors)
    catalog, errors = check_text(_purpose('  name = "purpose"\n  type = "text"\n  personal = false\n'
                                          '  reason = "a fixed list of school names, never circumstances"\n'))
    assert errors == [] and not catalog.service("SKTM").field("purpose").personal
    _, errors = check_text(_purpose('  name = "purpose"\n  type = "text"\n  personal = false\n  reason = " "\n'))
    assert any("fields[2].reason" in e for e in errors)


def test_nik_and_phone_can_never_be_declared_non_personal():
    text = DEMO.replace('type = "nik"\n  personal = true', 'type = "nik"\n  personal = false\n  reason = "x"', 1)
    catalog, errors = check_text(text)
    assert catalog is None and any("services[0].fields[0].personal" in e and "always personal" in e
                                   for e in errors)


def test_catalog_check_cli_refuses_reasonless_clear_text(tmp_path):
    bad = write_config(tmp_path / "cat.toml", _purpose('  name = "purpose"\n  type = "text"\n  personal = false\n'))
    result = run_cli("catalog", "check", str(bad), cwd=tmp_path)
    assert result.returncode == 2 and "reason" in result.stderr


def test_every_free_text_field_of_the_demo_catalog_is_personal():
    for service in load_catalog().services:
        for field in service.fields:
            if field.type in ("text", "nik", "phone"):
                assert field.personal, f"{service.code}.{field.name}"


def _config(tmp_path, catalog_path=None):
    overrides = {"storage": {"path": str(tmp_path / "simpul.db")}, "jobs": {"enabled": False}}
    if catalog_path:
        overrides["catalog"] = {"path": str(catalog_path)}
    return load_config(overrides=overrides)


def test_local_catalog_that_unseals_a_sealed_field_stops_start_up(tmp_path):
    node = Node(_config(tmp_path))
    node.store  # noqa: B018 - start once with the demo catalog: SKTM.purpose is sealed
    assert "purpose" in json.loads(get_kv(node.store.read(), guard.SEALED_KEY))["SKTM"]
    node.close()
    weaker = write_config(tmp_path / "cat.toml", _purpose(
        '  name = "purpose"\n  type = "text"\n  personal = false\n  reason = "fixed list"\n'))
    node = Node(_config(tmp_path, weaker))
    with pytest.raises(ConfigError, match="catalog.path: .*SKTM.purpose"):
        node.pipeline  # noqa: B018
    node.close()
    result = run_cli("--config", str(write_config(tmp_path / "c.toml", f'[storage]\npath = "{tmp_path / "simpul.db"}"\n'
                                                  f'[catalog]\npath = "{weaker}"\n')), "requests", cwd=tmp_path)
    assert result.returncode == 2 and "SKTM.purpose" in result.stderr and "Traceback" not in result.stderr


def test_pulled_catalog_that_unseals_is_refused_and_the_old_one_kept(tmp_path):
    node = Node(_config(tmp_path))
    old = node.catalog
    newer, errors = check_text(DEMO.replace("version = 1", "version = 2", 1).replace(
        'max_length = 160\n  personal = true\n  label = { id = "Alamat"',
        'max_length = 160\n  personal = false\n  reason = "villages only"\n  label = { id = "Alamat"', 1))
    assert errors == [] and not newer.service("DOMISILI").field("address").personal
    with pytest.raises(guard.CatalogRefused) as refused:
        node.replace_catalog(newer)
    assert refused.value.fields == ["DOMISILI.address"]
    assert node.catalog is old


def test_values_stored_in_clear_before_become_sealed_at_start(tmp_path):
    """A node from before privacy by default kept SKTM purpose in clear; the next start seals it."""
    clear = write_config(tmp_path / "old.toml", _purpose(
        '  name = "purpose"\n  type = "text"\n  personal = false\n  reason = "as the old default had it"\n'))
    node = Node(_config(tmp_path, clear))
    node.store  # noqa: B018
    recovery = node.new_recovery_code
    receipt = node.pipeline.submit(Submission(channel="cli", sender=None, service="SKTM", values={
        "nik": NIK, "name": "Siti", "purpose": "berobat jantung"}))
    row = node.store.read().execute("SELECT id, fields FROM requests WHERE tracking_code = ?",
                                    [receipt.tracking_code]).fetchone()
    assert "berobat jantung" in row[1]
    # Simulate the old node: it never recorded the field as sealed.
    node.store.write(lambda db: db.execute("DELETE FROM kv WHERE key = ?", [guard.SEALED_KEY]))
    node.close()
    node = Node(_config(tmp_path))  # today's demo catalog: purpose is personal
    db = node.store.read()
    # Its sealed copy (NIK, name) must be opened to add the purpose: that waits for a key holder.
    fields, = db.execute("SELECT fields FROM requests WHERE id = ?", [row[0]]).fetchone()
    assert "berobat" in fields and get_kv(db, CLEAR_PERSONAL_PENDING) == "1"
    node_keys = keys.recover(db, recovery)
    opener = node.vault.opener(node_keys)
    assert merge_clear_personal(node.store, node.vault, opener, node.catalog) == 1
    row2 = dict(zip(("id", "fields", "sealed"), db.execute(
        "SELECT id, fields, sealed FROM requests WHERE id = ?", [row[0]]).fetchone(), strict=True))
    assert "berobat" not in row2["fields"]
    assert opener.fields(row2) == {"nik": NIK, "name": "Siti", "purpose": "berobat jantung"}
    assert get_kv(db, CLEAR_PERSONAL_PENDING) == ""
    assert merge_clear_personal(node.store, node.vault, opener, node.catalog) == 0
    node.close()


def test_a_request_with_no_sealed_copy_is_sealed_at_start_without_a_key(tmp_path):
    node = Node(_config(tmp_path))
    receipt = node.pipeline.submit(Submission(channel="cli", sender=None, service="ADUAN", values={
        "message": "jalan rusak depan rumah pak RT"}))
    # As an old node stored it: the value in clear, no sealed copy.
    node.store.write(lambda db: db.execute(
        "UPDATE requests SET fields = ?, sealed = NULL, sealed_regional = NULL WHERE tracking_code = ?",
        [json.dumps({"message": "jalan rusak depan rumah pak RT"}), receipt.tracking_code]))
    node.store.write(lambda db: db.execute("DELETE FROM kv WHERE key = 'catalog_personal_sealed'"))
    node.close()
    node = Node(_config(tmp_path))
    fields, sealed = node.store.read().execute(
        "SELECT fields, sealed FROM requests WHERE tracking_code = ?", [receipt.tracking_code]).fetchone()
    assert "jalan" not in fields and sealed is not None
    node.close()


def test_old_nodes_get_free_text_spelled_out_as_personal_and_no_reason_key():
    from gateway.intake.catalog_format import text_for

    text = DEMO.replace(PURPOSE, '  name = "purpose"\n  type = "text"\n').replace(
        'max_length = 480\n  personal = true\n', 'max_length = 480\n  personal = false\n'
        '  reason = "complaints about public works only"\n', 1)
    if "\nformat = " not in text:  # the demo catalog may already declare format 2 or newer
        text = text.replace("version = 1", "version = 1\nformat = 2", 1)
    new, errors = check_text(text)
    assert errors == [] and new.service("SKTM").field("purpose").personal
    old_copy = text_for(text, 1)
    assert "reason" not in old_copy.replace('name = "reason"', "")
    old, errors = check_text(old_copy)
    assert errors == [], errors
    assert old.service("SKTM").field("purpose").personal
    assert old.service("ADUAN").field("message").personal  # no reason key for old nodes: sealed anyway
