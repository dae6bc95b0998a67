"""Load configuration: defaults, then a TOML file, then env, then a test dict.

Order follows Flask's tutorial. A config file is chosen by ``--config`` (the
caller passes it), else ``SIMPUL_CONFIG``, else ``./config.toml`` when present.
Which keys exist is the settings table: the core's rows plus each part's
(``gateway.config.settings.all_settings``). Any key may also be set from the
environment as ``SIMPUL__SECTION__KEY`` (double underscores between parts; a
list as comma-separated text), which keeps secrets-free deployment knobs out of
files when that is handier. Unknown keys, wrong types and values a row's check
refuses (a port above 65535, an unknown time zone) raise :class:`ConfigError`
naming the key, so a typo never silently falls back.

Path settings (``Setting.is_path``: names ending in ``path``, ``file`` or
``dir``, plus ``regional.db`` and ``regional.catalog``) given relative in a
config file resolve against that file's folder: a command started from
another folder (Gammu's ``RunOnReceive``, a service manager) must open the
same database, not silently create an empty one. Without a file they stay
relative to the working folder, as before.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.config.settings import Setting, all_settings
from gateway.errors import ConfigError
from gateway.i18n import LOCALES
from gateway.storage.files import private_dir

ENV_PREFIX = "SIMPUL__"


def _flatten(data: Mapping[str, Any], table: Mapping[str, Setting], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and name not in table:
            flat.update(_flatten(value, table, name + "."))
        else:
            flat[name] = value
    return flat


def _from_text(want: type, value: str) -> Any:
    """Environment values arrive as text; raise ValueError when it does not parse."""
    if want is str:
        return value
    if want is bool:
        if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ValueError(value)
        return value.lower() in ("1", "true", "yes")
    return want(value)


def _coerce(setting: Setting | None, name: str, value: Any, source: str, *, env: bool = False) -> Any:
    if setting is None:
        raise ConfigError(f"{source}: unknown setting '{name}'")
    if setting.item is not None:
        value = _coerce_list(setting, value, source, env)
    else:
        want = setting.type
        if isinstance(value, str) and want is not str:
            try:
                value = _from_text(want, value)
            except ValueError:
                raise ConfigError(
                    f"{source}: setting '{name}' must be {want.__name__}, got {value!r}"
                ) from None
        if want is int and isinstance(value, bool) or not isinstance(value, want):
            raise ConfigError(
                f"{source}: setting '{name}' must be {want.__name__}, got {type(value).__name__} {value!r}"
            )
    if setting.check is not None:
        try:
            setting.check(value)
        except ValueError as exc:
            raise ConfigError(f"{source}: setting '{name}': {exc}") from None
    return value


def _coerce_list(setting: Setting, value: Any, source: str, env: bool) -> list[Any]:
    """A TOML array, or in the environment a comma-separated text ("a, b")."""
    want = setting.item
    assert want is not None
    if env:
        entries = [part.strip() for part in str(value).split(",") if part.strip()]
        value = []
        for entry in entries:
            try:
                value.append(_from_text(want, entry))
            except ValueError:
                raise ConfigError(f"{source}: setting '{setting.name}' must be a {setting.type_name}, "
                                  f"got {entry!r}") from None
    if not isinstance(value, list):
        raise ConfigError(f"{source}: setting '{setting.name}' must be a {setting.type_name}, "
                          f"got {type(value).__name__} {value!r}")
    for i, entry in enumerate(value):
        if want is int and isinstance(entry, bool) or not isinstance(entry, want):
            raise ConfigError(f"{source}: setting '{setting.name}' must be a {setting.type_name}, "
                              f"element {i} is {type(entry).__name__} {entry!r}")
    return list(value)


class Config(dict):
    """Flat mapping of dotted setting names to values, plus where it came from."""

    source: Path | None = None

    def section(self, prefix: str) -> dict[str, Any]:
        """Settings under ``prefix.`` with the prefix stripped."""
        cut = len(prefix) + 1
        return {k[cut:]: v for k, v in self.items() if k.startswith(prefix + ".")}

    @property
    def data_dir(self) -> Path:
        return Path(self["storage.path"]).resolve().parent


def _resolve(setting: Setting, value: Any, folder: Path) -> Any:
    """A relative path setting from a file, made absolute against the file's folder."""
    if not setting.is_path or not isinstance(value, str) or not value:
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else folder.resolve() / path)


def choose_path(explicit: str | os.PathLike | None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get("SIMPUL_CONFIG")
    if env:
        return Path(env)
    local = Path("config.toml")
    return local if local.exists() else None


def load_config(
    path: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the effective configuration; raise ConfigError on any bad key."""
    environ = os.environ if environ is None else environ
    rows = all_settings()
    table = {s.name: s for s in rows}
    config = Config({s.name: s.fresh_default() for s in rows})
    chosen = choose_path(path)
    if chosen is not None:
        try:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {chosen}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{chosen}: not valid TOML: {exc}") from None
        for name, value in _flatten(data, table).items():
            value = _coerce(table.get(name), name, value, str(chosen))
            config[name] = _resolve(table[name], value, chosen.parent)
        config.source = chosen
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX):].lower().replace("__", ".")
            config[name] = _coerce(table.get(name), name, value, f"env {key}", env=True)
    for name, value in _flatten(overrides or {}, table).items():
        config[name] = _coerce(table.get(name), name, value, "overrides")
    if config["node.default_locale"] not in LOCALES:
        raise ConfigError(f"setting 'node.default_locale' must be one of: {', '.join(LOCALES)}")
    return config


def secret_key(config: Config, environ: Mapping[str, str] | None = None) -> str:
    """The node's session-signing secret: env first, else a generated 0600 file."""
    environ = os.environ if environ is None else environ
    if environ.get("SIMPUL_SECRET_KEY"):
        return environ["SIMPUL_SECRET_KEY"]
    path = config.data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    private_dir(path.parent)
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value
