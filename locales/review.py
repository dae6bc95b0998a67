"""List the jv/su messages no native speaker has checked yet: `make locales-review`.

Each jv/su entry carries a translator comment: ``unreviewed: ...`` (drafted
without a native speaker), ``placeholder: ...`` (still the Indonesian text) or
``reviewed: NAME, DATE`` once someone who speaks the language has checked it.
A district hands this list to its reviewers.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po

REVIEW_PREFIXES = ("unreviewed:", "placeholder:", "reviewed:")
DRAFTED = ("jv", "su")
ROOT = Path(__file__).resolve().parent


def pending(locale: str) -> list[tuple[str, str, str, str]]:
    """(state, domain, msgid, msgstr) for every entry not marked reviewed; placeholders first."""
    out = []
    for cfg in sorted(ROOT.glob("*.cfg")):
        with open(ROOT / locale / "LC_MESSAGES" / f"{cfg.stem}.po", "rb") as fh:
            for m in read_po(fh):
                if not m.id:
                    continue
                marks = [c for c in m.user_comments if c.startswith(REVIEW_PREFIXES)]
                state = marks[-1].split(":", 1)[0] if marks else "unmarked"
                if state != "reviewed":
                    out.append((state, cfg.stem, str(m.id), str(m.string)))
    return sorted(out, key=lambda r: (r[0] != "placeholder", r[1], r[2]))


def main() -> None:
    for locale in sys.argv[1:] or DRAFTED:
        rows = pending(locale)
        print(f"## {locale}: {len(rows)} messages not reviewed by a native speaker")
        for state, domain, msgid, msgstr in rows:
            print(f"- [{state}] {domain}: {msgid!r} -> {msgstr!r}")


if __name__ == "__main__":
    main()
