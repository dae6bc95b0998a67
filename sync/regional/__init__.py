"""The regional server: receives node batches, serves case updates and the catalog.

This package is the ``regional`` part: it adds ``simpul regional ...``. Its
own Flask app and database are separate from the node's.
"""

from __future__ import annotations

from gateway.config import checks
from gateway.config.settings import Setting

order = 60


def register_commands(cli) -> None:  # noqa: ANN001 - the click group
    from sync.regional.cli import regional
    from sync.regional.enrol_cli import enrol_node
    from sync.regional.sneakernet_cli import export_for_command, import_command

    regional.add_command(enrol_node)
    regional.add_command(import_command)
    regional.add_command(export_for_command)
    cli.add_command(regional)


def settings() -> tuple[Setting, ...]:
    """The regional server's address, database, catalog and sealing keys ([regional])."""
    return (
        Setting("regional.host", "127.0.0.1", "Address `simpul regional serve` listens on."),
        Setting("regional.public_url", "", "Base URL nodes use to reach this server (put in enrolment tokens); "
                "empty: http://HOST:PORT with a warning. Use https:// beyond the local network."),
        Setting("regional.port", 8090, "Port `simpul regional serve` listens on.",
                check=checks.port),
        Setting("regional.db", "var/regional.db", "Regional server SQLite database file.", path=True),
        Setting("regional.database_url", "", "Empty: the SQLite file regional.db. `postgresql://user@host:port/db`: "
                "PostgreSQL (no password here: env SIMPUL_REGIONAL_DATABASE_PASSWORD, PGPASSFILE or peer auth)."),
        Setting("regional.read_database_url", "", "Optional PostgreSQL hot standby the fleet view, analytics and "
                "/transparansi read from (writes and sync always go to database_url)."),
        Setting("regional.workers", 1, "Processes serving `simpul regional serve` behind one port (gunicorn); "
                "more than 1 needs PostgreSQL.", check=checks.at_least(1)),
        Setting("regional.trusted_proxy", "", "Address of the reverse proxy in front of `simpul regional serve` "
                "whose X-Forwarded-For/-Proto are believed; empty: none."),
        Setting("regional.secure_cookies", False, "Always send the case workers' cookies with the Secure flag."),
        Setting("regional.idle_timeout_minutes", 30, "A case worker's session ends after this long without activity.",
                check=checks.at_least(1)),
        Setting("regional.absolute_timeout_hours", 10, "A case worker's session ends this long after login whatever the activity.",
                check=checks.at_least(1)),
        Setting("regional.timezone", "Asia/Jakarta", "IANA zone of the district: analytics months and dates shown to case workers "
                "(storage is always UTC).",
                check=checks.timezone),
        Setting("regional.catalog", "", "Catalog the regional server publishes to nodes; empty = shipped demo catalog.",
                path=True),
        Setting("regional.seal_key_file", "", "File with the regional server's private sealing keys (base64, newest "
                "first; made 0600 on first use); empty: `regional_seal_key` next to regional.db. Env "
                "SIMPUL_REGIONAL_SEAL_KEY wins."),
        Setting("regional.silent_after_hours", 24, "A node with no acknowledged push for longer is listed first, "
                "in red, on /nodes."),
    )
