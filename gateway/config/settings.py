"""The one table of settings: name, default, type and help.

Every key a config file may hold is declared here, so start-up can refuse a
typo or a wrong type with a message naming the key, and ``tests/test_docs.py``
can check that each one is documented. Node and regional server share this
schema; a section a process does not use is simply ignored by it.

Secrets are deliberately absent: they come from the environment or from a file
named here (see ``docs/security.md``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str  # dotted: "section.key" or "section.sub.key"
    default: object
    help: str

    @property
    def type(self) -> type:
        return type(self.default)


SETTINGS: tuple[Setting, ...] = (
    # --- node identity -----------------------------------------------------
    Setting("node.id", "demo-node", "This node's identity; the regional server knows it by this id."),
    Setting("node.name", "Kantor Desa Demo", "Human name of the village office, shown on receipts and pages."),
    Setting("node.timezone", "Asia/Jakarta", "IANA zone for dates shown to people (storage is always UTC)."),
    Setting("node.default_locale", "id", "Locale for citizens and officers who have not chosen one (id or en)."),
    Setting("node.public_url", "", "Base URL people and providers use to reach this node (track links, Twilio signatures behind a proxy). Empty: http://HOST:PORT."),
    # --- storage -----------------------------------------------------------
    Setting("storage.path", "var/simpul.db", "SQLite database file; its folder is the node's data dir."),
    # --- http --------------------------------------------------------------
    Setting("http.host", "127.0.0.1", "Address `simpul serve` listens on."),
    Setting("http.port", 8080, "Port `simpul serve` listens on."),
    Setting("http.threads", 8, "Waitress worker threads."),
    # --- catalog -----------------------------------------------------------
    Setting("catalog.path", "", "Service catalog TOML; empty uses the shipped demo catalog."),
    # --- background jobs ---------------------------------------------------
    Setting("jobs.enabled", True, "Run background jobs (outbound SMS, sync, clean-up) inside `simpul serve`."),
    # --- sms ---------------------------------------------------------------
    Setting("sms.provider", "", "Outbound SMS provider: '' (keep queued), 'twilio' or 'gammu'."),
    Setting("sms.max_auto_replies_per_hour", 20, "Reply-storm guard: automatic replies per number per hour."),
    Setting("sms.send_interval_seconds", 10, "How often the outbound job looks for queued messages."),
    Setting("sms.max_attempts", 8, "Attempts before an outbound message is marked failed."),
    Setting("sms.twilio.account_sid", "", "Twilio account SID for outbound SMS (the auth token comes from SIMPUL_TWILIO_AUTH_TOKEN)."),
    Setting("sms.twilio.from_number", "", "Sender number or messaging service for outbound Twilio SMS."),
    Setting("sms.twilio.api_base_url", "", "Override of Twilio's API base URL (tests point it at a local stand-in)."),
    Setting("sms.twilio.per_minute", 60, "Pacing: most Twilio messages sent per minute."),
    Setting("sms.gammu.inbox_path", "", "Gammu SMSD files-backend inbox folder (swept for received messages)."),
    Setting("sms.gammu.outbox_path", "", "Gammu SMSD files-backend outbox folder (outbound messages are written here)."),
    Setting("sms.gammu.per_minute", 6, "Pacing: most SMS a GSM modem is given per minute."),
    Setting("sms.gammu.sent_path", "", "Gammu SMSD's sentsmspath; when set, our sent texts are deleted from it "
            "once recorded as sent ('' leaves it alone)."),
    # --- ussd --------------------------------------------------------------
    Setting("ussd.session_timeout_seconds", 180, "A USSD session is forgotten after this long."),
    Setting("ussd.resume_minutes", 10, "An unfinished USSD form is offered for resumption this long."),
    # --- kiosk -------------------------------------------------------------
    Setting("kiosk.idle_timeout_minutes", 10, "Officer session ends after this long without activity (shared screen)."),
    Setting("kiosk.absolute_timeout_hours", 8, "Officer session ends this long after login whatever the activity."),
    Setting("kiosk.login_free_attempts", 5, "Failed logins allowed per (username, client address) before each further failure imposes a wait."),
    Setting("kiosk.login_max_delay_seconds", 900, "Longest wait after repeated failed logins (the wait doubles from 30 s; no account lockout)."),
    # --- sync (node side) --------------------------------------------------
    Setting("sync.url", "", "Regional server base URL; empty disables sync."),
    Setting("sync.interval_seconds", 300, "Seconds between sync passes while the server is reachable."),
    Setting("sync.regional_key", "", "The regional server's public sealing key (base64, shown by "
            "`simpul regional add-node`); personal fields are also sealed to it for sync."),
    Setting("sync.secret_file", "", "File holding this node's sync secret (else env SIMPUL_SYNC_SECRET)."),
    # --- regional server ---------------------------------------------------
    Setting("regional.host", "127.0.0.1", "Address `simpul regional serve` listens on."),
    Setting("regional.port", 8090, "Port `simpul regional serve` listens on."),
    Setting("regional.db", "var/regional.db", "Regional server SQLite database file."),
    Setting("regional.catalog", "", "Catalog the regional server publishes to nodes; empty = shipped demo catalog."),
    Setting("regional.seal_key_file", "", "File with the regional server's private sealing keys (base64, newest "
            "first; made 0600 on first use); empty: `regional_seal_key` next to regional.db. Env "
            "SIMPUL_REGIONAL_SEAL_KEY wins."),
    # --- retention ---------------------------------------------------------
    Setting("retention.days", 30, "Days after closing (and regional acknowledgement) before personal fields are purged."),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
