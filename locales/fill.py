"""Dev tool: fill msgstrs (en = msgid where empty; id from a JSON map). Usage: python locales/fill.py DOMAIN MAP.json"""
import json
import sys

from babel.messages.pofile import read_po, write_po

domain, idmap = sys.argv[1], json.load(open(sys.argv[2]))
for loc in ("id", "en"):
    path = f"locales/{loc}/LC_MESSAGES/{domain}.po"
    with open(path, "rb") as fh:
        cat = read_po(fh, locale=loc)
    for m in cat:
        if not m.id:
            continue
        if loc == "en" and not m.string:
            m.string = m.id
        if loc == "id" and m.id in idmap:
            m.string = idmap[m.id]
    with open(path, "wb") as fh:
        write_po(fh, cat, omit_header=False, no_location=True, sort_output=True)
missing = [m.id for m in read_po(open(f"locales/id/LC_MESSAGES/{domain}.po","rb")) if m.id and not m.string]
print("missing id:", missing)
