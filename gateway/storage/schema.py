"""Every migration set, applied in order at start-up.

The core's set comes first, then each part's (``gateway.parts``, in part
order). Each package owns its tables and its own ``sqlite_utils.Migrations``
set, so one package's schema can grow without renumbering another's; a set's
name (``simpul.<name>``) is what an existing database recorded, so it never
changes.
"""

from __future__ import annotations

import sqlite_utils

from gateway import parts
from gateway.storage.migrations import migrations as core_migrations


def migration_sets() -> list[sqlite_utils.Migrations]:
    sets: list[sqlite_utils.Migrations] = [core_migrations]
    for result in parts.call("migrations"):
        sets.extend(result if isinstance(result, list | tuple) else [result])
    return sets


def migrate(db: sqlite_utils.Database) -> None:
    for migrations in migration_sets():
        migrations.apply(db)


def pending(db: sqlite_utils.Database) -> list[str]:
    return [f"{m.name}:{p.name}" for m in migration_sets() for p in m.pending(db)]
