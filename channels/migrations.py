"""Schema owned by the `channels` package (its own migration set)."""

from __future__ import annotations

import sqlite_utils

migrations = sqlite_utils.Migrations("simpul.channels")
