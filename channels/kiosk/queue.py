"""Finding requests for the officer: filters plus one search box.

The search box takes a tracking code, a NIK or a phone number in any common
form. A NIK (in any field: ``nik``, ``mother_nik`` ...) and a phone are found
only through the blind index (``gateway.privacy.lookup``): the personal values are
sealed, so the database cannot be searched for them, and the index key comes
from the node key, which only a session holding it has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from gateway.cases.records import _row
from gateway.intake import codes, validators
from gateway.privacy import lookup
from gateway.privacy.keys import NodeKeys

PAGE_SIZE = 50
CODE = "code"


@dataclass(frozen=True)
class Filters:
    status: str = ""
    service: str = ""
    channel: str = ""
    q: str = ""
    page: int = 1


def search_terms(q: str) -> list[tuple[str, str]]:
    """(kind, normalized value) pairs the typed text could mean: CODE, lookup.NIK, lookup.PHONE; pure."""
    q = q.strip()
    if not q:
        return []
    terms: list[tuple[str, str]] = []
    try:
        terms.append((CODE, codes.normalize(q)))
    except codes.CodeError:
        pass
    digits = re.sub(r"[\s.\-]", "", q)
    if re.fullmatch(r"\d{16}", digits):
        terms.append((lookup.NIK, digits))
    if not any(ch.isalpha() for ch in q):  # phonenumbers reads letters as keypad digits: codes are not phones
        try:
            terms.append((lookup.PHONE, validators.phone(q)))
        except validators.Invalid:
            pass
    return terms


def _placeholders(values: list) -> str:
    return ",".join("?" * len(values))


def find(db: sqlite_utils.Database, filters: Filters, node_keys: NodeKeys | None = None) -> tuple[
        list[dict[str, Any]], bool, bool, bool]:
    """(rows of this page, there is a next page, the search text was understood,
    the search needed the node key and this session has none)."""
    where: list[str] = []
    args: list[Any] = []
    for column in ("status", "service", "channel"):
        value = getattr(filters, column)
        if value:
            where.append(f"{column} = ?")
            args.append(value)
    sealed = False
    if filters.q.strip():
        terms = search_terms(filters.q)
        if not terms:
            return [], False, False, False
        conditions: list[str] = []
        for kind, value in terms:
            if kind == CODE:
                conditions.append("tracking_code = ?")
                args.append(value)
            elif not node_keys:
                sealed = True
            else:
                ids = lookup.find(db, node_keys, kind, value)
                if ids:
                    conditions.append(f"id IN ({_placeholders(ids)})")
                    args.extend(ids)
        if not conditions:
            return [], False, True, sealed
        where.append("(" + " OR ".join(conditions) + ")")
    sql = "SELECT * FROM requests"
    if where:
        sql += " WHERE " + " AND ".join(where)
    page = max(1, filters.page)
    sql += " ORDER BY seq DESC LIMIT ? OFFSET ?"
    args += [PAGE_SIZE + 1, (page - 1) * PAGE_SIZE]
    rows = [_row(r) for r in db.query(sql, args)]
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE, True, sealed


def channels_in_use(db: sqlite_utils.Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT DISTINCT channel FROM requests ORDER BY channel").fetchall()]
