"""Every migration set, applied in order at start-up.

Each package owns its tables and its own ``sqlite_utils.Migrations`` set, so
one package's schema can grow without renumbering another's. The order below
is the order sets are applied in (later sets may reference earlier tables).
"""

from __future__ import annotations

from importlib import import_module

import sqlite_utils

MIGRATION_MODULES = (
    "gateway.migrations",
    "channels.migrations",
    "channels.ussd.migrations",
    "channels.kiosk.migrations",
    "sync.migrations",
)


def migration_sets() -> list[sqlite_utils.Migrations]:
    return [import_module(name).migrations for name in MIGRATION_MODULES]


def migrate(db: sqlite_utils.Database) -> None:
    for migrations in migration_sets():
        migrations.apply(db)


def pending(db: sqlite_utils.Database) -> list[str]:
    return [f"{m.name}:{p.name}" for m in migration_sets() for p in m.pending(db)]
