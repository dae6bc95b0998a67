"""Render the settings table as a commented TOML file and as Markdown.

``config.toml`` at the repo root is this TOML output, and
``docs/configuration.md`` embeds the Markdown table; ``tests/test_docs.py``
keeps all three in step.
"""

from __future__ import annotations

import json

from gateway.config.settings import all_settings


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def defaults_toml() -> str:
    lines = ["# Simpul configuration: every setting with its default (see docs/configuration.md).",
             "# Secrets never live here: SIMPUL_SECRET_KEY, SIMPUL_TWILIO_AUTH_TOKEN, SIMPUL_SYNC_SECRET",
             "# come from the environment (or a file named by a *_file setting)."]
    section = None
    for s in all_settings():
        head, _, key = s.name.rpartition(".")
        if head != section:
            lines += ["", f"[{head}]"]
            section = head
        lines.append(f"# {s.help}" + (f" ({s.type_name}.)" if s.item is not None else ""))
        lines.append(f"{key} = {_toml_value(s.default)}")
    return "\n".join(lines) + "\n"


def settings_markdown() -> str:
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    for s in all_settings():
        kind = f" ({s.type_name}.)" if s.item is not None else ""
        rows.append(f"| `{s.name}` | `{_toml_value(s.default)}` | {s.help}{kind} |")
    return "\n".join(rows) + "\n"
