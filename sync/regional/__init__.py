"""The regional server: receives node batches, serves case updates and the catalog.

This package is the ``regional`` part: it adds ``simpul regional ...``. Its
own Flask app and database are separate from the node's.
"""

from __future__ import annotations

order = 60


def register_commands(cli) -> None:  # noqa: ANN001 - the click group
    from sync.cli import regional

    cli.add_command(regional)
