"""Batch size that follows the link: grow while requests are quick, shrink on trouble.

A 2G link that drops every minute loses the whole in-flight batch, so after a
failure or a slow round trip the next batch is smaller (less to resend, more
likely to get through); on a healthy link batches double up to ``MAXIMUM`` so
a big backlog drains in a few round trips.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT = 500
MINIMUM = 16
MAXIMUM = 5000
TARGET_SECONDS = 8.0


@dataclass
class BatchSizer:
    size: int = DEFAULT

    def __post_init__(self) -> None:
        self.size = self.clamp(self.size or DEFAULT)

    @staticmethod
    def clamp(size: int) -> int:
        return max(MINIMUM, min(MAXIMUM, int(size)))

    def succeeded(self, elapsed: float, full: bool) -> None:
        """A batch was acknowledged after ``elapsed`` seconds; ``full`` if it used the whole size."""
        if elapsed > TARGET_SECONDS:
            self.size = self.clamp(self.size * TARGET_SECONDS / elapsed)
        elif full and elapsed < TARGET_SECONDS / 2:
            self.size = self.clamp(self.size * 2)

    def failed(self) -> None:
        self.size = self.clamp(self.size // 4)
