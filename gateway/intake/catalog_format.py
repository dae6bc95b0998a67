"""Catalog formats: hand an old node a catalog it can read.

A node refuses a catalog with keys or locales it does not know, and nodes in
the villages are updated long after the regional server. So a node says
which catalog ``format`` it understands, and the server gives it a copy in
that format: texts keep only that format's locales (a missing one filled from
``id``) and keys newer than the format are dropped. The copy is re-checked
with the same parser before it is served, so a broken downgrade is an error
at the server, never a refused catalog on a node.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from gateway.intake.catalog import (
    CATALOG_FORMAT,
    FORMAT_LOCALES,
    SERVICE_KEYS_SINCE,
    SMS_SKIPS_CHOICE_SINCE,
    check_text,
    skipped_by_sms,
)

TOP_KEYS = {1: ("version", "services"), 2: ("version", "format", "services"), 3: ("version", "format", "services"),
            4: ("version", "format", "services")}
_TEXT_KEYS = {"name", "description", "requirements", "fee", "processing_time", "label", "prompt"}


def declared_format(data: Any) -> int:
    """The catalog format a node declared (nodes from before formats declare none: 1)."""
    fmt = data.get("catalog_format", 1) if isinstance(data, dict) else 1
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
        return 1
    return min(fmt, CATALOG_FORMAT)


def _texts(value: Any, fmt: int) -> Any:
    if not isinstance(value, dict):
        return value
    needed, allowed = FORMAT_LOCALES[fmt]
    out = {loc: text for loc, text in value.items() if loc in allowed}
    for loc in needed:
        out.setdefault(loc, value.get("id", ""))
    return out


def _walk(value: Any, fmt: int) -> Any:
    if isinstance(value, list):
        return [_walk(v, fmt) for v in value]
    if isinstance(value, dict):
        return {k: (_texts(v, fmt) if k in _TEXT_KEYS else _walk(v, fmt)) for k, v in value.items()}
    return value


def downgrade(data: dict[str, Any], fmt: int) -> dict[str, Any]:
    """``data`` (a parsed catalog) as a catalog of format ``fmt``."""
    if data.get("format", 1) <= fmt:
        return data
    out = {k: v for k, v in data.items() if k in TOP_KEYS[fmt]}
    out["services"] = [{k: v for k, v in service.items() if SERVICE_KEYS_SINCE.get(k, 1) <= fmt}
                       for service in out.get("services", []) if isinstance(service, dict)]
    if fmt >= 2:
        out["format"] = fmt
    if fmt < SMS_SKIPS_CHOICE_SINCE:  # such a node would ask for the choice in the SMS: leave it out
        out["services"] = [{**s, "fields": [f for f in s.get("fields", []) if f not in skipped_by_sms(
            s.get("fields", []))]} if isinstance(s.get("fields"), list) else s for s in out["services"]]
    out = _walk(out, fmt)
    if fmt < 2:
        out["services"] = [{**s, "fields": [_old_field(f) for f in s.get("fields", [])]}
                           for s in out.get("services", [])]
    return out


def _old_field(field: dict[str, Any]) -> dict[str, Any]:
    """A field as a format-1 node reads it: no ``reason`` key, and free text always personal.

    Format-1 nodes treat a field without ``personal`` as not personal and know
    no ``reason``; so free text reaches them spelled out as personal, even where
    the catalog gave a reason to keep it in clear: sealing more is the safe side.
    """
    out = {k: v for k, v in field.items() if k != "reason"}
    if out.get("type") == "text":
        out["personal"] = True
    return out


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {type(value).__name__}")


def dumps(data: dict[str, Any]) -> str:
    """TOML for a catalog: top-level values, then ``[[services]]`` with ``[[services.fields]]``."""
    lines = [f"{k} = {_value(v)}" for k, v in data.items() if k != "services"]
    for service in data.get("services", []):
        lines += ["", "[[services]]"]
        lines += [f"{k} = {_value(v)}" for k, v in service.items() if k != "fields"]
        for field in service.get("fields", []):
            lines += ["", "[[services.fields]]"] + [f"{k} = {_value(v)}" for k, v in field.items()]
    return "\n".join(lines) + "\n"


def text_for(text: str, fmt: int) -> str:
    """The catalog ``text`` as a node that understands format ``fmt`` must get it."""
    data = tomllib.loads(text)
    if data.get("format", 1) <= fmt:
        return text
    copy = dumps(downgrade(data, fmt))
    catalog, errors = check_text(copy)
    if catalog is None or catalog.format != fmt:
        raise ValueError(f"catalog cannot be served in format {fmt}: " + "; ".join(errors[:3]))
    return copy
