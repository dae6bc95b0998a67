"""The SMS boxes of the poster (hook ``poster_items``): where to send, checking a status, asking.

The command words come from the grammar that reads them (``grammar``), so the
poster never teaches a command the node does not understand.
"""

from __future__ import annotations

from typing import Any

from channels.sms import grammar
from gateway.i18n import N_, gettext
from gateway.outreach.poster import PosterItem

SEND_RANK, STATUS_RANK, ASK_RANK = 10, 50, 60
BLANK_NUMBER = "_" * 16  # a line for the officer to write the number on by hand


def items(config: Any, locale: str) -> list[PosterItem]:
    number = config["sms.public_number"] or BLANK_NUMBER
    code = gettext(locale, N_("code"))
    found = [
        PosterItem(SEND_RANK, gettext(locale, N_("SMS")), gettext(
            locale, N_("Send the service's SMS (see the table) to this number. Normal SMS charges apply.")),
            codes=(number,)),
        PosterItem(STATUS_RANK, gettext(locale, N_("Check your request")), gettext(
            locale, N_("Send your tracking code; the reply tells you where your request is.")),
            codes=tuple(f"{word} <{code}>" for word in grammar.STATUS_WORDS)),
    ]
    ask_words = getattr(grammar, "ASK_WORDS", ())
    if ask_words:
        question = gettext(locale, N_("question"))
        found.append(PosterItem(ASK_RANK, gettext(locale, N_("Ask the office")), gettext(
            locale, N_("An officer reads your question and answers by SMS.")),
            codes=(f"{ask_words[0]} <{question}>",)))
    return found
