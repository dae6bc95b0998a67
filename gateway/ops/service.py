"""``simpul install-service``: systemd units, a service user and a private state folder.

The units live in ``deploy/`` (shipped as package data). Installing writes them
with the path of the running ``simpul`` instead of ``/opt/simpul/.venv/bin/simpul``,
creates the ``simpul`` system user, makes ``/var/lib/simpul`` 0700 owned by it
and prints what to do next. ``--root DIR`` writes below DIR instead of ``/``
(for an image being prepared, and for tests); it then creates no user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from gateway.errors import SimpulError

PLACEHOLDER = "/opt/simpul/.venv/bin/simpul"
USER = "simpul"
NODE_UNITS = ("simpul-node.service", "simpul-gammu-smsd.service")
REGIONAL_UNITS = ("simpul-regional.service",)


class ServiceError(SimpulError):
    """Installation cannot go on (not root, no systemd, no useradd)."""


def unit_text(name: str, executable: str) -> str:
    text = resources.files("deploy").joinpath(name).read_text(encoding="utf-8")
    return text.replace(PLACEHOLDER, executable)


def simpul_executable() -> str:
    """The ``simpul`` that runs now (the venv the units must use)."""
    candidate = Path(sys.argv[0])
    if candidate.name == "simpul" and candidate.exists():
        return str(candidate.resolve())
    return shutil.which("simpul") or PLACEHOLDER


def ensure_user(name: str, home: Path) -> bool:
    """Create a system user without login; False when it already existed."""
    try:
        pwd.getpwnam(name)
        return False
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        raise ServiceError("useradd not found: create the system user 'simpul' by hand")
    subprocess.run([useradd, "--system", "--home-dir", str(home), "--no-create-home",
                    "--shell", "/usr/sbin/nologin", "--user-group", name], check=True)
    return True


def install(root: Path, regional: bool, executable: str) -> list[str]:
    """Write units and the state folder below ``root``; return what was done, one line each."""
    done: list[str] = []
    if str(root) == "/" and os.geteuid() != 0:
        raise ServiceError("install-service needs root: run it with sudo")
    units = REGIONAL_UNITS if regional else NODE_UNITS
    unit_dir = root / "etc/systemd/system"
    unit_dir.mkdir(parents=True, exist_ok=True)
    for name in units:
        (unit_dir / name).write_text(unit_text(name, executable), encoding="utf-8")
        os.chmod(unit_dir / name, 0o644)
        done.append(f"wrote {unit_dir / name}")
    state = root / "var/lib" / ("simpul-regional" if regional else "simpul")
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    etc = root / "etc/simpul"
    etc.mkdir(parents=True, exist_ok=True)
    if not regional and not (etc / "gammu-smsdrc").exists():
        (etc / "gammu-smsdrc").write_text(unit_text("gammu-smsdrc", executable), encoding="utf-8")
        done.append(f"wrote {etc / 'gammu-smsdrc'} (set the modem device)")
    config = etc / ("regional.toml" if regional else "config.toml")
    if not regional and not config.exists():
        config.write_text(unit_text("config.toml", executable), encoding="utf-8")
        done.append(f"wrote {config} (set public_url)")
    if str(root) == "/":
        if ensure_user(USER, Path("/var/lib/simpul")):
            done.append(f"created system user {USER}")
        shutil.chown(state, USER, USER)
        for path in state.rglob("*"):
            shutil.chown(path, USER, USER)
        shutil.chown(etc, "root", USER)
        os.chmod(etc, 0o750)
        done.append(f"{state} is 0700, owned by {USER}")
        systemctl = shutil.which("systemctl")
        if systemctl:
            subprocess.run([systemctl, "daemon-reload"], check=False)
            done.append("systemctl daemon-reload")
    return done


def next_steps(regional: bool) -> list[str]:
    if regional:
        return ["edit /etc/simpul/regional.toml ([regional] public_url, db = \"/var/lib/simpul-regional/regional.db\")",
                "systemctl enable --now simpul-regional",
                "journalctl -u simpul-regional -f"]
    return ["edit /etc/simpul/config.toml (public_url: this box's LAN address)",
            "sudo -u simpul simpul --config /etc/simpul/config.toml node join TOKEN   (prints the recovery code once)",
            "systemctl enable --now simpul-node",
            "with a GSM modem: systemctl disable --now gammu-smsd; systemctl enable --now simpul-gammu-smsd",
            "sudo -u simpul simpul --config /etc/simpul/config.toml doctor"]
