"""Finding requests for the officer: filters plus one search box.

The search box takes a tracking code, a NIK or a phone number in any common
form; a NIK is matched against every value of the request's JSON ``fields``
(``nik``, ``mother_nik`` ...), so the officer need not know the field name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from gateway import codes, validators
from gateway.cases import _row

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    status: str = ""
    service: str = ""
    channel: str = ""
    q: str = ""
    page: int = 1


def search_terms(q: str) -> list[tuple[str, str]]:
    """(SQL condition, argument) pairs the typed text could mean; pure."""
    q = q.strip()
    if not q:
        return []
    terms: list[tuple[str, str]] = []
    try:
        terms.append(("tracking_code = ?", codes.normalize(q)))
    except codes.CodeError:
        pass
    digits = re.sub(r"[\s.\-]", "", q)
    if re.fullmatch(r"\d{16}", digits):
        terms.append(("EXISTS (SELECT 1 FROM json_each(requests.fields) j WHERE j.value = ?)", digits))
    try:
        terms.append(("phone = ?", validators.phone(q)))
    except validators.Invalid:
        pass
    return terms


def find(db: sqlite_utils.Database, filters: Filters) -> tuple[list[dict[str, Any]], bool, bool]:
    """(rows of this page, there is a next page, the search text was understood)."""
    where: list[str] = []
    args: list[Any] = []
    for column in ("status", "service", "channel"):
        value = getattr(filters, column)
        if value:
            where.append(f"{column} = ?")
            args.append(value)
    understood = True
    if filters.q.strip():
        terms = search_terms(filters.q)
        understood = bool(terms)
        if not terms:
            return [], False, False
        where.append("(" + " OR ".join(cond for cond, _ in terms) + ")")
        args.extend(arg for _, arg in terms)
    sql = "SELECT * FROM requests"
    if where:
        sql += " WHERE " + " AND ".join(where)
    page = max(1, filters.page)
    sql += " ORDER BY seq DESC LIMIT ? OFFSET ?"
    args += [PAGE_SIZE + 1, (page - 1) * PAGE_SIZE]
    rows = [_row(r) for r in db.query(sql, args)]
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE, understood


def channels_in_use(db: sqlite_utils.Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT DISTINCT channel FROM requests ORDER BY channel").fetchall()]
