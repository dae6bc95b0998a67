"""CLI listings escape control characters (issue #16.6): a stored escape sequence cannot spoof output."""

from __future__ import annotations

from gateway.config.loader import load_config
from gateway.node import Node
from gateway.privacy import audit
from gateway.terminal import printable
from tests.conftest import run_cli

SPOOF = "\x1b[2K\r     9  2026-01-01T00:00:00Z  admin  logout\u202e"


def test_printable_shows_control_and_format_characters():
    assert printable("Siti Aminah") == "Siti Aminah" and printable(None) == ""
    assert printable("a\x1b[31mb\n\u202ec") == "a\\x1b[31mb\\x0a\\u202ec"
    assert printable(12) == "12"


def test_audit_list_escapes_what_an_old_version_stored(tmp_path):
    (tmp_path / "config.toml").write_text(f'[storage]\npath = "{tmp_path / "simpul.db"}"\n')
    node = Node(load_config(tmp_path / "config.toml", environ={}))
    node.store.write(lambda db: audit.append(db, actor=SPOOF, action=audit.LOGIN_FAILED,
                                             details={"client": "\x1b]0;owned\x07"}))
    node.close()
    out = run_cli("--config", str(tmp_path / "config.toml"), "audit", "list", cwd=tmp_path,
                  env={"SIMPUL_SECRET_KEY": "k"})
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout and "\r" not in out.stdout and "\u202e" not in out.stdout and "\x07" not in out.stdout
    assert "\\x1b[2K\\x0d" in out.stdout
