"""Dev tool: fill msgstrs in the .po files (run from the repository root, then `make locales-compile`).

    python locales/fill.py DOMAIN MAP.json     id from a JSON map {msgid: text}; en = msgid where empty
    python locales/fill.py --locale jv MAP.json
        jv (or su) from a JSON map, in every domain; each entry filled gets the translator comment
        UNREVIEWED, so `python locales/review.py` lists it until a native speaker has checked it
    python locales/fill.py --placeholders
        every empty jv/su msgstr gets the Indonesian text and the comment PLACEHOLDER: the message
        works (in Indonesian) until someone translates it; review.py lists these first

A reviewer who has checked an entry replaces its comment with `reviewed: NAME, DATE`.
"""

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

UNREVIEWED = "unreviewed: machine-drafted, needs native review"
PLACEHOLDER = "placeholder: Indonesian text, needs translation"
DRAFTED = ("jv", "su")
ROOT = Path("locales")


def _domains() -> list[str]:
    return sorted(p.stem for p in ROOT.glob("*.cfg"))


def _rewrite(locale: str, domain: str, change) -> list[str]:
    path = ROOT / locale / "LC_MESSAGES" / f"{domain}.po"
    with open(path, "rb") as fh:
        cat = read_po(fh, locale=locale)
    for m in cat:
        if m.id:
            change(m)
    with open(path, "wb") as fh:
        write_po(fh, cat, omit_header=False, no_location=True, sort_output=True)
    return [m.id for m in cat if m.id and not m.string]


def _mark(m, comment: str) -> None:
    m.user_comments = [c for c in m.user_comments if not c.startswith(("unreviewed", "placeholder", "reviewed"))]
    m.user_comments.append(comment)
    m.flags.discard("fuzzy")


def fill_id_en(domain: str, idmap: dict[str, str]) -> None:
    def en(m):
        if not m.string:
            m.string = m.id

    def ind(m):
        if m.id in idmap:
            m.string = idmap[m.id]

    _rewrite("en", domain, en)
    print("missing id:", _rewrite("id", domain, ind))


def fill_drafts(locale: str, texts: dict[str, str]) -> None:
    def change(m):
        placeholder = any(c.startswith("placeholder") for c in m.user_comments)
        if m.id in texts and texts[m.id] and (m.string != texts[m.id] or placeholder):
            m.string = texts[m.id]
            _mark(m, UNREVIEWED)

    for domain in _domains():
        print(domain, "missing", locale, ":", _rewrite(locale, domain, change))


def fill_placeholders() -> None:
    for domain in _domains():
        with open(ROOT / "id" / "LC_MESSAGES" / f"{domain}.po", "rb") as fh:
            indonesian = {m.id: m.string for m in read_po(fh) if m.id}

        def change(m, indonesian=indonesian):
            if not m.string and indonesian.get(m.id):
                m.string = indonesian[m.id]
                _mark(m, PLACEHOLDER)

        for locale in DRAFTED:
            _rewrite(locale, domain, change)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--placeholders"]:
        fill_placeholders()
    elif args[:1] == ["--locale"] and len(args) == 3:
        fill_drafts(args[1], json.loads(Path(args[2]).read_text(encoding="utf-8")))
    elif len(args) == 2:
        fill_id_en(args[0], json.loads(Path(args[1]).read_text(encoding="utf-8")))
    else:
        sys.exit(__doc__)
