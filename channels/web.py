"""Placeholder: this part is built by its own issue."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this part's routes into the node app."""
