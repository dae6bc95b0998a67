"""Load configuration: defaults, then a TOML file, then env, then a test dict.

Order follows Flask's tutorial. A config file is chosen by ``--config`` (the
caller passes it), else ``SIMPUL_CONFIG``, else ``./config.toml`` when present.
Any key may also be set from the environment as ``SIMPUL__SECTION__KEY``
(double underscores between parts), which keeps secrets-free deployment knobs
out of files when that is handier. Unknown keys and wrong types raise
:class:`ConfigError` naming the key, so a typo never silently falls back.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.config.settings import BY_NAME, SETTINGS
from gateway.errors import ConfigError

ENV_PREFIX = "SIMPUL__"


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and name not in BY_NAME:
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _coerce(name: str, value: Any, source: str) -> Any:
    setting = BY_NAME.get(name)
    if setting is None:
        raise ConfigError(f"{source}: unknown setting '{name}'")
    want = setting.type
    if isinstance(value, str) and want is not str:
        # Environment values arrive as text.
        try:
            if want is bool:
                if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError(value)
                value = value.lower() in ("1", "true", "yes")
            else:
                value = want(value)
        except ValueError:
            raise ConfigError(
                f"{source}: setting '{name}' must be {want.__name__}, got {value!r}"
            ) from None
    if want is int and isinstance(value, bool) or not isinstance(value, want):
        raise ConfigError(
            f"{source}: setting '{name}' must be {want.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


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
    config = Config({s.name: s.default for s in SETTINGS})
    chosen = choose_path(path)
    if chosen is not None:
        try:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {chosen}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{chosen}: not valid TOML: {exc}") from None
        for name, value in _flatten(data).items():
            config[name] = _coerce(name, value, str(chosen))
        config.source = chosen
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX):].lower().replace("__", ".")
            config[name] = _coerce(name, value, f"env {key}")
    for name, value in _flatten(overrides or {}).items():
        config[name] = _coerce(name, value, "overrides")
    if config["node.default_locale"] not in ("id", "en"):
        raise ConfigError("setting 'node.default_locale' must be 'id' or 'en'")
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
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value
