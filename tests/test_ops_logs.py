"""Service logs: one line per event, an exception on the same line."""

from __future__ import annotations

import logging

from gateway.ops.logs import FORMAT, OneLineFormatter


def test_an_exception_stays_on_one_line():
    formatter = OneLineFormatter(FORMAT)
    try:
        raise ValueError("disk full\nsecond line")
    except ValueError:
        import sys

        record = logging.LogRecord("simpul.jobs", logging.ERROR, __file__, 1, "job %s failed", ("outbound",),
                                   sys.exc_info())
    line = formatter.format(record)
    assert "\n" not in line
    assert line.startswith("ERROR simpul.jobs: job outbound failed") and "ValueError: disk full | second line" in line
    assert "Traceback" not in line
