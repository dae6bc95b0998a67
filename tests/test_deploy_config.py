"""Issue 14: paths, validation, permissions, one node per database, clean start-up errors."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from gateway.config.loader import load_config
from gateway.errors import ConfigError
from gateway.storage.lock import holder
from tests.conftest import SIMPUL, run_cli, write_config
from tests.syncenv import clean_env, free_port


def test_relative_paths_resolve_against_the_config_files_folder(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    cfg = write_config(site / "config.toml",
                       '[storage]\npath = "var/simpul.db"\n[sync]\nsecret_file = "keys/sync.secret"\n'
                       '[sms.gammu]\ninbox_path = "/abs/inbox"\n[regional]\ndb = "reg/regional.db"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_cli("--config", str(cfg), "init-db", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert (site / "var" / "simpul.db").exists()
    assert not (elsewhere / "var").exists()
    config = load_config(cfg, environ={})
    assert config["storage.path"] == str(site / "var" / "simpul.db")
    assert config["sync.secret_file"] == str(site / "keys" / "sync.secret")
    assert config["regional.db"] == str(site / "reg" / "regional.db")
    assert config["sms.gammu.inbox_path"] == "/abs/inbox"
    assert config["catalog.path"] == ""  # empty stays empty (the shipped catalog)


def test_without_a_file_paths_stay_relative_to_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_config(environ={})["storage.path"] == "var/simpul.db"
    env = {"SIMPUL__STORAGE__PATH": "data/x.db"}
    assert load_config(environ=env)["storage.path"] == "data/x.db"


@pytest.mark.parametrize("text,key", [
    ("[http]\nport = 99999\n", "http.port"),
    ("[http]\nport = 0\n", "http.port"),
    ("[regional]\nport = 70000\n", "regional.port"),
    ('[node]\ntimezone = "Asia/Jakrta"\n', "node.timezone"),
    ('[node]\ntimezone = "../../etc/passwd"\n', "node.timezone"),
    ('[sms]\nprovider = "twillio"\n', "sms.provider"),
    ("[retention]\ndays = -5\n", "retention.days"),
    ("[http]\nthreads = 0\n", "http.threads"),
])
def test_bad_values_are_refused_naming_the_key_and_exit_2(tmp_path, text, key):
    cfg = write_config(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as err:
        load_config(cfg, environ={})
    assert f"'{key}'" in str(err.value)
    result = run_cli("--config", str(cfg), "config", "check", cwd=tmp_path)
    assert result.returncode == 2
    assert key in result.stderr and "Traceback" not in result.stderr


def test_good_edge_values_pass(tmp_path):
    cfg = write_config(tmp_path / "ok.toml", '[http]\nport = 65535\nthreads = 1\n[retention]\ndays = 0\n'
                       '[node]\ntimezone = "Asia/Makassar"\n[sms]\nprovider = "gammu"\n')
    config = load_config(cfg, environ={})
    assert config["http.port"] == 65535 and config["retention.days"] == 0


def test_env_values_are_checked_too():
    with pytest.raises(ConfigError, match="http.port"):
        load_config(environ={"SIMPUL__HTTP__PORT": "65536"})


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_folder_0700_and_database_files_0600_whatever_the_umask(tmp_path):
    cfg = write_config(tmp_path / "c.toml", '[storage]\npath = "data/deep/simpul.db"\n')
    env = clean_env()
    proc = subprocess.run(["sh", "-c", f'umask 000; exec "{SIMPUL}" --config "{cfg}" init-db'],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert _mode(tmp_path / "data") == 0o700
    assert _mode(tmp_path / "data" / "deep") == 0o700
    db = tmp_path / "data" / "deep" / "simpul.db"
    assert _mode(db) == 0o600
    # WAL and SHM exist while a connection is open: open one and look.
    from gateway.storage.store import connect

    conn = connect(db)
    conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
    for side in ("simpul.db-wal", "simpul.db-shm"):
        assert _mode(db.parent / side) == 0o600, side
    conn.conn.close()
    assert _mode(tmp_path / "data" / "deep" / "secret_key") == 0o600 if (db.parent / "secret_key").exists() \
        else True


def test_an_old_0644_database_is_tightened(tmp_path):
    from gateway.storage.store import connect

    db = tmp_path / "old.db"
    db.touch()
    os.chmod(db, 0o644)
    connect(db).conn.close()
    assert _mode(db) == 0o600


def _start_serve(cfg: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen([SIMPUL, "--config", str(cfg), "serve", "--port", str(port), "--no-jobs"],
                            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_listening(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("serve did not start")


def test_second_serve_refused_naming_the_pid_and_kill_9_leaves_no_stale_lock(tmp_path):
    cfg = write_config(tmp_path / "c.toml", '[storage]\npath = "var/simpul.db"\n')
    assert run_cli("--config", str(cfg), "init-db", cwd=tmp_path).returncode == 0
    first_port = free_port()
    first = _start_serve(cfg, first_port)
    try:
        _wait_listening(first_port, first)
        db = tmp_path / "var" / "simpul.db"
        assert holder(db) == first.pid
        second = subprocess.run([SIMPUL, "--config", str(cfg), "serve", "--port", str(free_port())],
                                env=clean_env(), capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert str(first.pid) in second.stderr and "Traceback" not in second.stderr
        assert "Simpul node" not in second.stdout
        # CLI commands keep working beside the running node.
        listed = run_cli("--config", str(cfg), "requests", "--json", cwd=tmp_path)
        assert listed.returncode == 0 and listed.stdout.strip() == "[]"
        submitted = run_cli("--config", str(cfg), "submit", "SKTM", "nik=3201011708900001", "name=Siti",
                            "address=Jl. Mawar 1", "purpose=sekolah", cwd=tmp_path)
        assert submitted.returncode in (0, 2), submitted.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert holder(tmp_path / "var" / "simpul.db") is None
    third_port = free_port()
    third = _start_serve(cfg, third_port)
    try:
        _wait_listening(third_port, third)
    finally:
        third.terminate()
        third.wait(timeout=10)


def test_busy_port_is_one_line_with_no_banner(tmp_path):
    cfg = write_config(tmp_path / "c.toml", '[storage]\npath = "var/simpul.db"\n')
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([SIMPUL, "--config", str(cfg), "serve", "--port", str(port), "--no-jobs"],
                                env=clean_env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert str(port) in result.stderr and "http.port" in result.stderr
    assert "Simpul node" not in result.stdout


@pytest.mark.parametrize("command", [["serve", "--no-jobs"], ["init-db"]])
def test_unwritable_storage_folder_is_one_line_naming_the_path(tmp_path, command):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    cfg = write_config(tmp_path / "c.toml", '[storage]\npath = "not-a-folder/data/simpul.db"\n')
    result = run_cli("--config", str(cfg), *command, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "not-a-folder" in result.stderr and "config" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Simpul node" not in result.stdout


def test_empty_public_url_warns_with_lan_addresses(tmp_path):
    cfg = write_config(tmp_path / "c.toml", '[storage]\npath = "var/simpul.db"\n')
    port = free_port()
    proc = _start_serve(cfg, port)
    try:
        _wait_listening(port, proc)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert "public_url" in err and "127.0.0.1" in err
    cfg2 = write_config(tmp_path / "d.toml", '[storage]\npath = "var/simpul.db"\n'
                        '[node]\npublic_url = "https://desa.example"\n')
    proc = _start_serve(cfg2, port)
    try:
        _wait_listening(port, proc)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert "public_url" not in err


def test_docs_list_exactly_the_path_settings():
    from gateway.config.settings import all_settings

    text = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    section = text.split("## Path settings", 1)[1].split("\n## ", 1)[0]
    listed = {part.strip("` ,") for line in section.splitlines() if line.startswith("- ")
              for part in line[2:].split(",")}
    assert listed == {s.name for s in all_settings() if s.is_path}
