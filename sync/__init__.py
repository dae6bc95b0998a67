"""Store-and-forward sync: the node client, its scheduler and the regional server.

This package is the ``sync`` part (the node client); ``sync.regional`` is the
``regional`` part.
"""

from __future__ import annotations

order = 50


def migrations():
    from sync.schema import migrations as sets

    return sets


def register_commands(cli) -> None:  # noqa: ANN001 - the click group
    from sync.cli import sync_command

    cli.add_command(sync_command)


def register_jobs(scheduler, app) -> None:  # noqa: ANN001 - APScheduler and Flask objects
    from sync.jobs import register

    register(scheduler, app)
