"""Shared fixtures: every test gets its own real SQLite file in a temp dir."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config.loader import load_config
from gateway.node import Node

ROOT = Path(__file__).resolve().parent.parent
SIMPUL = str(Path(sys.executable).with_name("simpul"))

NIK = "3201011708900001"  # West Java, born 17-08-1990, serial 0001


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads the developer's config or secrets by accident."""
    for key in list(os.environ):
        if key.startswith("SIMPUL"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SIMPUL_SECRET_KEY", "test-secret-key")


@pytest.fixture
def config(tmp_path):
    return load_config(overrides={"storage": {"path": str(tmp_path / "simpul.db")}, "jobs": {"enabled": False}})


@pytest.fixture
def node(config):
    n = Node(config)
    yield n
    n.close()


@pytest.fixture
def app(config, node):
    from gateway.app import create_app

    return create_app(config=config, node=node)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (one per test module)."""
    from playwright.sync_api import sync_playwright

    from tests.browser_support import launch_chromium

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None):
    """Run the real installed ``simpul`` console script."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    full_env.update(env or {})
    return subprocess.run([SIMPUL, *args], cwd=cwd, env=full_env, input=input,
                          capture_output=True, text=True, timeout=60)


def have(program: str) -> bool:
    return shutil.which(program) is not None


def node_keys_of(node):
    """The node's private keys, opened with the recovery code its provisioning made (tests only)."""
    from gateway.privacy import keys

    node.store  # noqa: B018 - opening provisions
    if not hasattr(node, "_test_keys"):
        node._test_keys = keys.recover(node.store.read(), node.new_recovery_code)
    return node._test_keys


def opened_fields(node, row):
    """A stored request's fields with the sealed personal ones opened."""
    return node.vault.opener(node_keys_of(node)).fields(row)


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL cluster per test process (each test gets its own database in it)."""
    from tests import pg_support

    if not pg_support.available():
        pytest.fail("PostgreSQL is not installed: `make test` installs Debian's postgresql")
    cluster = pg_support.Cluster().init().start()
    yield cluster
    cluster.cleanup()


class RegionalEngine:
    """The regional database a test runs on: a SQLite file, or a fresh database in the session cluster."""

    _count = 0

    def __init__(self, name: str, tmp_path: Path, request):
        self.name = name
        self.tmp_path = tmp_path
        self._request = request
        self._url: str | None = None

    @property
    def url(self) -> str:
        """'' for SQLite, else a new PostgreSQL database's URL (made on first use)."""
        if self.name == "sqlite":
            return ""
        if self._url is None:
            self._url = self.another_url()
        return self._url

    def another_url(self) -> str:
        """A second, empty regional database on the same engine ('' for SQLite: a file of its own root)."""
        if self.name == "sqlite":
            return ""
        cluster = self._request.getfixturevalue("pg_cluster")
        RegionalEngine._count += 1
        return cluster.create_database(f"t{os.getpid()}_{RegionalEngine._count}")

    def regional(self, root: Path | None = None) -> dict[str, str]:
        """The ``[regional]`` overrides for load_config."""
        root = root or self.tmp_path
        return {"db": str(root / "regional.db"), "database_url": self.url}

    def config(self, root: Path | None = None, **sections):
        return load_config(overrides={"regional": self.regional(root), **sections})

    def store(self, root: Path | None = None, keys=None):
        from sync.regional.engines import open_store

        return open_store(self.config(root), keys)


@pytest.fixture(params=["sqlite", "postgresql"])
def regional_engine(request, tmp_path):
    """Every regional test runs on both engines."""
    return RegionalEngine(request.param, tmp_path, request)


@pytest.fixture
def regional(tmp_path, regional_engine):
    """A real ``simpul regional serve`` on a free loopback port, on each engine (tests may define their own)."""
    from tests.syncenv import Regional

    server = Regional(tmp_path / "regional", database_url=regional_engine.url).start()
    yield server
    server.stop()
