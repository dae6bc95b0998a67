"""The real ``simpul`` console script, run as a user would, on a temp database."""

import json

import pytest

from tests.conftest import NIK, run_cli

SUBMIT = ["submit", "DOMISILI", f"nik={NIK}", "name=Siti Aminah", "address=Dusun Krajan RT 02/03",
          "--phone", "081234567890"]


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "config.toml").write_text('[storage]\npath = "var/n.db"\n')
    return tmp_path


def test_submit_then_list_then_status(workdir):
    result = run_cli(*SUBMIT, cwd=workdir)
    assert result.returncode == 0, result.stderr
    code = result.stdout.strip()
    listed = json.loads(run_cli("requests", "--json", cwd=workdir).stdout)
    assert len(listed) == 1
    row = listed[0]
    assert row["tracking_code"] == code
    assert {k: row[k] for k in ("service", "channel", "status", "phone", "synced")} == {
        "service": "DOMISILI", "channel": "cli", "status": "received", "phone": "+6281234567890", "synced": False}
    assert row["created_at"].endswith("Z")
    shown = run_cli("status", code.lower().replace("-", ""), cwd=workdir)
    assert shown.returncode == 0 and code in shown.stdout and "diterima" in shown.stdout
    assert json.loads(run_cli("requests", "--json", "--status", "ready", cwd=workdir).stdout) == []
    assert len(json.loads(run_cli("requests", "--json", "--status", "received", cwd=workdir).stdout)) == 1
    assert code in run_cli("requests", cwd=workdir).stdout


def test_invalid_submit_exits_2_names_field_stores_nothing(workdir):
    result = run_cli("submit", "DOMISILI", "nik=1234", "name=Siti", "address=x", cwd=workdir)
    assert result.returncode == 2
    assert "nik: harus 16 digit" in result.stderr
    assert "simpul submit DOMISILI nik=" in result.stderr
    assert run_cli("submit", "DOMISILI", "oops", cwd=workdir).returncode == 2
    assert run_cli("submit", "NOPE", "a=b", cwd=workdir).returncode == 2
    assert json.loads(run_cli("requests", "--json", cwd=workdir).stdout) == []


def test_english_node_speaks_english(workdir):
    (workdir / "config.toml").write_text('[storage]\npath = "var/n.db"\n[node]\ndefault_locale = "en"\n')
    result = run_cli("submit", "LAHIR", "child_name=Budi", "birth_date=31-02-2024", f"mother_nik={NIK}", cwd=workdir)
    assert result.returncode == 2 and "birth_date: this date does not exist" in result.stderr


def test_status_exit_codes(workdir):
    code = run_cli(*SUBMIT, cwd=workdir).stdout.strip()
    symbols = code.replace("-", "")
    typo = symbols[:3] + ("X" if symbols[3] != "X" else "Y") + symbols[4:]
    bad = run_cli("status", typo, cwd=workdir)
    assert bad.returncode == 2 and "periksa kode" in bad.stderr
    assert run_cli("status", "hello", cwd=workdir).returncode == 2
    from gateway.intake import codes

    unknown = codes.generate()
    result = run_cli("status", unknown, cwd=workdir)
    assert result.returncode == 1 and unknown in result.stderr


def test_config_option_wins_over_env(tmp_path):
    (tmp_path / "a.toml").write_text('[storage]\npath = "a.db"\n')
    (tmp_path / "b.toml").write_text('[storage]\npath = "b.db"\n')
    run_cli("--config", "a.toml", "init-db", cwd=tmp_path, env={"SIMPUL_CONFIG": str(tmp_path / "b.toml")})
    assert (tmp_path / "a.db").exists() and not (tmp_path / "b.db").exists()
    run_cli("init-db", cwd=tmp_path, env={"SIMPUL_CONFIG": str(tmp_path / "b.toml")})
    assert (tmp_path / "b.db").exists()
