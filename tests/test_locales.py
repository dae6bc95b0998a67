"""Every message has a translation in every shipped locale, and .mo files are fresh."""

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from gateway.i18n import LOCALES, domains

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "Message": None, "lazy_gettext": None}


def _method_map(domain):
    import configparser

    parser = configparser.ConfigParser()
    parser.read(ROOT / "locales" / f"{domain}.cfg")
    return [(section.split(":", 1)[1].strip(), section.split(":", 1)[0].strip()) for section in parser.sections()], \
        {section.split(":", 1)[1].strip(): dict(parser[section]) for section in parser.sections()}


def _source_ids(domain):
    method_map, options = _method_map(domain)
    ids = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(str(ROOT), method_map, options, keywords=KEYWORDS):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.mark.parametrize("domain", domains())
@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_translated_and_compiled(domain, locale):
    po_path = ROOT / "locales" / locale / "LC_MESSAGES" / f"{domain}.po"
    with open(po_path, "rb") as fh:
        po = read_po(fh, locale=locale)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in po if m.id}
    missing = sorted(i for i in _source_ids(domain) if not translated.get(i))
    assert not missing, f"{po_path.name} ({locale}) lacks translations: {missing}; run make locales-update"
    untranslated = sorted(i for i, s in translated.items() if not s or (isinstance(s, tuple) and not all(s)))
    assert not untranslated, f"empty msgstr in {po_path}: {untranslated}"
    with open(po_path.with_suffix(".mo"), "rb") as fh:
        mo = read_mo(io.BytesIO(fh.read()))
    compiled = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in mo if m.id}
    assert compiled == translated, f"{po_path.with_suffix('.mo')} is stale: run make locales-compile"


def test_placeholders_survive_translation():
    import re

    for domain in domains():
        for locale in LOCALES:
            with open(ROOT / "locales" / locale / "LC_MESSAGES" / f"{domain}.po", "rb") as fh:
                for m in read_po(fh):
                    if m.id and isinstance(m.id, str) and m.string:
                        want = sorted(re.findall(r"%\(\w+\)[sd]", m.id))
                        assert sorted(re.findall(r"%\(\w+\)[sd]", m.string)) == want, (locale, m.id)


def test_a_msgid_means_the_same_in_every_domain():
    """Domains are merged at run time: one msgid translated two ways would make one part wrong."""
    for locale in LOCALES:
        seen: dict[str, tuple[str, str]] = {}
        clashes = []
        for domain in domains():
            with open(ROOT / "locales" / locale / "LC_MESSAGES" / f"{domain}.po", "rb") as fh:
                for m in read_po(fh):
                    if not m.id or not isinstance(m.id, str):
                        continue
                    if m.id in seen and seen[m.id][1] != m.string:
                        clashes.append((locale, m.id, seen[m.id], (domain, m.string)))
                    seen.setdefault(m.id, (domain, m.string))
        assert not clashes, clashes


@pytest.mark.parametrize("domain", domains())
@pytest.mark.parametrize("locale", LOCALES)
def test_no_fuzzy_message(domain, locale):
    """A fuzzy entry is a guess Babel made: gettext ignores it, so the reader gets English."""
    with open(ROOT / "locales" / locale / "LC_MESSAGES" / f"{domain}.po", "rb") as fh:
        fuzzy = [m.id for m in read_po(fh) if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy in {locale}/{domain}.po: {fuzzy}"


@pytest.mark.parametrize("locale", ["jv", "su"])
def test_every_drafted_message_says_whether_a_native_speaker_reviewed_it(locale):
    from locales.review import REVIEW_PREFIXES

    unmarked = []
    for domain in domains():
        with open(ROOT / "locales" / locale / "LC_MESSAGES" / f"{domain}.po", "rb") as fh:
            for m in read_po(fh):
                if m.id and not any(c.startswith(REVIEW_PREFIXES) for c in m.user_comments):
                    unmarked.append((domain, m.id))
    assert not unmarked, f"{locale}: add '# unreviewed: ...' (or '# reviewed: NAME, DATE'): {unmarked}"


def test_makefile_updates_every_shipped_locale():
    import re

    line = re.search(r"^LOCALES = (.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert line and tuple(line.group(1).split()) == LOCALES

