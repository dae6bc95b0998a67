"""The state of one USSD session: small, JSON-serializable, language-neutral.

Everything a screen needs is here (which screen, which page, the form being
filled, a one-shot notice such as a validation problem), so a screen can be
rendered again in any language from the stored state alone. Notices are kept
as (msgid, params) rather than text for the same reason.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from gateway.i18n import Message

# Screens that continue the session (CON) and those that end it (END).
CONTINUE_SCREENS = frozenset({
    "main", "services", "field", "confirm", "status_entry", "status_result", "info", "language", "resume",
})
END_SCREENS = frozenset({"sent", "cancelled", "not_saved", "failed", "limited"})


@dataclass
class State:
    locale: str
    screen: str = "main"
    purpose: str | None = None  # on the services list: "submit" or "info"
    page: int = 0
    service: str | None = None  # the service being filled in or shown
    values: dict[str, str] = field(default_factory=dict)  # normalized field values so far
    index: int = 0  # the field being asked (len(fields) = confirm)
    notice: list[Any] | None = None  # [msgid, params]: shown once above the screen
    result: dict[str, Any] | None = None  # tracking code / status looked up

    @property
    def ended(self) -> bool:
        return self.screen in END_SCREENS

    @property
    def in_form(self) -> bool:
        return self.screen in ("field", "confirm") and self.service is not None

    def message(self) -> Message | None:
        if not self.notice:
            return None
        return Message(self.notice[0], **(self.notice[1] or {}))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> State:
        data = json.loads(text)
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def notice(message: Message) -> list[Any]:
    return [message.msgid, dict(message.params)]
