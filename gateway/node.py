"""A running node's parts, built once from the config: store, catalog, pipeline.

The Flask app, the CLI and the background jobs all work through one Node, so
there is one place that opens the database and loads the catalog.
"""

from __future__ import annotations

from functools import cached_property

from gateway.config.loader import Config
from gateway.errors import ConfigError
from gateway.intake import guard
from gateway.intake.catalog import Catalog, load_catalog
from gateway.intake.pipeline import Pipeline
from gateway.outbox.notices import Notifier
from gateway.privacy.keyring import Keyring
from gateway.privacy.vault import Vault, parse_public_key
from gateway.storage.store import Store, open_store


class Node:
    def __init__(self, config: Config):
        self.config = config
        self.new_recovery_code: str | None = None

    @cached_property
    def store(self) -> Store:
        from gateway.privacy import audit, keys

        store = open_store(self.config["storage.path"])
        store.write(lambda db: audit.record_config(db, dict(self.config)))
        # A fresh node gets its sealing key here; the recovery code is shown
        # once by whoever opened the store (`simpul init-db`), then forgotten.
        self.new_recovery_code = store.write(keys.provision)
        # A database from before sealing is sealed now, before anything else
        # runs (never lazily: a first use may come from inside a write job).
        from gateway.privacy.vault import seal_leftovers

        self.__dict__["store"] = store
        seal_leftovers(store, self.vault, self._initial_catalog)
        return store

    @cached_property
    def vault(self) -> Vault:
        return Vault(self.store, parse_public_key(self.config.get("sync.regional_key", "")))

    @cached_property
    def keyring(self) -> Keyring:
        return Keyring()

    @cached_property
    def pipeline(self) -> Pipeline:
        return Pipeline(self.store, self._initial_catalog(), self.vault,
                        default_locale=self.config["node.default_locale"],
                        max_per_phone_per_hour=int(self.config["intake.max_per_phone_per_hour"]))

    @property
    def catalog(self) -> Catalog:
        return self.pipeline.catalog

    @property
    def notifier(self) -> Notifier:
        """Tells citizens about changes to their case (``cases.change_status``), with today's catalog."""
        return Notifier(self.catalog, self.config["node.default_locale"])

    def replace_catalog(self, catalog: Catalog) -> None:
        """Switch atomically: readers see the old or the new catalog, never a mix.

        Raises CatalogRefused, switching nothing, when ``catalog`` would store
        in clear a field this node seals (see ``privacy_downgrades``).
        """
        guard.accept(self.store, catalog)
        self.pipeline.catalog = catalog

    @cached_property
    def _start_catalog(self) -> Catalog:
        # A catalog received from the regional server (newer version) wins
        # over the configured file; sync stores it in kv under 'catalog_toml'.
        from gateway.cases.records import get_kv

        local = load_catalog(self.config["catalog.path"] or None)
        chosen = local
        published = get_kv(self.store.read(), "catalog_toml")
        if published:
            from gateway.intake.catalog import check_text

            remote, errors = check_text(published)
            if remote is not None and remote.version > local.version:
                chosen = remote
        try:
            guard.accept(self.store, chosen)
        except guard.CatalogRefused as exc:
            raise ConfigError(f"catalog.path: {exc}") from None
        return chosen

    def _initial_catalog(self) -> Catalog:
        return self._start_catalog

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
