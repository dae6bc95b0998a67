"""Parts: the channels, sync and any district add-on, found through entry points.

A part is a module named in the ``simpul.parts`` entry-point group (see
``pyproject.toml``). The core never imports a channel or sync module by name:
it asks each part, in a fixed order, for what that part contributes. Every
hook is optional; a part defines only the ones it needs:

``settings()``
    its rows for the settings table (``gateway.config.settings.Setting``);
``migrations()``
    its ``sqlite_utils.Migrations`` set(s), applied after the core's;
``init_app(app)``
    routes and extensions on the node's Flask app;
``register_commands(cli)``
    click commands or groups on the ``simpul`` command line;
``register_jobs(scheduler, app)``
    background jobs inside ``simpul serve``;
``purge_request(db, request_id)``
    retention: forget what it holds about a request, in the purge transaction;
``personal_data(db, subject)``
    its section of the right-of-access report;
``kiosk_panels()``
    panels it adds to the officers' kiosk;
``doctor_checks(config)``
    its ``gateway.ops.doctor.Check`` rows for ``simpul doctor`` and the kiosk's health page;
``poster_items(config, locale)``
    its ``gateway.outreach.poster.PosterItem`` boxes: how citizens reach the office through it.

A hook is a function of the part's top-level module. No submodule of a part
may share a hook's name (``migrations.py``, ``settings.py``): importing it
would replace the function with the module.

A part that takes requests from citizens names its channel(s) in a
``channels = ("sms",)`` attribute: the value requests carry in ``channel``
(the kiosk's queue filter lists them).

Entry points come in no set order, so a part states its place: an integer
``order`` (lower first; Simpul's own parts use 10–60, default 100) and an
optional ``after = ("web",)`` naming parts it must follow. Ties break by name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any

from gateway.errors import SimpulError

GROUP = "simpul.parts"
HOOKS = ("settings", "migrations", "init_app", "register_commands", "register_jobs",
         "purge_request", "personal_data", "kiosk_panels", "doctor_checks", "poster_items")
DEFAULT_ORDER = 100


class PartError(SimpulError):
    """A part could not be loaded, or the parts' declared order cannot be met."""


@dataclass(frozen=True)
class Part:
    name: str
    module: ModuleType

    @property
    def order(self) -> int:
        return int(getattr(self.module, "order", DEFAULT_ORDER))

    @property
    def after(self) -> tuple[str, ...]:
        return tuple(getattr(self.module, "after", ()))

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(getattr(self.module, "channels", ()))

    def hook(self, name: str) -> Callable[..., Any] | None:
        if name not in HOOKS:
            raise PartError(f"unknown part hook {name!r}")
        fn = getattr(self.module, name, None)
        return fn if callable(fn) else None


def _discover() -> list[Part]:
    found: dict[str, Part] = {}
    for ep in metadata.entry_points(group=GROUP):
        if ep.name in found:  # the same distribution seen twice on sys.path
            continue
        try:
            module = ep.load()
        except Exception as exc:  # a broken add-on must say which one it is
            raise PartError(f"part {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        if not isinstance(module, ModuleType):
            raise PartError(f"part {ep.name!r} must name a module, not {ep.value!r}")
        found[ep.name] = Part(ep.name, module)
    return sort_parts(found.values())


def sort_parts(parts: Any) -> list[Part]:
    """Order by (order, name), then move each part behind the parts it names in ``after``."""
    pending = sorted(parts, key=lambda p: (p.order, p.name))
    names = {p.name for p in pending}
    placed: list[Part] = []
    done: set[str] = set()
    while pending:
        for i, part in enumerate(pending):
            if all(dep in done or dep not in names for dep in part.after):
                placed.append(pending.pop(i))
                done.add(part.name)
                break
        else:
            cycle = ", ".join(p.name for p in pending)
            raise PartError(f"parts cannot be ordered (cycle in 'after'): {cycle}")
    return placed


@functools.cache
def parts() -> tuple[Part, ...]:
    """Every installed part, in order; loaded once per process."""
    return tuple(_discover())


def reload() -> tuple[Part, ...]:
    """Forget the cached list (tests that install a part at run time)."""
    parts.cache_clear()
    return parts()


def implementations(hook: str) -> Iterator[tuple[Part, Callable[..., Any]]]:
    for part in parts():
        fn = part.hook(hook)
        if fn is not None:
            yield part, fn


def call(hook: str, *args: Any) -> list[Any]:
    """Call ``hook`` on every part that has it, in order; return the results."""
    return [fn(*args) for _part, fn in implementations(hook)]


def names() -> list[str]:
    return [p.name for p in parts()]


def channels() -> list[str]:
    """Every channel the installed parts declare, in part order."""
    return [channel for part in parts() for channel in part.channels]
