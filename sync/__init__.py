"""Store-and-forward sync: the node client, its scheduler and the regional server.

This package is the ``sync`` part (the node client); ``sync.regional`` is the
``regional`` part.
"""

from __future__ import annotations

from gateway.config.settings import Setting

order = 50


def migrations():
    from sync.client.schema import migrations as sets

    return sets


def register_commands(cli) -> None:  # noqa: ANN001 - the click group
    from sync.client.cli import sync_command
    from sync.client.join import node_group
    from sync.client.sneakernet_cli import export_command, import_command

    sync_command.add_command(export_command)
    sync_command.add_command(import_command)
    cli.add_command(sync_command)
    cli.add_command(node_group)


def register_jobs(scheduler, app) -> None:  # noqa: ANN001 - APScheduler and Flask objects
    from sync.client.jobs import register

    register(scheduler, app)


def doctor_checks(config):  # noqa: ANN001, ANN201 - a Config; list of gateway.ops.doctor.Check
    from sync.client.ping import checks

    return checks(config)


def settings() -> tuple[Setting, ...]:
    """The node side of sync ([sync] in config.toml); the core reads `sync.regional_key` too, tolerating its absence."""
    return (
        Setting("sync.url", "", "Regional server base URL; empty disables sync."),
        Setting("sync.interval_seconds", 300, "Seconds between sync passes while the server is reachable."),
        Setting("sync.regional_key", "", "The regional server's public sealing key (base64, shown by "
                "`simpul regional add-node`); personal fields are also sealed to it for sync."),
        Setting("sync.secret_file", "", "File holding this node's sync secret (else env SIMPUL_SYNC_SECRET)."),
        Setting("sync.allow_plain_http", False, "Allow an http:// sync.url to a host other than loopback (pulls "
                "carry phone numbers and notes: only behind a VPN or similar)."),
    )


def kiosk_panels() -> list:
    """The kiosk's sync panel at /kiosk/sync (sync/panel.py)."""
    from sync.panel import panels

    return panels()
