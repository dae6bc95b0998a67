"""The catalog may add protection, never take it away.

A node remembers every field it has ever sealed (kv ``sealed_fields``). A new
catalog, from the configured file or pulled from the regional server, that
would store one of them in clear is refused whole: the node keeps the catalog
it runs. Without this a regional server, or a slip in an edited file, could
quietly turn sealing off for names and addresses on every node.
"""

from __future__ import annotations

import json
from typing import Any

from gateway import clock
from gateway.cases.records import get_kv, set_kv
from gateway.errors import CatalogError
from gateway.intake.catalog import Catalog, personal_fields, privacy_downgrades

SEALED_KEY = "sealed_fields"
REFUSED_KEY = "catalog_refused"


class CatalogRefused(CatalogError):
    """A catalog that would store in clear a field the node seals."""

    def __init__(self, version: int, fields: list[str]):
        super().__init__([f"catalog version {version} would store in clear what this node seals: "
                          + ", ".join(fields)])
        self.version = version
        self.fields = fields


def sealed_fields(db: Any) -> dict[str, list[str]]:
    raw = get_kv(db, SEALED_KEY)
    return json.loads(raw) if raw else {}


def check(db: Any, catalog: Catalog) -> list[str]:
    """``service.field`` names ``catalog`` would no longer seal ([] when it may run)."""
    return privacy_downgrades(sealed_fields(db), catalog)


def accept(store: Any, catalog: Catalog) -> None:
    """Record ``catalog`` as running (its personal fields join the sealed set), or refuse it."""
    downgrades = check(store.read(), catalog)
    if downgrades:
        raise CatalogRefused(catalog.version, downgrades)
    merged = {code: set(names) for code, names in sealed_fields(store.read()).items()}
    for code, names in personal_fields(catalog).items():
        merged.setdefault(code, set()).update(names)
    encoded = json.dumps({code: sorted(names) for code, names in sorted(merged.items())})
    if encoded != get_kv(store.read(), SEALED_KEY):
        store.write(lambda db: set_kv(db, SEALED_KEY, encoded))


def record_refusal(db: Any, refused: CatalogRefused) -> None:
    """Remember the last refusal for the kiosk's sync panel and the next push.

    ``at`` is when this catalog was first refused: every pass refuses it again, and the officers
    and the regional server need to know since when the node runs behind, not when it last tried.
    """
    before = last_refusal(db)
    same = before is not None and (before.get("version"), before.get("fields")) == (refused.version, refused.fields)
    set_kv(db, REFUSED_KEY, json.dumps({"version": refused.version, "fields": refused.fields,
                                        "at": before["at"] if same else clock.utcnow()}))


def last_refusal(db: Any) -> dict[str, Any] | None:
    raw = get_kv(db, REFUSED_KEY)
    return json.loads(raw) if raw else None  # "" once a later catalog was taken


def field_labels(catalog: Catalog, names: list[str], locale: str) -> list[str]:
    """``service.field`` names as an officer reads them ("Service name: Field label"), from the
    running catalog (it still seals those fields, so it knows them); unknown names stay as sent."""
    out = []
    for name in names:
        code, _, field_name = name.partition(".")
        service = catalog.service(code)
        field = service.field(field_name) if service else None
        out.append(f"{service.text('name', locale)}: {field.text('label', locale)}"
                   if service and field else name)
    return out
