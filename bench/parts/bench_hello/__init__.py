"""A bench-only part: ``GET /bench/sms-hello``, the trivial baseline ``bench/channels.py`` compares against.

It is a part like any add-on (``bench/parts/bench_hello-0.1.dist-info`` declares
it in ``simpul.parts``), found only when ``bench/parts`` is on ``PYTHONPATH``,
so no production code carries a benchmark route.
"""

from __future__ import annotations

from flask import Flask, Response

order = 1000


def init_app(app: Flask) -> None:
    app.add_url_rule("/bench/sms-hello", "sms_bench_hello",
                     lambda: Response("hello", mimetype="text/plain"), methods=["GET", "POST"])
