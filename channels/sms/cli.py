"""Placeholder: CLI commands of this part, built by its own issue."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add this part's commands to the ``simpul`` group."""
