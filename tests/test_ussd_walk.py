"""Walk EVERY menu path, in every locale, through the real app; every screen <= 160 chars.

Breadth-first over session states: each state reached is branched by copying
its session row (real SQLite) to a fresh sessionId and sending each input
that matters on that screen — menu numbers, 0/00/98, junk, and for field
screens valid values (short and at max length), every kind of invalid value
and an empty entry. Effects are real: submissions go through the pipeline,
status look-ups hit real requests in every status.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter, deque

import pytest

from channels.ussd import sessions
from channels.ussd.screens import CONFIRM_CHOICES
from channels.ussd.state import State
from gateway import clock
from gateway.cases import records as cases
from gateway.i18n import LOCALES, gettext
from gateway.intake import codes
from gateway.intake.catalog import Catalog, Field, parse_catalog
from gateway.intake.pipeline import Submission
from tests.conftest import NIK
from tests.test_ussd_app import OTHER, PHONE, ROUTE, check_reply, set_locale, ussd_config

pytestmark = pytest.mark.slow


@pytest.fixture
def config(tmp_path):
    """From an allowed source; one phone walks every path, so the per-phone limit is off here."""
    return ussd_config(tmp_path, per_phone_per_hour=0)


def _long_text(size: int) -> str:
    return ("Dusun Krajan RT 02/03 dekat masjid " * 20)[:size].strip() or "x"


def field_inputs(f: Field) -> list[str]:
    nav = ["0", "00", "98", ""]
    if f.type == "nik":
        return [NIK, "123", "9901011708900001", "3201019908900001", "3201011708900000", *nav]
    if f.type == "text":
        return ["Siti *Aminah", _long_text(f.max_length), "x" * (f.max_length + 1), *nav]
    if f.type == "date":
        return ["17-08-2020", "2020", "31-02-2020", "01-01-2099", *nav]
    if f.type == "choice":
        return [str(i) for i in range(1, len(f.options) + 2)] + nav
    if f.type == "phone":
        return ["081234567890", "12", *nav]
    return ["1", "abc", "-5", *nav]


def inputs_for(state: State, catalog: Catalog, status_codes: list[str],
               pick: list[str] | None = None) -> list[str]:
    nav = ["0", "00", "98", "x"]
    if state.screen == "main":
        return ["1", "2", "3", "4", "5", *nav]
    if state.screen == "services":
        return (pick or [str(i) for i in range(1, len(catalog.services) + 2)]) + nav
    if state.screen == "field":
        service = catalog.service(state.service)
        return field_inputs(service.fields[state.index])
    if state.screen == "confirm":
        return ["1", "2", "3", *nav]
    if state.screen == "status_entry":
        return [*status_codes, "", "0", "00"]
    if state.screen in ("status_result", "info"):
        return ["1", *nav]
    if state.screen == "language":
        return ["1", "2", "3", *nav]
    if state.screen == "resume":
        return ["1", "2", "3", *nav]
    return []


class Walker:
    def __init__(self, client, node, pick: list[str] | None = None):
        self.client, self.node = client, node
        self.pick = pick  # which list entries to branch into (all by default)
        self.seen: set[str] = set()
        self.screens: Counter[tuple[str, str]] = Counter()
        self.replies = 0
        self.longest = 0
        self.cipher = client.application.extensions["simpul_ussd"].cipher
        self.texts: dict[str, str] = {}  # the stored text is only a keyed hash: remember it here

    def post(self, session_id: str, text: str) -> tuple[str, str]:
        r = self.client.post(ROUTE, data={"sessionId": session_id, "serviceCode": "*123#",
                                          "phoneNumber": PHONE, "networkCode": "51010", "text": text})
        self.replies += 1
        self.texts[session_id] = text
        kind, screen = check_reply(r)
        self.longest = max(self.longest, len(screen))
        return kind, screen

    @staticmethod
    def key(session_id: str) -> str:
        return sessions.session_key(PHONE, session_id)  # the stored id: bound to the caller's number

    def row(self, session_id: str):
        return sessions.load(self.node.store.read(), self.key(session_id), self.cipher)

    def clone(self, session_id: str) -> str:
        """A copy of a session under a new id (sealed for its own id, as the channel would)."""
        new = f"walk-{uuid.uuid4().hex}"
        row = self.row(session_id)
        text = self.texts[session_id]
        key = self.key(new)
        self.node.store.write(lambda db: db.execute(
            "INSERT INTO ussd_sessions (session_id, phone, service_code, state_sealed, text_mac, reply_sealed, done, "
            "created_at, updated_at) VALUES (?, ?, '*123#', ?, ?, ?, ?, ?, ?)",
            [key, row.phone, self.cipher.seal(row.state, sessions.state_aad(key)),
             sessions.text_mac(self.cipher, key, text), self.cipher.seal(row.last_reply, sessions.reply_aad(key)),
             int(row.done), clock.utcnow(), clock.utcnow()]))
        self.texts[new] = text
        return new

    def walk_from_new_session(self, status_codes: list[str]) -> None:
        start = f"walk-{uuid.uuid4().hex}"
        self.post(start, "")
        queue = deque([start])
        catalog = self.node.catalog
        while queue:
            sid = queue.popleft()
            row = self.row(sid)
            state = State.from_json(row.state)
            key = row.state
            if key in self.seen:
                continue
            self.seen.add(key)
            self.screens[(state.locale, state.screen)] += 1
            for entry in inputs_for(state, catalog, status_codes, self.pick):
                branch = self.clone(sid)
                last_text = self.texts[sid]
                text = f"{last_text}*{entry}" if last_text else entry
                if last_text == "" and entry == "":
                    continue  # indistinguishable from a resend of the first request
                kind, screen = self.post(branch, text)
                after = State.from_json(self.row(branch).state)
                self.screens[(after.locale, after.screen)] += 1
                if after.screen in ("confirm", "main", "services", "language"):
                    # the menu choices themselves are never cut to make room
                    last = screen.splitlines()[-1]
                    assert not last.endswith("..."), screen
                if after.screen == "confirm":
                    assert last == gettext(after.locale, CONFIRM_CHOICES), screen
                if kind == "CON":
                    queue.append(branch)


def _requests_in_every_status(node) -> list[str]:
    found = []
    for status in cases.STATUSES:
        req = node.pipeline.submit(Submission("sms", "ADUAN", {"message": "jalan rusak"}, sender=PHONE)).request
        path = {"received": (), "closed": ("ready", "closed")}.get(status, (status,))  # the transitions table
        for step in path:
            node.store.write(lambda db, r=req, s=step: cases.change_status(db, r["id"], s, actor="t"))
        found.append(req["tracking_code"])
    other = node.pipeline.submit(Submission("sms", "ADUAN", {"message": "x"}, sender=OTHER)).request
    good = found[0].replace("-", "")
    typo = good[:2] + ("3" if good[2] != "3" else "4") + good[3:]
    return [*found, other["tracking_code"], codes.generate(), typo, "12", "ZZZZZ-ZZZZZ*"]


def _walk(client, node) -> Walker:
    status_codes = _requests_in_every_status(node)
    walker = Walker(client, node)
    for locale in LOCALES:
        set_locale(node, PHONE, locale)
        node.store.write(lambda db: db.execute("DELETE FROM ussd_drafts"))
        walker.walk_from_new_session(status_codes)
        # Resume offers: a draft stopped at every position of every service.
        for service in node.catalog.services:
            values = {}
            for position, f in enumerate(service.fields):
                values[f.name] = str(f.validate(field_inputs(f)[0], locale))
                state = State(locale=locale, screen="field", service=service.code, values=dict(values),
                              index=position + 1)
                set_locale(node, PHONE, locale)
                node.store.write(lambda db, s=state: sessions.save_draft(db, walker.cipher, PHONE, s, clock.utcnow()))
                walker.walk_from_new_session(status_codes)
    return walker


def test_every_path_in_every_locale_fits(client, node):
    walker = _walk(client, node)
    assert walker.longest <= 160
    screens = {screen for _, screen in walker.screens}
    assert screens >= {"main", "services", "field", "confirm", "status_entry", "status_result", "info",
                       "language", "resume", "sent", "cancelled"}
    for locale in LOCALES:
        assert {s for loc, s in walker.screens if loc == locale} >= {
            "main", "field", "confirm", "sent", "status_result", "info", "resume"}
    submitted = cases.list_requests(node.store.read(), channel="ussd")
    assert {r["service"] for r in submitted} == {s.code for s in node.catalog.services}
    assert {r["locale"] for r in submitted} == set(LOCALES)
    assert walker.replies > 1000


def _big_catalog() -> Catalog:
    """Many services with long names and a long info text: lists and info must page."""
    services = []
    for i in range(1, 24):
        services.append({
            "code": f"LAYANAN{i}", "keywords": [f"LAYANAN{i}"],
            "name": {"id": f"Surat Keterangan Layanan Desa Nomor {i} Untuk Warga",
                     "en": f"Village service certificate number {i} for residents"},
            "description": {"id": "d", "en": "d"},
            "requirements": {"id": "KTP, KK, surat pengantar RT/RW, " * 6, "en": "ID card, family card, " * 8},
            "fee": {"id": "Gratis", "en": "Free"},
            "processing_time": {"id": "1 hari kerja", "en": "1 working day"},
            "fields": [{"name": "note", "type": "text", "max_length": 300,
                        "label": {"id": "Keterangan tambahan yang panjang", "en": "A long extra note label"},
                        "prompt": {"id": "Tulis keterangan " * 12, "en": "Write the note " * 12}},
                       {"name": "count", "type": "integer", "min": 0, "max": 9,
                        "label": {"id": "Jumlah", "en": "Count"},
                        "prompt": {"id": "Jumlah anggota (0-9):", "en": "Members (0-9):"}}],
        })
    catalog, errors = parse_catalog({"version": 2, "services": services})
    assert not errors, errors
    return catalog


def test_long_catalog_pages_and_still_fits(client, node):
    node.replace_catalog(_big_catalog())
    walker = Walker(client, node, pick=["1", "12", "23", "24"])
    for locale in LOCALES:
        set_locale(node, PHONE, locale)
        node.store.write(lambda db: db.execute("DELETE FROM ussd_drafts"))
        walker.walk_from_new_session([])
    assert walker.longest <= 160
    node.store.write(lambda db: db.execute("DELETE FROM ussd_drafts"))
    set_locale(node, PHONE, "en")  # the loop above left the last shipped locale
    # every service is reachable by paging the list with 98
    sid = f"walk-{uuid.uuid4().hex}"
    walker.post(sid, "")
    text = "1"
    seen = set()
    for _ in range(30):
        kind, screen = walker.post(sid, text)
        seen |= {int(line.split(" ")[0]) for line in screen.splitlines() if line.split(" ")[0].isdigit()
                 and line.split(" ")[0] not in ("0", "98")}
        if "98 More" not in screen:
            break
        text += "*98"
    assert seen == set(range(1, 24))


def test_integer_field_takes_zero_as_a_value(client, node):
    node.replace_catalog(_big_catalog())
    set_locale(node, PHONE, "en")
    walker = Walker(client, node)
    sid = "zero"
    walker.post(sid, "")
    walker.post(sid, "1")
    walker.post(sid, "1*1")
    _, screen = walker.post(sid, "1*1*my note")
    assert "0 Back" not in screen  # 0 is a valid count here, so it cannot navigate
    _, screen = walker.post(sid, "1*1*my note*0")
    assert "Count: 0" in screen and "1 Send" in screen
    assert json.loads(walker.row(sid).state)["values"]["count"] == "0"
