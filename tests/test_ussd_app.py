"""Full USSD sessions through the real app (Flask test client, real SQLite)."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import pytest

from channels.ussd import sessions
from gateway.cases import records as cases
from gateway.intake import codes
from gateway.intake.pipeline import Submission
from gateway.outbox.queue import list_outbound
from tests.conftest import NIK, node_keys_of, opened_fields

ROUTE = "/channels/ussd/africastalking"
PHONE = "+6281234567890"
GSM7_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
OTHER = "+6285711112222"


def check_reply(response) -> tuple[str, str]:
    """Every reply: 200, text/plain, CON/END prefix, screen within 160 characters."""
    assert response.status_code == 200, response.data[:200]
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    kind, _, screen = body.partition(" ")
    assert kind in ("CON", "END"), body[:200]
    assert len(screen) <= 160, (len(screen), screen)
    return kind, screen


class Dialer:
    """One phone in one USSD session, keeping ``text`` the way Africa's Talking does."""

    def __init__(self, client, phone: str = PHONE, session_id: str | None = None):
        self.client = client
        self.phone = phone
        self.session_id = session_id or f"ATUid_{uuid.uuid4().hex}"
        self.inputs: list[str] = []

    @property
    def text(self) -> str:
        return "*".join(self.inputs)

    @property
    def key(self) -> str:
        """The stored session id: the aggregator's id bound to this phone."""
        return sessions.session_key(self.phone, self.session_id)

    def post(self, text: str):
        return self.client.post(ROUTE, data={"sessionId": self.session_id, "serviceCode": "*123#",
                                             "phoneNumber": self.phone, "networkCode": "51010",
                                             "text": text})

    def dial(self) -> tuple[str, str]:
        self.inputs = []
        return check_reply(self.post(""))

    def send(self, entry: str) -> tuple[str, str]:
        self.inputs.append(entry)
        return check_reply(self.post(self.text))

    def resend(self) -> tuple[str, str]:
        return check_reply(self.post(self.text))


def ussd_config(tmp_path, per_phone_per_hour: int = 10):
    """The test client calls from 127.0.0.1: an allowed source, as the aggregator's address would be."""
    from gateway.config.loader import load_config

    return load_config(overrides={"storage": {"path": str(tmp_path / "simpul.db")}, "jobs": {"enabled": False},
                                  "ussd": {"allowed_sources": ["127.0.0.1"]},
                                  "intake": {"max_per_phone_per_hour": per_phone_per_hour}})


@pytest.fixture
def config(tmp_path):
    return ussd_config(tmp_path)


@pytest.fixture
def phone(client):
    return Dialer(client)


def set_locale(node, phone: str, locale: str) -> None:
    node.store.write(lambda db: db.execute(
        "INSERT INTO contacts (phone, locale, updated_at) VALUES (?, ?, 'x') "
        "ON CONFLICT(phone) DO UPDATE SET locale = excluded.locale", [phone, locale]))


def requests_of(node) -> list[dict]:
    """Stored requests, with the sealed personal fields opened (as an officer with the node key would)."""
    return [{**row, "fields": opened_fields(node, row)} for row in cases.list_requests(node.store.read())]


def submit_domisili(d: Dialer, name: str = "Siti Aminah", address: str = "Dusun Krajan RT 02/03"):
    d.dial()
    d.send("1")
    d.send("1")
    d.send(NIK)
    d.send(name)
    d.send(address)
    return d.send("1")


def test_main_menu_order_and_full_submission_in_indonesian(phone, node):
    kind, screen = phone.dial()
    assert kind == "CON"
    assert screen.splitlines() == ["Layanan Desa", "1 Ajukan permohonan", "2 Cek status", "3 Info layanan",
                                   "4 Bahasa/Language"]
    _, screen = phone.send("1")
    names = [s.text("name", "id") for s in node.catalog.services]
    assert [line.split(" ", 1)[1] for line in screen.splitlines()[1:1 + len(names)]] == names
    assert phone.send("1")[1].startswith("Masukkan NIK")
    assert phone.send(NIK)[1].startswith("Masukkan nama")
    assert phone.send("Siti Aminah")[1].startswith("Masukkan alamat")
    kind, screen = phone.send("Dusun Krajan RT 02/03")
    assert kind == "CON" and "Kirim Surat Keterangan Domisili?" in screen
    assert NIK in screen and "Siti Aminah" in screen and "1 Kirim, 2 Batal" in screen
    kind, screen = phone.send("1")
    assert kind == "END"
    [request] = requests_of(node)
    assert request["tracking_code"] in screen and "SMS" in screen
    assert request["channel"] == "ussd"
    assert request["channel_message_id"].startswith(f"{PHONE}|{phone.session_id}@")
    assert request["phone"] == PHONE and request["locale"] == "id"
    assert request["fields"] == {"nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan RT 02/03"}
    [sms] = list_outbound(node.store.read())
    assert sms["to"] == PHONE and sms["key"] == f"ussd-receipt:{request['id']}"
    assert request["tracking_code"] in sms["body"] and sms["body"].startswith("Permohonan")
    assert len(sms["body"]) <= 160


def test_every_service_submits_in_every_locale(client, node):
    samples = {"nik": NIK, "text": "Budi Santoso", "date": "17-08-2020", "choice": "2",
               "phone": "081234567890", "integer": "1"}
    for locale in ("id", "en"):
        set_locale(node, PHONE, locale)
        for n, service in enumerate(node.catalog.services, 1):
            d = Dialer(client)
            d.dial()
            d.send("1")
            d.send(str(n))
            for f in service.fields:
                kind, screen = d.send(samples[f.type])
                assert kind == "CON"
            assert "1" in screen  # the confirm screen
            kind, screen = d.send("1")
            assert kind == "END"
            request = requests_of(node)[0]
            assert request["service"] == service.code and request["locale"] == locale
            assert request["tracking_code"] in screen
    assert len(requests_of(node)) == 2 * len(node.catalog.services)
    sent = list_outbound(node.store.read())
    assert len(sent) == 2 * len(node.catalog.services)
    for sms in sent:  # one plain GSM-7 segment in every locale, for every service name
        assert len(sms["body"]) <= 160 and set(sms["body"]) <= GSM7_BASIC, sms["body"]


def test_star_typed_inside_a_value_is_kept(phone, node):
    submit_domisili(phone, name="Siti *Aminah", address="RT 02*03 *")
    [request] = requests_of(node)
    assert request["fields"]["name"] == "Siti *Aminah" and request["fields"]["address"] == "RT 02*03 *"


def test_values_are_never_taken_for_navigation(phone, node):
    phone.dial()
    phone.send("1")
    phone.send("1")
    _, screen = phone.send("98")  # not an NIK: a retry naming the problem, not "more"
    assert screen.startswith("NIK: harus 16 digit")
    _, screen = phone.send(NIK)
    assert screen.startswith("Masukkan nama")
    _, screen = phone.send("0")  # cannot be a name: back to the NIK
    assert screen.startswith("Masukkan NIK")
    phone.send(NIK)
    phone.send("98")  # a valid (if odd) name: taken as the value
    kind, screen = phone.send("00 Dusun 0")
    assert "Nama: 98" in screen and "Alamat: 00 Dusun 0" in screen


def test_retry_prompts_name_the_problem(phone):
    phone.dial()
    phone.send("1")
    phone.send("4")  # birth registration
    phone.send("Putri")
    _, screen = phone.send("31-02-2020")
    assert screen.splitlines()[0] == "Tgl Lahir: tanggal ini tidak ada"
    _, screen = phone.send("01-01-2099")
    assert "tidak boleh di masa depan" in screen
    _, screen = phone.send("17-08-2020")
    assert screen.startswith("Masukkan NIK ibu")
    _, screen = phone.send("3201011708900000")
    assert "0000" in screen


def test_choice_field_lists_options_and_retries(phone, node):
    phone.dial()
    phone.send("1")
    phone.send("3")
    phone.send(NIK)
    _, screen = phone.send("Budi")
    assert "1 Baru" in screen and "4 Perubahan data" in screen
    _, screen = phone.send("7")
    assert screen.startswith("Pilih salah satu nomor di daftar.\nAlasan: 1 Baru")
    _, screen = phone.send("2")
    assert "Alasan: Hilang" in screen
    phone.send("1")
    assert requests_of(node)[0]["fields"]["reason"] == "lost"


def test_cancel_on_confirm_stores_nothing(phone, node):
    phone.dial()
    for entry in ("1", "5", "jalan rusak"):
        phone.send(entry)
    kind, screen = phone.send("3")  # ADUAN's optional category: Pelayanan
    assert kind == "CON" and "Kategori: Pelayanan" in screen and "1 Kirim" in screen
    kind, screen = phone.send("2")
    assert kind == "END" and "Dibatalkan" in screen
    assert requests_of(node) == [] and list_outbound(node.store.read()) == []
    assert node.store.read().execute("SELECT count(*) FROM ussd_drafts").fetchone()[0] == 0


def test_resent_confirm_gives_one_request_and_one_sms(phone, node, app):
    submit_domisili(phone)
    kind, first = phone.resend()
    assert kind == "END"
    # Even a confirm resent after the session row was lost maps to the same request.
    cipher = app.extensions["simpul_ussd"].cipher
    state = json.dumps({"locale": "id", "screen": "confirm", "service": "DOMISILI", "index": 3,
                        "values": {"nik": NIK, "name": "Siti", "address": "RT 1"}})
    node.store.write(lambda db: db.execute(
        "UPDATE ussd_sessions SET done = 0, text_mac = ?, state_sealed = ? WHERE session_id = ?",
        [sessions.text_mac(cipher, phone.key, phone.text.rsplit("*", 1)[0]),
         cipher.seal(state, sessions.state_aad(phone.key)), phone.key]))
    kind, again = phone.resend()
    assert kind == "END" and again == first
    assert len(requests_of(node)) == 1 and len(list_outbound(node.store.read())) == 1


def test_concurrent_copies_of_confirm_store_once(client, node):
    d = Dialer(client)
    d.dial()
    for entry in ("1", "1", NIK, "Siti", "Dusun"):
        d.send(entry)
    d.inputs.append("1")
    replies: list[str] = []
    barrier = threading.Barrier(6)

    def confirm():
        c = client.application.test_client()
        barrier.wait()
        r = c.post(ROUTE, data={"sessionId": d.session_id, "serviceCode": "*123#",
                                "phoneNumber": PHONE, "networkCode": "1", "text": d.text})
        replies.append(r.get_data(as_text=True))

    threads = [threading.Thread(target=confirm) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [request] = requests_of(node)
    assert len(set(replies)) == 1 and request["tracking_code"] in replies[0] and replies[0].startswith("END ")
    assert len(list_outbound(node.store.read())) == 1


def test_identical_resend_mid_flow_does_not_advance(phone):
    phone.dial()
    phone.send("1")
    first = phone.resend()
    assert phone.resend() == first
    assert phone.send("1")[1].startswith("Masukkan NIK")


def test_status_only_for_the_owner(client, node):
    mine = node.pipeline.submit(Submission("sms", "ADUAN", {"message": "lampu mati"}, sender=PHONE)).request
    theirs = node.pipeline.submit(Submission("sms", "ADUAN", {"message": "x"}, sender=OTHER)).request
    node.store.write(lambda db: cases.change_status(db, mine["id"], "ready", actor="officer"))
    d = Dialer(client)
    d.dial()
    d.send("2")
    kind, screen = d.send(mine["tracking_code"].lower().replace("-", ""))
    assert kind == "CON" and mine["tracking_code"] in screen and "siap diambil" in screen
    d.send("0")
    _, not_owned = d.send(theirs["tracking_code"])
    unknown_code = codes.generate()
    _, unknown = d.send(unknown_code)
    assert not_owned == unknown and "Tidak ada permohonan" in unknown
    assert "diterima" not in not_owned
    good = mine["tracking_code"].replace("-", "")
    typo = good[:3] + ("1" if good[3] != "1" else "2") + good[4:]
    _, screen = d.send(typo)
    assert "periksa kembali" in screen
    _, screen = d.send("12")
    assert "10 huruf" in screen
    assert d.send("00")[1].startswith("Layanan Desa")


def test_service_info_pages_with_98(phone, node):
    set_locale(node, PHONE, "en")
    phone.dial()
    phone.send("3")
    _, first = phone.send("4")  # birth registration: long requirements
    assert first.splitlines()[-2:] == ["98 More", "0 Back"] and "Birth registration" in first
    _, second = phone.send("98")
    assert second.splitlines()[-2:] == ["0 Back", "00 Main menu"]
    pages = "\n".join(first.splitlines()[:-2] + second.splitlines()[:-2])
    for part in ("Requirements: Birth note", "marriage book", "Fee: Free", "Processing time: 3 working days"):
        assert pages.count(part) == 1, part
    _, screen = phone.send("98")
    assert screen.startswith("No more pages.")
    _, screen = phone.send("0")
    assert screen == first
    _, screen = phone.send("0")
    assert screen.startswith("Choose a service")
    _, screen = phone.send("1")
    assert "Requirements: ID card, family card" in screen and "Fee: Free" in screen


def test_language_is_stored_for_sms_too(phone, node):
    phone.dial()
    phone.send("4")
    kind, screen = phone.send("2")
    assert kind == "CON" and screen.startswith("Language saved.") and "1 Submit a request" in screen
    assert node.pipeline.locale_for(PHONE) == "en"
    row = node.store.read().execute("SELECT locale FROM contacts WHERE phone = ?", [PHONE]).fetchone()
    assert row == ("en",)
    assert Dialer(phone.client).dial()[1].startswith("Village services")
    submit_domisili(Dialer(phone.client))
    assert list_outbound(node.store.read())[0]["body"].startswith("Your Domicile certificate request")


def test_unfinished_form_is_offered_again(client, node):
    d = Dialer(client)
    d.dial()
    for entry in ("1", "2", NIK, "Budi"):
        d.send(entry)
    again = Dialer(client)
    kind, screen = again.dial()
    assert kind == "CON" and "Surat Keterangan Tidak Mampu" in screen and "1 Lanjutkan" in screen
    _, screen = again.send("1")
    assert screen.startswith("Untuk keperluan apa")
    _, screen = again.send("sekolah")
    assert "Budi" in screen and NIK in screen
    again.send("1")
    assert requests_of(node)[0]["fields"] == {"nik": NIK, "name": "Budi", "purpose": "sekolah"}
    assert Dialer(client).dial()[1].startswith("Layanan Desa")  # sent: nothing to resume


def test_start_over_discards_the_draft(client, node):
    d = Dialer(client)
    d.dial()
    for entry in ("1", "1", NIK):
        d.send(entry)
    again = Dialer(client)
    again.dial()
    assert again.send("2")[1].startswith("Layanan Desa")
    assert Dialer(client).dial()[1].startswith("Layanan Desa")


def test_draft_is_kept_only_resume_minutes(client, node):
    d = Dialer(client)
    d.dial()
    for entry in ("1", "1", NIK):
        d.send(entry)
    node.store.write(lambda db: db.execute("UPDATE ussd_drafts SET updated_at = '2000-01-01T00:00:00Z'"))
    assert Dialer(client).dial()[1].startswith("Layanan Desa")
    assert node.store.read().execute("SELECT count(*) FROM ussd_drafts").fetchone()[0] == 0  # purged


def test_session_expires(client, node):
    d = Dialer(client)
    d.dial()
    d.send("1")
    d.send("1")
    d.send(NIK)
    node.store.write(lambda db: db.execute("UPDATE ussd_sessions SET updated_at = '2000-01-01T00:00:00Z'"))
    kind, screen = d.send("Budi")
    assert kind == "END" and "10 menit" in screen
    assert requests_of(node) == []
    # The next session offers the saved form; the expired row is purged.
    kind, screen = Dialer(client).dial()
    assert "1 Lanjutkan" in screen
    assert node.store.read().execute("SELECT count(*) FROM ussd_sessions WHERE session_id = ?",
                                     [d.key]).fetchone()[0] == 0


def test_type_ahead_dial_applies_menu_choices(client, node):
    """``*123*2#``: Africa's Talking sends the extra parts as the first request's text."""
    d = Dialer(client)
    d.inputs = ["2"]
    kind, screen = d.resend()
    assert kind == "CON" and screen.startswith("Ketik kode pelacakan")
    d.inputs = ["4", "2"]
    d.session_id = "another"
    kind, screen = d.resend()
    assert screen.startswith("Language saved.") and node.pipeline.locale_for(PHONE) == "en"
    assert d.send("1")[1].startswith("Choose a service")


def test_type_ahead_never_submits(client, node):
    d = Dialer(client)
    d.inputs = ["1", "5", "jalan rusak", "5", "1"]  # 5: skip the optional category
    kind, screen = d.resend()
    assert kind == "CON" and "1 Kirim" in screen  # stops at the confirm screen
    assert requests_of(node) == []
    kind, screen = d.send("1")
    assert kind == "END" and requests_of(node)[0]["fields"] == {"message": "jalan rusak"}


def test_unknown_session_mid_flow_never_breaks(client, node):
    for text in ("1*1", "9*9*9", "1*1*" + NIK + "*x" * 50, "*", "***", "00*98*0"):
        d = Dialer(client)
        d.inputs = [text]
        check_reply(d.post(text))
    assert requests_of(node) == []


def test_missing_fields_and_wrong_method_end_politely(client):
    for data in ({}, {"sessionId": "s"}, {"sessionId": "s", "phoneNumber": PHONE},
                 {"phoneNumber": PHONE, "text": ""}, {"sessionId": "s", "phoneNumber": "abc", "text": ""},
                 {"sessionId": "x" * 500, "phoneNumber": PHONE, "text": ""}):
        kind, screen = check_reply(client.post(ROUTE, data=data))
        assert kind == "END" and screen.startswith("Maaf")
    kind, _ = check_reply(client.get(ROUTE))
    assert kind == "END"


def test_huge_input_ends_politely(client, phone):
    phone.dial()
    kind, _ = phone.send("1" * 10_000)
    assert kind == "END"
    big = client.post(ROUTE, data={"sessionId": "s", "phoneNumber": PHONE, "text": "9" * 2_000_000})
    assert check_reply(big)[0] == "END"


def test_session_id_of_another_number_starts_a_fresh_session(client, phone, node):
    phone.dial()
    phone.send("1")
    # The same sessionId from another phone is that phone's own new session: it never sees
    # (or moves) the first caller's screen.
    other = Dialer(client, phone=OTHER, session_id=phone.session_id)
    kind, screen = other.dial()
    assert kind == "CON" and screen.startswith("Layanan Desa")
    assert phone.send(NIK)[0] == "CON"


def test_failed_durable_write_never_claims_success(phone, node):
    # A real SQLite failure inside the write transaction (as a full disk would give).
    node.store.write(lambda db: db.execute(
        "CREATE TRIGGER fail_requests BEFORE INSERT ON requests BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"))
    kind, screen = submit_domisili(phone)
    assert kind == "END" and "BELUM tersimpan" in screen
    assert "Kode" not in screen
    assert requests_of(node) == [] and list_outbound(node.store.read()) == []
    node.store.write(lambda db: db.execute("DROP TRIGGER fail_requests"))
    # The form is still there to resume.
    assert "1 Lanjutkan" in Dialer(phone.client).dial()[1]


def test_unexpected_error_ends_politely(phone, node, monkeypatch):
    phone.dial()

    def boom(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr("channels.ussd.menu.step", boom)
    kind, screen = phone.send("1")
    assert kind == "END" and screen.startswith("Maaf, terjadi gangguan")


def test_ended_session_keeps_no_form_values(phone, node, app):
    submit_domisili(phone)
    row = sessions.load(node.store.read(), phone.key, app.extensions["simpul_ussd"].cipher)
    assert row.done and row.state is not None
    assert NIK not in row.state and "Siti" not in row.state


def disk_bytes(node) -> bytes:
    """Everything SQLite has on disk for this node: the database, its WAL and shared memory files."""
    path = Path(node.config["storage.path"])
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal"),
                                              path.with_name(path.name + "-shm")) if p.exists())


TYPED = (NIK, "Siti Aminah", "Dusun Krajan RT 02/03")


def assert_not_on_disk(node, values=TYPED) -> None:
    raw = disk_bytes(node)
    assert raw, "nothing on disk?"
    for value in values:
        assert value.encode() not in raw, value
        assert value.lower().encode() not in raw.lower(), value


def test_unfinished_session_and_draft_leave_no_typed_values_on_disk(phone, node, app):
    phone.dial()
    for entry in ("1", "1", NIK, "Siti Aminah", "Dusun Krajan RT 02/03"):
        kind, screen = phone.send(entry)
    assert kind == "CON" and NIK in screen and "Siti Aminah" in screen  # the confirm screen repeats them
    db = node.store.read()
    assert db.execute("SELECT count(*) FROM ussd_sessions").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM ussd_drafts").fetchone()[0] == 1
    assert_not_on_disk(node)
    # The rows hold what is needed, sealed: this process opens them.
    cipher = app.extensions["simpul_ussd"].cipher
    row = sessions.load(db, phone.key, cipher)
    assert NIK in row.state and NIK in row.last_reply
    assert row.text_mac == sessions.text_mac(cipher, phone.key, phone.text)
    draft = sessions.load_draft(db, PHONE, "2000-01-01T00:00:00Z", cipher)
    assert draft.values == {"nik": NIK, "name": "Siti Aminah", "address": "Dusun Krajan RT 02/03"}
    # The caller hangs up; the draft is offered again and still never reaches the disk in clear.
    kind, screen = Dialer(phone.client).dial()
    assert kind == "CON" and "Lanjutkan" in screen
    assert_not_on_disk(node)


def restarted(config, old):
    """A new process on the same database file: a new Node and app (and so a new USSD key)."""
    from gateway.app import create_app
    from gateway.node import Node

    new_node = Node(config)
    new_node._test_keys = node_keys_of(old)  # the node key pair itself survives a restart (on disk, wrapped)
    return new_node, create_app(config=config, node=new_node).test_client()


@pytest.mark.parametrize("locale,expected", [("id", "Sesi Anda telah berakhir"),
                                             ("en", "Your session has ended")])
def test_restart_mid_session_ends_politely_and_the_caller_starts_again(client, node, config, locale, expected):
    set_locale(node, PHONE, locale)
    before = Dialer(client)
    before.dial()
    for entry in ("1", "1", NIK, "Siti Aminah"):
        before.send(entry)
    new_node, new_client = restarted(config, node)
    try:
        after = Dialer(new_client, session_id=before.session_id)
        after.inputs = list(before.inputs)
        kind, screen = after.send("Dusun Krajan RT 02/03")
        assert kind == "END" and screen.startswith(expected), screen
        assert "%(" not in screen
        assert after.resend() == (kind, screen)  # a resend gets the same polite answer
        # The draft from before the restart cannot be opened: a new dial starts afresh.
        again = Dialer(new_client)
        kind, screen = again.dial()
        assert kind == "CON" and screen.splitlines()[1].startswith("1 ")
        assert "Lanjutkan" not in screen and "Continue" not in screen
        submit_domisili(again, name="Siti Aminah")
        [request] = requests_of(new_node)
        assert opened_fields(new_node, request)["name"] == "Siti Aminah"
        assert_not_on_disk(new_node)
    finally:
        new_node.close()


def test_type_ahead_after_restart_is_not_replayed(client, node, config):
    """A resent first request of a session started before a restart must not be re-run as type-ahead."""
    d = Dialer(client)
    d.dial()
    d.send("2")
    new_node, new_client = restarted(config, node)
    try:
        again = Dialer(new_client, session_id=d.session_id)
        again.inputs = list(d.inputs)
        kind, screen = again.send("ABCDE-12345")
        assert kind == "END"
        assert new_node.store.read().execute("SELECT count(*) FROM requests").fetchone()[0] == 0
    finally:
        new_node.close()


def test_database_error_mid_session_ends_politely(phone, node):
    phone.dial()
    node.store.write(lambda db: db.execute("ALTER TABLE ussd_sessions RENAME TO ussd_sessions_gone"))
    kind, screen = phone.send("1")
    assert kind == "END" and screen.startswith("Maaf, terjadi gangguan")
    kind, screen = Dialer(phone.client).dial()
    assert kind == "END" and screen.startswith("Maaf")


def test_callback_token_when_configured(monkeypatch, tmp_path):
    from gateway.app import create_app
    from gateway.config.loader import load_config
    from gateway.node import Node

    monkeypatch.setenv("SIMPUL_USSD_TOKEN", "s3cret-token")
    node = Node(load_config(overrides={"storage": {"path": str(tmp_path / "t.db")}, "jobs": {"enabled": False}}))
    try:
        client = create_app(config=node.config, node=node).test_client()
        form = {"sessionId": "tok", "phoneNumber": PHONE, "text": "", "serviceCode": "*123#"}
        for url in (ROUTE, ROUTE + "?token=wrong", ROUTE + "?token="):
            assert client.post(url, data=form).status_code == 403
        assert node.store.read().execute("SELECT count(*) FROM ussd_sessions").fetchone()[0] == 0
        kind, screen = check_reply(client.post(ROUTE + "?token=s3cret-token", data=form))
        assert kind == "CON" and screen.startswith("Layanan Desa")
    finally:
        node.close()
