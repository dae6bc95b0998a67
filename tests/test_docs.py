"""Docs stay true: every setting and every CLI command is documented."""

from pathlib import Path

import click

from gateway.cli import main
from gateway.config.doc import settings_markdown
from gateway.config.settings import all_settings

ROOT = Path(__file__).resolve().parent.parent


def _commands(group: click.Group, prefix: str = "simpul"):
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield path


def test_every_setting_documented():
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = [s.name for s in all_settings() if f"`{s.name}`" not in text]
    assert not missing, f"undocumented settings in docs/configuration.md: {missing}"
    assert settings_markdown() in text, "docs/configuration.md table is stale: paste `simpul config defaults --markdown`"


def test_every_cli_command_documented():
    text = (ROOT / "docs" / "cli.md").read_text()
    missing = [c for c in _commands(main) if f"`{c}" not in text]
    assert not missing, f"undocumented commands in docs/cli.md: {missing}"


def test_readme_quick_start_is_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make run" in text and "make test" in text
