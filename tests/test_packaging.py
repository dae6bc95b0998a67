"""A plain (non-editable) wheel install works from any directory.

Builds the wheel with pip, installs it with --target into a temp dir and runs
it from another directory, with that dir first on sys.path so the checkout
is not what gets imported.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp / "dist"), str(ROOT)], check=True, capture_output=True)
    wheel = next((tmp / "dist").glob("simpul-*.whl"))
    target = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                    str(wheel)], check=True, capture_output=True)
    return target


def _run(target, cwd, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    env["PYTHONPATH"] = str(target)
    return subprocess.run([sys.executable, "-c", "from gateway.cli import run; run()", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_wheel_ships_catalog_translations_and_ui(installed):
    assert (installed / "gateway" / "demo_catalog.toml").exists()
    for locale in ("id", "en"):
        assert list((installed / "locales" / locale / "LC_MESSAGES").glob("*.mo"))
    assert (installed / "locales" / "gateway.cfg").exists()
    assert (installed / "kiosk_ui").is_dir()
    shipped_templates = {p.relative_to(installed) for p in (installed / "kiosk_ui").rglob("*") if p.is_file()}
    source_templates = {p.relative_to(ROOT) for p in (ROOT / "kiosk_ui").rglob("*")
                        if p.is_file() and "__pycache__" not in p.parts}
    assert source_templates <= shipped_templates


def test_installed_cli_works_from_any_directory(installed, tmp_path):
    where = subprocess.run([sys.executable, "-c", "import gateway; print(gateway.__file__)"], cwd=tmp_path,
                           env={**os.environ, "PYTHONPATH": str(installed)}, capture_output=True, text=True)
    assert where.stdout.startswith(str(installed))
    check = _run(installed, tmp_path, "catalog", "check")
    assert check.returncode == 0, check.stderr
    assert "5" in check.stdout
    bad = _run(installed, tmp_path, "submit", "DOMISILI", "nik=1")
    assert bad.returncode == 2 and "nik: harus 16 digit" in bad.stderr
    ok = _run(installed, tmp_path, "submit", "ADUAN", "message=Jalan rusak")
    assert ok.returncode == 0 and (tmp_path / "var" / "simpul.db").exists()
