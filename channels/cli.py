"""Placeholder: this package's CLI commands are built by its own issue."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add this package's commands to the ``simpul`` group."""
