"""``simpul doctor``: is this box healthy, and if not, what to do - one line each.

Every check returns ok / warn / fail with a one-line fix. The core checks what
it owns (config, database, disk, permissions, clock, keys, the single-instance
lock, the outbound queue); parts add theirs through the ``doctor_checks(config)``
hook (sync: the regional server answers a signed ping; sms: the provider).
The kiosk's admin page shows the same list (``channels.kiosk``'s doctor panel).
Nothing here prints personal data.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.i18n import Message

OK, WARN, FAIL = "ok", "warn", "fail"
EXIT = {OK: 0, WARN: 1, FAIL: 2}
RELEASE_DATE = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # this release's build date (clock sanity)
LOW_DISK = 500 * 1024 * 1024
VERY_LOW_DISK = 50 * 1024 * 1024
STUCK_AFTER = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Check:
    name: str  # stable id, also the JSON key: config, database, disk, ...
    status: str  # ok | warn | fail
    detail: Message
    fix: Message | None = None

    def as_dict(self, locale: str) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail.render(locale),
                "fix": self.fix.render(locale) if self.fix else ""}


def worst(checks: Iterable[Check]) -> str:
    statuses = {c.status for c in checks}
    return FAIL if FAIL in statuses else WARN if WARN in statuses else OK


def _database(path: Path) -> Check:
    if not path.exists():
        return Check("database", FAIL, Message("no database at %(path)s", path=str(path)),
                     Message("run `simpul init-db` (or `simpul node join TOKEN`)"))
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            result = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Check("database", FAIL, Message("cannot read %(path)s: %(reason)s", path=str(path), reason=str(exc)),
                     Message("check the file's owner and permissions; restore a backup if it is damaged"))
    if result != ["ok"]:
        return Check("database", FAIL, Message("integrity check found %(n)d problem(s): %(first)s",
                                               n=len(result), first=result[0][:80]),
                     Message("stop the node and restore the newest backup (`simpul restore`)"))
    return Check("database", OK, Message("%(path)s passes PRAGMA quick_check", path=str(path)))


def _disk(folder: Path) -> Check:
    free = shutil.disk_usage(folder if folder.exists() else folder.parent).free
    mb = free // (1024 * 1024)
    if free < VERY_LOW_DISK:
        return Check("disk", FAIL, Message("only %(mb)d MB free", mb=mb),
                     Message("free disk space now: requests cannot be stored on a full disk"))
    if free < LOW_DISK:
        return Check("disk", WARN, Message("%(mb)d MB free (under 500 MB)", mb=mb),
                     Message("free disk space or move old backups off this disk"))
    return Check("disk", OK, Message("%(mb)d MB free", mb=mb))


def _permissions(config: Any) -> Check:
    db = Path(config["storage.path"])
    private = [db, Path(f"{db}-wal"), Path(f"{db}-shm"), db.parent / "secret_key"]
    if config.get("sync.secret_file"):
        private.append(Path(config["sync.secret_file"]))
    loose = [str(p) for p in private if p.exists() and stat.S_IMODE(p.stat().st_mode) & 0o077]
    if loose:
        return Check("permissions", FAIL, Message("readable by other users: %(files)s", files=", ".join(loose)),
                     Message("chmod 600 those files (Simpul makes new ones 0600)"))
    if db.parent.exists() and stat.S_IMODE(db.parent.stat().st_mode) & 0o077:
        return Check("permissions", WARN, Message("data folder %(dir)s is open to other users", dir=str(db.parent)),
                     Message("chmod 700 %(dir)s", dir=str(db.parent)))
    return Check("permissions", OK, Message("database and secrets are private (0600, folder 0700)"))


def _clock(now: dt.datetime) -> Check:
    if now < RELEASE_DATE - dt.timedelta(days=365):
        return Check("clock", FAIL, Message("the clock says %(now)s, long before this release", now=now.isoformat()),
                     Message("set the date and time (timedatectl set-ntp true, or date -s)"))
    if now < RELEASE_DATE:
        return Check("clock", WARN, Message("the clock says %(now)s, before this release was built",
                                            now=now.isoformat()),
                     Message("check the date and time (timedatectl)"))
    return Check("clock", OK, Message("%(now)s", now=now.strftime("%Y-%m-%dT%H:%M:%SZ")))


def _keys(path: Path) -> Check:
    from gateway.privacy import keys

    if not path.exists():
        return Check("keys", FAIL, Message("no database, so no node key"), Message("run `simpul init-db`"))
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        import sqlite_utils

        status = keys.status(sqlite_utils.Database(conn))
    except sqlite3.Error:
        return Check("keys", FAIL, Message("the key tables are missing"), Message("run `simpul init-db`"))
    finally:
        conn.close()
    if status["node_key"] is None:
        return Check("keys", FAIL, Message("this node has no sealing key"), Message("run `simpul init-db`"))
    holders = {h["name"]: h["granted"] for h in status["holders"]}
    if not holders.get(keys.RECOVERY):
        return Check("keys", WARN, Message("the recovery code does not open the current node key"),
                     Message("make a new one: `simpul keys recovery-code --officer NAME`"))
    officers = sum(1 for name, granted in holders.items() if granted and name != keys.RECOVERY)
    return Check("keys", OK, Message("node key %(kid)s; recovery code and %(n)d officer(s) hold it",
                                     kid=status["node_key"], n=officers))


def _lock(path: Path) -> Check:
    from gateway.storage.lock import holder

    pid = holder(path)
    if pid is None:
        return Check("lock", WARN, Message("no `simpul serve` is running on this database"),
                     Message("start it: systemctl start simpul-node (or `simpul serve`)"))
    return Check("lock", OK, Message("`simpul serve` holds the database (PID %(pid)s)", pid=pid))


def _outbox(path: Path, now: dt.datetime) -> Check:
    if not path.exists():
        return Check("outbox", OK, Message("no outbound SMS yet"))
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        count, oldest = conn.execute(
            "SELECT count(*), min(created_at) FROM outbound WHERE status = 'queued'").fetchone()
    except sqlite3.Error:
        return Check("outbox", OK, Message("no outbound SMS yet"))
    finally:
        conn.close()
    cutoff = (now - STUCK_AFTER).strftime("%Y-%m-%dT%H:%M:%SZ")
    if count and oldest and oldest < cutoff:
        return Check("outbox", WARN, Message("%(n)d SMS queued, the oldest since %(at)s", n=count, at=oldest),
                     Message("check the SMS provider (the sms line) and the modem's signal and credit"))
    return Check("outbox", OK, Message("%(n)d SMS waiting", n=count))


def core_checks(config: Any, now: dt.datetime | None = None) -> list[Check]:
    now = now or dt.datetime.now(dt.UTC)
    db = Path(config["storage.path"]).resolve()
    return [
        Check("config", OK, Message("%(source)s loads", source=str(config.source or "defaults"))),
        _database(db), _disk(db.parent), _permissions(config), _clock(now), _keys(db), _lock(db),
        _outbox(db, now),
    ]


def run(config_loader: Callable[[], Any], now: dt.datetime | None = None) -> list[Check]:
    """Every check; a config that does not load is the one (failing) check there is."""
    from gateway import parts
    from gateway.errors import ConfigError

    try:
        config = config_loader()
    except ConfigError as exc:
        return [Check("config", FAIL, Message("%(problem)s", problem=str(exc)),
                      Message("fix that setting (`simpul config check` names it)"))]
    checks = core_checks(config, now)
    for contributed in parts.call("doctor_checks", config):
        checks.extend(contributed or [])
    return checks


def render_lines(checks: list[Check], locale: str) -> list[str]:
    lines = []
    for c in checks:
        d = c.as_dict(locale)
        line = f"{c.status.upper():<4}  {c.name:<12} {d['detail']}"
        if d["fix"] and c.status != OK:
            line += f"  -> {d['fix']}"
        lines.append(line)
    return lines


def status_of(checks: list[Check]) -> int:
    return EXIT[worst(checks)]

