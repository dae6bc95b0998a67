"""Placeholder: this channel is built by its own issue."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire this channel's routes into the node app."""
