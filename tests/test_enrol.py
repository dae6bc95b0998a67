"""Issue 14: enrolment end to end - enrol-node token, node join, sync with no environment variable."""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
from pathlib import Path

import pytest

from sync.protocol.enrolment import MAX_CHARS, TokenError, decode
from tests.conftest import NIK, SIMPUL
from tests.syncenv import TEST_SEAL_PUBLIC, Regional, clean_env


def join(config: Path, token: str, cwd: Path, locale: str | None = None) -> subprocess.CompletedProcess:
    """`simpul --config PATH node join TOKEN` with no SIMPUL_* variable (but the locale, when given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    if locale:
        env["SIMPUL__NODE__DEFAULT_LOCALE"] = locale
    return subprocess.run([SIMPUL, "--config", str(config), "node", "join", token], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def plain(config: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    return subprocess.run([SIMPUL, "--config", str(config), *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)



def enrol(regional: Regional, node_id: str, *extra: str) -> str:
    out = regional.cli("regional", "enrol-node", node_id, *extra)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 1  # stdout holds the token only; explanations go to stderr
    return lines[0]


def shipped_config(path: Path) -> Path:
    out = subprocess.run([SIMPUL, "config", "defaults"], capture_output=True, text=True, env=clean_env(),
                         timeout=60, cwd=path.parent)
    path.write_text(out.stdout.replace('path = "var/simpul.db"', 'path = "data/simpul.db"')
                    .replace("enabled = true", "enabled = false", 1)
                    .replace('default_locale = "id"', 'default_locale = "en"'), encoding="utf-8")
    return path


def test_token_to_join_to_sync_with_no_env(regional, tmp_path):
    png = tmp_path / "token.png"
    token = enrol(regional, "desa-x", "--name", "Kantor Desa X", "--qr", str(png))
    assert len(token) < MAX_CHARS and token.isascii() and " " not in token
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    parsed = decode(token)
    assert (parsed.url, parsed.node_id, parsed.name) == (regional.url, "desa-x", "Kantor Desa X")
    assert parsed.regional_key_b64 == TEST_SEAL_PUBLIC and parsed.catalog_version >= 1
    site = tmp_path / "site"
    site.mkdir()
    cfg = shipped_config(site / "config.toml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = join(cfg, token, elsewhere)
    assert result.returncode == 0, result.stderr
    assert "Recovery code" in result.stderr or "recovery code" in result.stderr.lower()
    text = cfg.read_text()
    assert "# Regional server base URL" in text  # comments kept (tomlkit)
    assert 'id = "desa-x"' in text and f'url = "{regional.url}"' in text and TEST_SEAL_PUBLIC in text
    secret_file = site / "data" / "sync_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert secret and secret not in token and secret not in result.stdout + result.stderr
    assert regional.node_secret("desa-x") == secret  # sealed at rest, opens to what the node got
    stored, name = regional.query("SELECT secret, name FROM nodes WHERE id = 'desa-x'")[0]
    assert secret not in stored and name == "Kantor Desa X"
    assert (site / "data" / "simpul.db").exists()
    # A request, then a plain `simpul sync --once`: no SIMPUL_SYNC_SECRET anywhere.
    sub = plain(cfg, "submit", "DOMISILI", f"nik={NIK}", "name=Siti Aminah", "address=Jl. Mawar 1", cwd=elsewhere)
    assert sub.returncode == 0, sub.stderr
    synced = plain(cfg, "sync", "--once", cwd=elsewhere)
    assert synced.returncode == 0, synced.stderr
    assert [r["tracking_code"] for r in regional.requests()] == [sub.stdout.strip()]
    # Twice with the same token: "already joined", nothing changes.
    before = (cfg.read_text(), secret_file.read_text())
    again = join(cfg, token, elsewhere)
    assert again.returncode == 0 and "already joined" in again.stdout + again.stderr
    assert (cfg.read_text(), secret_file.read_text()) == before


def test_used_damaged_and_expired_tokens_exit_2_and_write_nothing(regional, tmp_path):
    token = enrol(regional, "desa-y")
    first = tmp_path / "first"
    first.mkdir()
    assert join(first / "config.toml", token, first).returncode == 0
    for name, bad, reason in [
        ("used", token, "already used"),
        ("damaged", token[:40] + ("A" if token[40] != "A" else "B") + token[41:], "damaged"),
        ("cut", token[:-6], "damaged"),
        ("junk", "hello world", "token"),
    ]:
        box = tmp_path / name
        box.mkdir()
        result = join(box / "config.toml", bad, box, "en")
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        assert reason in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.stderr
        assert list(box.iterdir()) == [], name
    # Expired on the server (its clock decides): the code is not burnt by the refusal.
    late = enrol(regional, "desa-z")
    regional.execute("UPDATE enrolments SET expires_at = '2000-01-01T00:00:00Z' WHERE node_id = 'desa-z'")
    box = tmp_path / "late"
    box.mkdir()
    result = join(box / "config.toml", late, box, "en")
    assert result.returncode == 2 and "expired" in result.stderr
    assert list(box.iterdir()) == []
    # Expired by the token's own date: refused before any network call.
    parsed = decode(late)
    stale = dataclasses.replace(parsed, expires=946684800).encode()
    result = join(box / "config.toml", stale, box, "en")
    assert result.returncode == 2 and "expired" in result.stderr
    assert list(box.iterdir()) == []


def test_token_codec_refuses_damage():
    with pytest.raises(TokenError):
        decode("")
    with pytest.raises(TokenError):
        decode("x" * 700)


def test_plain_http_beyond_this_machine_needs_insecure(regional):
    regional.config.write_text(regional.config.read_text().replace(
        "[regional]\n", '[regional]\npublic_url = "http://10.9.8.7:8090"\n'), encoding="utf-8")
    refused = regional.cli("regional", "enrol-node", "desa-w")
    assert refused.returncode == 2 and "--insecure" in refused.stderr and refused.stdout == ""
    allowed = regional.cli("regional", "enrol-node", "desa-w", "--insecure")
    assert allowed.returncode == 0 and decode(allowed.stdout.strip()).url == "http://10.9.8.7:8090"


def test_a_re_enrolment_renames_only_when_the_token_is_used_and_only_with_a_name(regional, tmp_path):
    first = tmp_path / "first"
    first.mkdir()
    assert join(first / "config.toml", enrol(regional, "desa-r", "--name", "Desa Lama"), first).returncode == 0
    old_secret = regional.query("SELECT secret FROM nodes WHERE id = 'desa-r'")[0][0]
    renamed = enrol(regional, "desa-r", "--name", "Desa Baru")  # a replaced box
    assert regional.query("SELECT secret, name FROM nodes WHERE id = 'desa-r'") == [(old_secret, "Desa Lama")]
    second = tmp_path / "second"
    second.mkdir()
    assert join(second / "config.toml", renamed, second).returncode == 0
    assert regional.query("SELECT name FROM nodes WHERE id = 'desa-r'") == [("Desa Baru",)]
    third = tmp_path / "third"
    third.mkdir()
    assert join(third / "config.toml", enrol(regional, "desa-r"), third).returncode == 0  # no --name
    assert regional.query("SELECT name FROM nodes WHERE id = 'desa-r'") == [("Desa Baru",)]
    bad = regional.cli("regional", "enrol-node", "desa-z", "--name", "Desa\x1b[2J")
    assert bad.returncode == 2 and "node name" in bad.stderr and not regional.query(
        "SELECT 1 FROM nodes WHERE id = 'desa-z'")


def test_a_request_from_before_the_join_waits_for_an_officer_and_join_says_so_in_the_nodes_language(
        regional, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    cfg = shipped_config(site / "config.toml")
    sub = plain(cfg, "submit", "DOMISILI", f"nik={NIK}", "name=Siti Aminah", "address=Jl. Mawar 1", cwd=site)
    assert sub.returncode == 0, sub.stderr  # the README's order: a request, then the join
    result = join(cfg, enrol(regional, "desa-w1"), site, "id")
    assert result.returncode == 1
    assert "1 permohonan menunggu login petugas" in result.stderr and "requests wait" not in result.stderr
    assert "simpul sync --once" in result.stderr and "Traceback" not in result.stderr
