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


@pytest.fixture
def list_table(monkeypatch):
    """The settings table plus two list rows, as a part's settings() would add them."""
    from gateway.config import checks, loader, settings

    extra = (settings.Setting("ussd.test_sources", ["127.0.0.1/32"], "Sources.", check=checks.ip_networks),
             settings.Setting("sms.test_ports", [], "Ports.", item=int))
    rows = settings.all_settings() + extra
    monkeypatch.setattr(loader, "all_settings", lambda: rows)
    return rows


def test_list_settings_from_file_env_and_overrides(tmp_path, list_table):
    assert load_config(environ={})["ussd.test_sources"] == ["127.0.0.1/32"]
    path = write_config(tmp_path / "c.toml", '[ussd]\ntest_sources = ["10.0.0.0/8", "::1"]\n'
                                             '[sms]\ntest_ports = [1, 2]\n')
    config = load_config(path, environ={})
    assert config["ussd.test_sources"] == ["10.0.0.0/8", "::1"] and config["sms.test_ports"] == [1, 2]
    env = {"SIMPUL__USSD__TEST_SOURCES": "192.168.0.0/16, 10.1.2.3", "SIMPUL__SMS__TEST_PORTS": "7,8"}
    config = load_config(path, environ=env)
    assert config["ussd.test_sources"] == ["192.168.0.0/16", "10.1.2.3"] and config["sms.test_ports"] == [7, 8]
    assert load_config(overrides={"ussd": {"test_sources": []}}, environ={})["ussd.test_sources"] == []


def test_list_default_is_never_shared(list_table):
    first = load_config(environ={})
    first["ussd.test_sources"].append("10.0.0.0/8")
    assert load_config(environ={})["ussd.test_sources"] == ["127.0.0.1/32"]


@pytest.mark.parametrize("text,env,reason", [
    ('[ussd]\ntest_sources = "10.0.0.0/8"\n', {}, "must be a list of str"),
    ("[ussd]\ntest_sources = [10]\n", {}, "element 0 is int"),
    ('[ussd]\ntest_sources = ["10.0.0.0/8", true]\n', {}, "element 1 is bool"),
    ('[sms]\ntest_ports = [1, true]\n', {}, "element 1 is bool"),
    ('[ussd]\ntest_sources = ["10.0.0.0/33"]\n', {}, "'10.0.0.0/33' is not an IP address or CIDR network"),
    ("", {"SIMPUL__SMS__TEST_PORTS": "1,x"}, "must be a list of int"),
    ("", {"SIMPUL__USSD__TEST_SOURCES": "10.0.0.0/8,kantor"}, "'kantor' is not an IP address"),
])
def test_bad_list_values_name_the_key(tmp_path, list_table, text, env, reason):
    path = write_config(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as err:
        load_config(path, environ=env)
    key = "sms.test_ports" if "test_ports" in (text + "".join(env)).lower() else "ussd.test_sources"
    assert f"'{key}'" in str(err.value) and reason in str(err.value)


def test_a_table_row_with_a_bad_default_or_a_twin_is_refused():
    from gateway.config.settings import CORE, Setting, collect

    with pytest.raises(ConfigError, match="'x.y'"):
        Setting("x.y", [1], "ints in a str list")
    with pytest.raises(ConfigError, match="'x.z'"):
        Setting("x.z", None, "no type")
    with pytest.raises(ConfigError, match="'http.port' is declared twice"):
        collect([*CORE, Setting("http.port", 1, "again")])


def test_list_settings_are_documented_as_lists(list_table, monkeypatch):
    from gateway.config import doc

    monkeypatch.setattr(doc, "all_settings", lambda: list_table)
    assert '| `ussd.test_sources` | `["127.0.0.1/32"]` | Sources. (list of str.) |' in doc.settings_markdown()
    assert 'test_ports = []' in doc.defaults_toml()


def test_core_reads_sync_regional_key_even_without_the_sync_part(monkeypatch, tmp_path):
    """A node built without the sync part still starts: the core reads the key with a default."""
    from gateway import parts
    from gateway.config import loader
    from gateway.config.settings import all_settings
    from gateway.node import Node

    monkeypatch.chdir(tmp_path)
    rows = tuple(s for s in all_settings() if not s.name.startswith(("sync.", "regional.")))
    monkeypatch.setattr(loader, "all_settings", lambda: rows)
    config = load_config(overrides={"storage": {"path": str(tmp_path / "n.db")}}, environ={})
    assert "sync.regional_key" not in config
    kept = tuple(p for p in parts.parts() if p.name not in ("sync", "regional"))
    monkeypatch.setattr(parts, "parts", lambda: kept)
    node = Node(config)
    assert node.vault.regional_key is None
    assert node.store.read()["requests"].exists()
