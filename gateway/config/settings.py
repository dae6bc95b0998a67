"""The settings table: the core's rows plus every part's, each with name, default, type and help.

Every key a config file may hold is declared by the core (here) or by the part
that reads it (its ``settings()`` hook, see ``gateway/parts.py``), so start-up
can refuse a typo or a wrong type with a message naming the key, and
``tests/test_docs.py`` can check that each one is documented. Node and regional
server share this schema; a section a process does not use is simply ignored.

Secrets are deliberately absent: they come from the environment or from a file
named here (see ``docs/security.md``).

A row's type is its default's type (``str``, ``int``, ``float``, ``bool``) or a
list: ``Setting("ussd.allowed_sources", [], "...", item=str, check=checks.ip_networks)``.
``check`` validates a value once its type is right and raises ``ValueError``
with the reason; the loader turns that into a ``ConfigError`` naming the key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gateway.config import checks
from gateway.errors import ConfigError

SCALARS = (str, int, float, bool)
PATH_SUFFIXES = ("path", "file", "dir")


@dataclass(frozen=True)
class Setting:
    name: str  # dotted: "section.key" or "section.sub.key"
    default: object
    help: str
    item: type | None = None  # list settings: each element's type (default str)
    check: Callable[[Any], None] | None = None  # raises ValueError(reason) for a bad value
    path: bool | None = None  # a file or folder; None: decided by the name's ending (PATH_SUFFIXES)

    def __post_init__(self) -> None:
        if isinstance(self.default, tuple):
            object.__setattr__(self, "default", list(self.default))
        if isinstance(self.default, list):
            if self.item is None:
                object.__setattr__(self, "item", str)
            if self.item not in SCALARS or any(not _is(v, self.item) for v in self.default):
                raise ConfigError(f"setting '{self.name}': list default must hold {self.item}")
        elif type(self.default) not in SCALARS or self.item is not None:
            raise ConfigError(f"setting '{self.name}': default must be str, int, float, bool or a list")

    @property
    def type(self) -> type:
        return type(self.default)

    @property
    def type_name(self) -> str:
        if self.item is not None:
            return f"list of {self.item.__name__}"
        return self.type.__name__

    @property
    def is_path(self) -> bool:
        """Relative values in a config file resolve against that file's folder (the loader)."""
        if self.path is not None:
            return self.path
        return self.name.rsplit(".", 1)[-1].endswith(PATH_SUFFIXES)

    def fresh_default(self) -> object:
        """The default, copied when it is a list (a config must never share one)."""
        return list(self.default) if isinstance(self.default, list) else self.default


def _is(value: object, want: type) -> bool:
    # bool is an int to Python, never to a config file.
    if want in (int, float) and isinstance(value, bool):
        return False
    if want is float:
        return isinstance(value, int | float)
    return isinstance(value, want)


CORE: tuple[Setting, ...] = (
    # --- node identity -----------------------------------------------------
    Setting("node.id", "demo-node", "This node's identity; the regional server knows it by this id."),
    Setting("node.name", "Kantor Desa Demo", "Human name of the village office, shown on receipts and pages."),
    Setting("node.timezone", "Asia/Jakarta", "IANA zone for dates shown to people (storage is always UTC).",
            check=checks.timezone),
    Setting("node.default_locale", "id", "Locale for citizens and officers who have not chosen one (id, en, jv or su)."),
    Setting("node.public_url", "", "Base URL people and providers use to reach this node (track links, Twilio signatures behind a proxy). Empty: http://HOST:PORT."),
    # --- storage -----------------------------------------------------------
    Setting("storage.path", "var/simpul.db", "SQLite database file; its folder is the node's data dir."),
    # --- http --------------------------------------------------------------
    Setting("http.host", "127.0.0.1", "Address `simpul serve` listens on."),
    Setting("http.port", 8080, "Port `simpul serve` listens on.", check=checks.port),
    Setting("http.threads", 8, "Waitress worker threads.", check=checks.at_least(1)),
    Setting("http.trusted_proxy", "", "Address of the reverse proxy whose X-Forwarded-For/-Proto waitress believes "
            "(real client address for throttles and audit, HTTPS for Secure cookies); empty: none."),
    Setting("http.secure_cookies", False, "Always send cookies with the Secure flag (the site is only reached over HTTPS)."),
    # --- catalog -----------------------------------------------------------
    Setting("catalog.path", "", "Service catalog TOML; empty uses the shipped demo catalog."),
    # --- background jobs ---------------------------------------------------
    Setting("jobs.enabled", True, "Run background jobs (outbound SMS, sync, clean-up) inside `simpul serve`."),
    # --- intake ------------------------------------------------------------
    Setting("intake.max_per_phone_per_hour", 10, "Self-service submissions (SMS, USSD, portal) one phone may make per "
            "hour; over it the citizen is told politely and nothing is stored. Kiosk and CLI are not limited. 0: no limit."),
    # --- retention ---------------------------------------------------------
    Setting("retention.days", 30, "Days after closing (and regional acknowledgement) before personal fields are purged.",
            check=checks.non_negative),
)


def collect(rows: Iterable[Setting]) -> tuple[Setting, ...]:
    """Check a list of rows for duplicates; keep their order."""
    seen: dict[str, Setting] = {}
    for row in rows:
        if not isinstance(row, Setting):
            raise ConfigError(f"settings table: {row!r} is not a Setting")
        if row.name in seen:
            raise ConfigError(f"setting '{row.name}' is declared twice")
        seen[row.name] = row
    return tuple(seen.values())


def all_settings() -> tuple[Setting, ...]:
    """The core's rows, then each installed part's, in part order."""
    from gateway import parts

    rows: list[Setting] = list(CORE)
    for result in parts.call("settings"):
        rows.extend(result)
    return collect(rows)


def by_name() -> dict[str, Setting]:
    return {s.name: s for s in all_settings()}
