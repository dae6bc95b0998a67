"""A part installed beside Simpul is served by a real ``simpul serve`` with no edit to Simpul.

The part is what a district would ship: a package plus its ``*.dist-info``
folder whose ``entry_points.txt`` names it in the ``simpul.parts`` group,
found on ``PYTHONPATH`` like any installed distribution.
"""

from __future__ import annotations

from pathlib import Path

import requests

from tests.browser_support import start_server, stop_server
from tests.conftest import run_cli

PART = '''"""A district add-on: one page."""

order = 200
after = ("kiosk",)


def init_app(app):
    app.add_url_rule("/desa/hello", "desa_hello", lambda: ("Halo dari bagian desa", 200,
                                                          {"Content-Type": "text/plain; charset=utf-8"}))
'''


def install_part(root: Path, name: str, source: str) -> Path:
    """Write package ``name`` and a dist-info declaring it in ``simpul.parts``; return the folder."""
    package = root / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(source, encoding="utf-8")
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[simpul.parts]\n{name} = {name}\n", encoding="utf-8")
    return root


def test_simpul_serve_serves_a_route_from_an_installed_part(tmp_path):
    site = install_part(tmp_path / "site", "desa_hello", PART)
    server = start_server(tmp_path, {}, extra_env={"PYTHONPATH": str(site)})
    try:
        answer = requests.get(f"{server.url}/desa/hello", timeout=10)
        assert answer.status_code == 200 and answer.text == "Halo dari bagian desa"
        assert requests.get(f"{server.url}/healthz", timeout=10).ok  # Simpul's own routes still there
    finally:
        stop_server(server)


def test_without_the_part_the_route_is_absent(tmp_path):
    server = start_server(tmp_path, {})
    try:
        assert requests.get(f"{server.url}/desa/hello", timeout=10).status_code == 404
    finally:
        stop_server(server)


def test_a_broken_part_stops_start_up_naming_it(tmp_path):
    site = install_part(tmp_path / "site", "desa_broken", "raise RuntimeError('half-installed')\n")
    (tmp_path / "config.toml").write_text(f'[storage]\npath = "{tmp_path / "n.db"}"\n', encoding="utf-8")
    result = run_cli("init-db", cwd=tmp_path, env={"PYTHONPATH": str(site)})
    assert result.returncode != 0
    assert "desa_broken" in result.stderr and "half-installed" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_part_setting_is_checked_like_a_core_one(tmp_path):
    source = PART + '''

def settings():
    from gateway.config.settings import Setting

    return (Setting("desa.greeting", "Halo", "What the page says."),)
'''
    site = install_part(tmp_path / "site", "desa_set", source)
    env = {"PYTHONPATH": str(site)}
    (tmp_path / "config.toml").write_text('[desa]\ngreeting = 5\n', encoding="utf-8")
    result = run_cli("config", "check", cwd=tmp_path, env=env)
    assert result.returncode != 0 and "desa.greeting" in result.stderr
    defaults = run_cli("config", "defaults", cwd=tmp_path, env=env)
    assert '[desa]\n# What the page says.\ngreeting = "Halo"' in defaults.stdout
