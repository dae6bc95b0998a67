"""The USSD box of the poster (hook ``poster_items``): the code to dial, when one is configured."""

from __future__ import annotations

from typing import Any

from gateway.i18n import N_, gettext
from gateway.outreach.poster import PosterItem

RANK = 20  # right after SMS: USSD also works on any phone, without internet


def items(config: Any, locale: str) -> list[PosterItem]:
    code = config["ussd.service_code"]
    if not code:
        return []
    return [PosterItem(RANK, gettext(locale, N_("USSD menu")), gettext(
        locale, N_("Dial this code like a phone number and follow the menu: choose the service, then answer "
                   "each question.")), codes=(code,))]
