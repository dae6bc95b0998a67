import os
import stat

import pytest

from gateway.config.loader import load_config, secret_key
from gateway.errors import ConfigError
from tests.conftest import run_cli, write_config


def test_defaults_without_any_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config["http.port"] == 8080
    assert config["storage.path"] == "var/simpul.db"
    assert config["catalog.path"] == ""
    assert config.source is None


def test_file_then_env_then_overrides(tmp_path):
    path = write_config(tmp_path / "c.toml", '[http]\nport = 9000\n[node]\nid = "desa-a"\n')
    env = {"SIMPUL__HTTP__PORT": "9100"}
    assert load_config(path, environ={})["http.port"] == 9000
    assert load_config(path, environ=env)["http.port"] == 9100
    assert load_config(path, {"http": {"port": 9200}}, environ=env)["http.port"] == 9200
    assert load_config(path, environ=env)["node.id"] == "desa-a"


def test_simpul_config_env_selects_file(tmp_path, monkeypatch):
    path = write_config(tmp_path / "c.toml", '[node]\nid = "from-env"\n')
    monkeypatch.setenv("SIMPUL_CONFIG", str(path))
    assert load_config()["node.id"] == "from-env"
    other = write_config(tmp_path / "d.toml", '[node]\nid = "explicit"\n')
    assert load_config(other)["node.id"] == "explicit"


@pytest.mark.parametrize("text,key", [
    ("[http]\nprot = 1\n", "http.prot"),
    ("[htp]\nport = 1\n", "htp.port"),
    ('[http]\nport = "eighty"\n', "http.port"),
    ("[jobs]\nenabled = 1\n", "jobs.enabled"),
    ("[http]\nport = true\n", "http.port"),
    ('[sms.twilio]\naccount_sid = 5\n', "sms.twilio.account_sid"),
])
def test_unknown_keys_and_wrong_types_name_the_key(tmp_path, text, key):
    path = write_config(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert f"'{key}'" in str(err.value)


def test_bad_env_value_names_the_variable():
    with pytest.raises(ConfigError) as err:
        load_config(environ={"SIMPUL__HTTP__PORT": "x"})
    assert "SIMPUL__HTTP__PORT" in str(err.value) and "http.port" in str(err.value)


def test_broken_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write_config(tmp_path / "x.toml", "[http\n"), environ={})
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", environ={})


def test_cli_stops_on_bad_config_naming_key(tmp_path):
    write_config(tmp_path / "config.toml", "[storage]\npth = 'x.db'\n")
    result = run_cli("requests", cwd=tmp_path)
    assert result.returncode != 0
    assert "storage.pth" in result.stderr
    result = run_cli("--config", "config.toml", "config", "check", cwd=tmp_path)
    assert result.returncode != 0 and "storage.pth" in result.stderr


def test_relative_paths_resolve_against_cwd(tmp_path):
    write_config(tmp_path / "config.toml", "[storage]\npath = 'data/n.db'\n")
    result = run_cli("init-db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "n.db").exists()


def test_generated_secret_key_is_private_and_stable(tmp_path):
    config = load_config(overrides={"storage": {"path": str(tmp_path / "d" / "n.db")}}, environ={})
    first = secret_key(config, environ={})
    path = tmp_path / "d" / "secret_key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secret_key(config, environ={}) == first and len(first) == 64
    assert secret_key(config, environ={"SIMPUL_SECRET_KEY": "abc"}) == "abc"


def test_shipped_config_toml_is_the_defaults():
    from pathlib import Path

    from gateway.config.doc import defaults_toml

    root = Path(__file__).resolve().parent.parent
    assert (root / "config.toml").read_text() == defaults_toml()
    assert load_config(root / "config.toml", environ={})["http.port"] == 8080
