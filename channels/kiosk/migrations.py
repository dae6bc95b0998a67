"""Schema owned by `channels.kiosk` (its own migration set)."""

from __future__ import annotations

import sqlite_utils

migrations = sqlite_utils.Migrations("simpul.kiosk")
