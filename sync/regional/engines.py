"""Which database the regional server uses: ``[regional] database_url`` decides.

Empty: the SQLite file ``[regional] db`` (a laptop demo needs nothing else).
``postgresql://…``: PostgreSQL, with ``[regional] read_database_url`` as an
optional hot standby for the many readers.
"""

from __future__ import annotations

from gateway.config.loader import Config
from gateway.errors import ConfigError
from gateway.intake.catalog import check_text, read_catalog_text
from sync.regional.analytics import Analytics
from sync.regional.sealkeys import RegionalKeys
from sync.regional.store import RegionalStore, open_regional_store

SCHEMES = ("postgresql://", "postgres://")


def engine_of(config: Config) -> str:
    url = config["regional.database_url"].strip()
    if not url:
        return "sqlite"
    if url.startswith(SCHEMES):
        return "postgresql"
    raise ConfigError("regional.database_url must be empty (SQLite file regional.db) or postgresql://…")


def analytics_of(config: Config) -> Analytics:
    """Catalog facts (processing_days, categories) and the district's timezone for the tallies."""
    catalog, _errors = check_text(read_catalog_text(config["regional.catalog"] or None)[1])
    return Analytics.from_catalog(catalog, config["regional.timezone"])


def open_store(config: Config, keys: RegionalKeys | None = None) -> RegionalStore:
    if engine_of(config) == "sqlite":
        if config["regional.read_database_url"].strip():
            raise ConfigError("regional.read_database_url needs regional.database_url (PostgreSQL)")
        store = open_regional_store(config["regional.db"], keys)
    else:
        from sync.regional.pg_store import PostgresRegionalStore

        read_url = config["regional.read_database_url"].strip() or None
        if read_url is not None and not read_url.startswith(SCHEMES):
            raise ConfigError("regional.read_database_url must be a postgresql:// URL")
        store = PostgresRegionalStore(config["regional.database_url"].strip(), keys, read_url)
    store.analytics = analytics_of(config)
    if keys is not None:
        store.seal_node_secrets()  # clear secrets from before sealing at rest, once
    return store
