"""Progress a volunteer can watch during a long sync: per stage, records, bytes, rate, ETA.

On a terminal each stage gets a click progress bar (records as the length,
bytes and rate beside it, click's own ETA, on stderr); otherwise one log line
per batch on stdout, so a service's journal or a redirected log still shows that a
5,000-request backlog over a 40 kbit/s link moves. Records are counts only:
no tracking code, phone or name is ever printed here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

from gateway.i18n import Message

LABELS = {
    "push_requests": Message("Pushing requests"),
    "push_events": Message("Pushing status events"),
    "pull": Message("Pulling updates"),
    "push_audit": Message("Pushing audit entries"),
    "export": Message("Writing batches"),
}


def human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


@dataclass
class _Stage:
    total: int | None
    started: float
    bytes_at_start: int
    done: int = 0
    bar: Any = None


@dataclass
class Progress:
    """A ``progress(stage, n)`` callback for ``run_pass``; ``bytes_now()`` reads the transport's counters."""

    locale: str
    totals: dict[str, int]
    bytes_now: Callable[[], int]
    tty: bool
    echo: Callable[[str], None] = field(default=lambda line: click.echo(line))
    _stages: dict[str, _Stage] = field(default_factory=dict)
    _current: str | None = None

    def __call__(self, stage: str, n: int) -> None:
        now = time.monotonic()
        st = self._stages.get(stage)
        if n <= 0 and st is None:
            return
        if st is None:
            self._finish_bar()
            st = self._stages[stage] = _Stage(self.totals.get(stage), now, self.bytes_now())
            self._current = stage
            if self.tty:
                st.bar = click.progressbar(length=st.total or None, label=self._label(stage), show_eta=True,
                                           show_pos=True, show_percent=True,
                                           file=click.get_text_stream("stderr"),
                                           item_show_func=lambda _item: self._bytes_text(stage))
                st.bar.__enter__()
        st.done += n
        if st.bar is not None:
            st.bar.update(n)
            return
        self.echo(self.line(stage, now))

    def line(self, stage: str, now: float | None = None) -> str:
        st = self._stages[stage]
        elapsed = max(1e-6, (now or time.monotonic()) - st.started)
        done_bytes = self.bytes_now() - st.bytes_at_start
        eta = "?"
        if st.total and st.done:
            left = max(0, st.total - st.done) * elapsed / st.done
            eta = f"{int(left) // 60}m{int(left) % 60:02d}s"
        of = f"/{st.total}" if st.total else ""
        return Message("%(stage)s: %(done)s%(of)s records, %(bytes)s, %(rate)s/s, ETA %(eta)s",
                       stage=self._label(stage), done=st.done, of=of, bytes=human_bytes(done_bytes),
                       rate=human_bytes(done_bytes / elapsed), eta=eta).render(self.locale)

    def _label(self, stage: str) -> str:
        label = LABELS.get(stage)
        return label.render(self.locale) if label else stage

    def _bytes_text(self, stage: str) -> str:
        st = self._stages.get(stage)
        if st is None:
            return ""
        done_bytes = self.bytes_now() - st.bytes_at_start
        elapsed = max(1e-6, time.monotonic() - st.started)
        return f"{human_bytes(done_bytes)} {human_bytes(done_bytes / elapsed)}/s"

    def _finish_bar(self) -> None:
        if self._current is not None:
            st = self._stages[self._current]
            if st.bar is not None:
                st.bar.__exit__(None, None, None)
                st.bar = None

    def close(self) -> None:
        self._finish_bar()
