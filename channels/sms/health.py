"""The SMS part's line in ``simpul doctor``: is a provider configured and alive?

With Gammu the modem belongs to gammu-smsd, so ``gammu identify`` cannot open
it; ``gammu-smsd-monitor`` asks the running smsd (shared memory) instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from gateway.i18n import Message
from gateway.ops.doctor import FAIL, OK, WARN, Check

SMSDRC_CANDIDATES = ("/etc/simpul/gammu-smsdrc", "/etc/gammu-smsdrc")


def _gammu(config: Any) -> Check:
    outbox = config["sms.gammu.outbox_path"]
    if not outbox or not Path(outbox).is_dir() or not os.access(outbox, os.W_OK):
        return Check("sms", FAIL, Message("Gammu outbox %(path)s is missing or not writable", path=outbox or "''"),
                     Message("set sms.gammu.outbox_path to smsd's outboxpath, owned by the simpul user"))
    monitor = shutil.which("gammu-smsd-monitor")
    smsdrc = next((p for p in SMSDRC_CANDIDATES if Path(p).exists()), None)
    if monitor is None or smsdrc is None:
        return Check("sms", WARN, Message("cannot ask gammu-smsd for its status (no gammu-smsd-monitor or smsdrc)"),
                     Message("install gammu-smsd and put its config in /etc/simpul/gammu-smsdrc"))
    try:
        out = subprocess.run([monitor, "-c", smsdrc, "-n", "1", "-d", "0"], capture_output=True, text=True,
                             timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        out = None
    if out is None or out.returncode != 0 or "Signal" not in out.stdout:
        return Check("sms", FAIL, Message("gammu-smsd is not running or not answering"),
                     Message("systemctl restart simpul-gammu-smsd; journalctl -u simpul-gammu-smsd"))
    fields = dict(part.split(":", 1) for part in out.stdout.strip().splitlines()[-1].split(";") if ":" in part)
    signal = fields.get("NetworkSignal", "?").strip()
    return Check("sms", OK, Message("gammu-smsd answers (signal %(signal)s%%)", signal=signal))


def checks(config: Any) -> list[Check]:
    provider = config["sms.provider"].strip().lower()
    if not provider:
        return [Check("sms", WARN, Message("no SMS provider: replies and status SMS stay queued"),
                      Message("set sms.provider to 'gammu' (a GSM modem) or 'twilio'"))]
    if provider == "twilio":
        if not (config["sms.twilio.account_sid"] and config["sms.twilio.from_number"]
                and os.environ.get("SIMPUL_TWILIO_AUTH_TOKEN")):
            return [Check("sms", FAIL, Message("Twilio is chosen but not fully configured"),
                          Message("set sms.twilio.account_sid, sms.twilio.from_number and SIMPUL_TWILIO_AUTH_TOKEN"))]
        return [Check("sms", OK, Message("Twilio is configured"))]
    return [_gammu(config)]
