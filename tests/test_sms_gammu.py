"""Gammu SMSD: inbox file parsing, multipart, gammu-receive, sweep, and the real gammu-smsd round trip."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from channels.sms import providers, sender
from channels.sms.inbound import Handler
from channels.sms.providers import gammu
from gateway.cases import records as cases
from gateway.config.loader import load_config
from gateway.node import Node
from gateway.outbox import queue as outbound
from gateway.privacy import keys
from tests.conftest import SIMPUL, opened_fields, run_cli, write_config
from tests.sms_helpers import NIK, PHONE

HAVE_SMSD = shutil.which("gammu-smsd") is not None and shutil.which("gammu") is not None


def inbox_file(folder: Path, text: str, *, part: int = 0, stamp: str = "20261123_120000", serial: str = "00",
               sender: str = PHONE, encoding: str = "utf-16") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"IN{stamp}_{serial}_{sender}_{part:02d}.txt"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def gammu_node(tmp_path):
    config = load_config(overrides={
        "storage": {"path": str(tmp_path / "g.db")}, "jobs": {"enabled": False},
        "sms": {"provider": "gammu", "gammu": {"inbox_path": str(tmp_path / "inbox"),
                                               "outbox_path": str(tmp_path / "outbox")}}})
    node = Node(config)
    yield node
    node.close()


def test_inbox_names_and_encodings(tmp_path):
    parsed = gammu.parse_name(Path("IN20021130_021531_00_+45409000931640979_01.txt"))
    assert (parsed.date, parsed.time, parsed.serial, parsed.sender, parsed.part) == (
        "20021130", "021531", "00", "+45409000931640979", 1)
    assert gammu.parse_name(Path("OUT+6281234567890.txt")) is None
    assert gammu.parse_name(Path("IN2002_x.txt")) is None
    for encoding in ("utf-16", "utf-16-be", "utf-16-le", "utf-8"):
        assert gammu.decode("STATUS ABCDE-12345 ’é".encode(encoding)) == "STATUS ABCDE-12345 ’é"


def test_multipart_files_are_joined_in_part_order(tmp_path, gammu_node):
    inbox = tmp_path / "inbox"
    long_text = "jalan rusak #3 dekat masjid, " * 8
    second = inbox_file(inbox, long_text[150:], part=1)
    first = inbox_file(inbox, "ADUAN#" + long_text[:150], part=0)
    other = inbox_file(inbox, "HELP", serial="01", sender="+6285712345678")
    found, problems = gammu.resolve([second.name, first.name, str(other)], str(inbox))
    assert not problems
    results = gammu.receive(Handler(gammu_node), found)
    assert [(m.message_id.split(":")[0], o.kind) for m, o in results] == [(first.name, "submit"),
                                                                          (other.name, "help")]
    [row] = cases.list_requests(gammu_node.store.read())
    assert opened_fields(gammu_node, row)["message"] == " ".join(long_text.split())
    assert row["channel"] == "sms" and row["channel_message_id"].startswith(first.name + ":")
    # Processed files are deleted, not kept aside: the text must not stay on disk in clear.
    assert list(inbox.iterdir()) == []
    queued = outbound.list_outbound(gammu_node.store.read())
    assert {(r["to"], r["kind"]) for r in queued} == {(PHONE, "reply"), ("+6285712345678", "reply")}


def test_receiving_a_file_twice_stores_and_replies_once(tmp_path, gammu_node):
    inbox = tmp_path / "inbox"
    path = inbox_file(inbox, f"SKTM#{NIK}#Budi Santoso#sekolah anak")
    copy = path.read_bytes()
    handler = Handler(gammu_node)
    gammu.receive(handler, gammu.resolve([path.name], str(inbox))[0])
    path.write_bytes(copy)  # smsd (or a restore) puts the same file back
    results = gammu.receive(handler, gammu.resolve([path.name], str(inbox))[0])
    assert results[0][1].duplicate
    db = gammu_node.store.read()
    assert db.execute("SELECT count(*) FROM requests").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM outbound").fetchone()[0] == 1


def test_a_reused_file_name_with_other_text_is_a_new_message(tmp_path, gammu_node):
    """smsd reuses IN..._00_... once we removed the first file (seen with the real smsd)."""
    inbox = tmp_path / "inbox"
    handler = Handler(gammu_node)
    first = inbox_file(inbox, "STATUS ABCDE-12345")
    gammu.receive(handler, gammu.resolve([first.name], str(inbox))[0])
    second = inbox_file(inbox, f"DOMISILI#{NIK}#Siti#Krajan")
    assert second.name == first.name
    results = gammu.receive(handler, gammu.resolve([second.name], str(inbox))[0])
    assert results[0][1].kind == "submit" and not results[0][1].duplicate
    assert list(inbox.iterdir()) == []


def test_sweep_picks_up_what_run_on_receive_missed(tmp_path, gammu_node):
    inbox = tmp_path / "inbox"
    old = inbox_file(inbox, "INFO SKD", stamp="20261123_110000")
    fresh = inbox_file(inbox, "HELP", stamp="20261123_115959")
    past = time.time() - 120
    os.utime(old, (past, past))
    results = gammu.sweep(Handler(gammu_node), str(inbox))
    assert [m.files[0] for m, _ in results] == [old]
    assert fresh.exists() and not old.exists()
    binary = inbox / "IN20261123_110000_01_+6281234567890_00.bin"
    binary.write_bytes(b"\x00\x01wap")
    assert gammu.sweep(Handler(gammu_node), str(inbox), min_age=0)[0][0].files[0] == fresh
    assert not binary.exists() and list(inbox.iterdir()) == []  # not left to pile up


def test_outbox_files_are_utf16_with_our_row_id(tmp_path, gammu_node):
    gammu_node.store.write(lambda db: outbound.enqueue(db, to=PHONE, body="Kode: ABCDE-12345 ’", key="k1"))
    report = sender.send_due(gammu_node)
    assert report.sent == 1
    (path,) = (tmp_path / "outbox").iterdir()
    row = outbound.list_outbound(gammu_node.store.read())[0]
    assert path.name == row["provider_id"] and path.name.startswith("OUTC") and path.name.endswith(
        f"_{PHONE}_simpul{row['id']}.txt")
    assert path.read_bytes().decode("utf-16") == "Kode: ABCDE-12345 ’"


def test_gammu_pacing_default_is_modem_speed(tmp_path, gammu_node):
    for i in range(9):
        gammu_node.store.write(lambda db, i=i: outbound.enqueue(db, to=PHONE, body=f"m{i}", key=f"k{i}"))
    assert sender.send_due(gammu_node).sent == 6  # sms.gammu.per_minute = 6
    assert len(list((tmp_path / "outbox").iterdir())) == 6


def test_crashed_gammu_send_is_recovered_by_looking_at_the_folders(tmp_path, gammu_node):
    from gateway import clock
    from gateway.outbox import delivery

    for key in ("a", "b"):
        gammu_node.store.write(lambda db, key=key: outbound.enqueue(db, to=PHONE, body=key, key=key))
    provider = providers.build(gammu_node.config)
    claimed = [gammu_node.store.write(lambda db: delivery.claim_next(db, "gammu", 60)) for _ in range(2)]
    provider.send(claimed[0]["id"], PHONE, "a")  # handed over, then the process "died"
    sent_dir = tmp_path / "sent"
    sent_dir.mkdir()
    (written,) = (tmp_path / "outbox").iterdir()
    written.replace(sent_dir / written.name)  # smsd already sent it
    stale = "2000-01-01T00:00:00Z"
    gammu_node.store.write(lambda db: db.execute("UPDATE outbound SET last_attempt_at = ?", [stale]))
    assert sender.recover_stale(gammu_node, provider) == 2
    by_key = {r["key"]: r for r in outbound.list_outbound(gammu_node.store.read())}
    assert by_key["a"]["status"] == "sent" and by_key["a"]["provider_id"] == written.name
    assert by_key["b"]["status"] == "queued"  # never handed over: safe to send
    assert clock.parse(by_key["b"]["next_attempt_at"])


def test_gammu_receive_cli_reports_bad_names(tmp_path, gammu_node):
    cfg = write_config(tmp_path / "c.toml", f"""
[storage]
path = "{tmp_path / 'g.db'}"
[sms.gammu]
inbox_path = "{tmp_path / 'inbox'}"
""")
    ok = inbox_file(tmp_path / "inbox", "BAHASA EN")
    result = run_cli("--config", str(cfg), "sms", "gammu-receive", ok.name, "nonsense.txt", cwd=tmp_path)
    assert result.returncode == 1
    assert f"{ok.name}: language" in result.stdout and "nonsense.txt" in result.stderr
    assert gammu_node.pipeline.locale_for(PHONE) == "en"


SMSDRC = """
[gammu]
model = dummy
connection = none
device = {root}/device

[smsd]
service = files
inboxpath = {root}/inbox/
outboxpath = {root}/outbox/
sentsmspath = {root}/sent/
errorsmspath = {root}/error/
inboxformat = unicode
transmitformat = auto
receivefrequency = 1
loopsleep = 1
commtimeout = 1
checksecurity = 0
checkbattery = 0
checksignal = 0
debuglevel = 0
logfile = {root}/smsd.log
runonreceive = {simpul} --config {root}/simpul.toml sms gammu-receive
"""


@pytest.fixture
def smsd(tmp_path):
    if not HAVE_SMSD:
        pytest.skip("gammu-smsd/gammu not installed (Debian packages gammu-smsd and gammu; `make test` installs them)")
    root = tmp_path
    for sub in ("device/sms/1", "device/sms/2", "device/sms/3", "device/sms/4", "device/sms/5",
                "inbox", "outbox", "sent", "error"):
        (root / sub).mkdir(parents=True)
    write_config(root / "simpul.toml", f"""
[storage]
path = "{root / 'node.db'}"
[sms]
provider = "gammu"
[sms.gammu]
inbox_path = "{root / 'inbox'}"
outbox_path = "{root / 'outbox'}"
""")
    # Provision first (as an installer would) so the test can open sealed fields with the recovery code.
    init = run_cli("--config", str(root / "simpul.toml"), "init-db", cwd=root)
    assert init.returncode == 0, init.stderr
    (root / "recovery.txt").write_text(init.stderr.strip().splitlines()[-1].strip() + "\n")
    smsdrc = root / "smsdrc"
    smsdrc.write_text(SMSDRC.format(root=root, simpul=SIMPUL))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL")}
    proc = subprocess.Popen(["gammu-smsd", "-c", str(smsdrc)], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield root, smsdrc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def incoming(smsdrc: Path, sender: str, text: str, length: int | None = None) -> None:
    args = ["gammu", "-c", str(smsdrc), "savesms", "TEXT", "-folder", "1", "-unread", "-sender", sender]
    if length:
        args += ["-len", str(length)]
    subprocess.run(args + ["-text", text], check=True, capture_output=True, timeout=30)


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def sent_texts(root: Path) -> dict[str, str]:
    return {p.name: p.read_bytes().decode("utf-16") for p in (root / "sent").iterdir()}


@pytest.mark.slow
def test_real_gammu_smsd_round_trip(smsd):
    root, smsdrc = smsd
    incoming(smsdrc, PHONE, f"DOMISILI#{NIK}#Siti Aminah#Dusun Krajan RT 02/03")
    replies = wait_for(lambda: sent_texts(root))
    assert replies, f"no reply reached sent/: {list((root / 'inbox').rglob('*'))} {list((root / 'outbox').iterdir())}"
    node = Node(load_config(root / "simpul.toml"))
    node._test_keys = keys.recover(node.store.read(), (root / "recovery.txt").read_text().strip())
    try:
        request = node.store.read().execute(
            "SELECT tracking_code, phone, channel, channel_message_id FROM requests").fetchone()
        assert request[1:3] == (PHONE, "sms") and request[3].startswith("IN")
        file_name = request[3].split(":")[0]
        (name, text), = replies.items()
        assert f"_{PHONE}_simpul" in name
        assert text.startswith("Permohonan Surat Keterangan Domisili diterima") and request[0] in text
        assert not (root / "inbox" / file_name).exists() and not (root / "inbox" / "done").exists()
        # Check status by SMS, long multipart complaint too: replies go out the same way.
        incoming(smsdrc, PHONE, f"STATUS {request[0]}")
        incoming(smsdrc, PHONE, "ADUAN#" + "lampu jalan di dusun krajan mati sejak minggu lalu, " * 5, length=400)
        replies = wait_for(lambda: len(sent_texts(root)) >= 3 and sent_texts(root))
        texts = sorted(replies.values())
        assert any(t.startswith(f"Permohonan {request[0]} (Surat Keterangan Domisili): diterima") for t in texts)
        assert sum(t.startswith("Permohonan Pengaduan diterima") for t in texts) == 1
        rows = cases.list_requests(node.store.read(), service="ADUAN")
        message = opened_fields(node, rows[0])["message"] if len(rows) == 1 else ""
        assert "mati sejak minggu lalu" in message and len(message) > 200
        statuses = {r["status"] for r in outbound.list_outbound(node.store.read())}
        assert statuses == {"sent"}
        # Nothing smsd or Simpul left in the spool folders (or anywhere under the root but the
        # database) holds the typed NIK, name or address; the database holds them only sealed.
        node.close()
        for path in (p for p in root.rglob("*") if p.is_file()):
            data = path.read_bytes()
            texts = [data] + ([data.decode("utf-16", "ignore").encode()] if b"\x00" in data else [])
            for value in (NIK, "Siti Aminah", "Dusun Krajan", "mati sejak minggu lalu"):
                if path.parent.name.isdigit() and path.parent.parent.name == "sms":
                    continue  # the dummy modem's own SIM storage (a real modem is emptied by smsd)
                assert not any(value.encode() in t for t in texts), (value, path.relative_to(root))
    finally:
        node.close()


def test_a_file_the_sweep_already_processed_and_deleted_is_not_a_problem(tmp_path, gammu_node):
    """RunOnReceive can name a file the sweep took first: it is gone (deleted), and that is fine."""
    inbox = tmp_path / "inbox"
    handler = Handler(gammu_node)
    path = inbox_file(inbox, f"DOMISILI#{NIK}#Siti Aminah#Dusun Krajan")
    gammu.receive(handler, gammu.resolve([path.name], str(inbox))[0])
    assert not path.exists()
    found, problems = gammu.resolve([path.name], str(inbox), handler.seen_file)
    assert found == [] and problems == []
    found, problems = gammu.resolve(["IN20261123_120000_07_+6281234567890_00.txt"], str(inbox), handler.seen_file)
    assert found == [] and [p.render("en") for p in problems] == [
        "IN20261123_120000_07_+6281234567890_00.txt: no such file"]


def _sent_node(tmp_path):
    config = load_config(overrides={
        "storage": {"path": str(tmp_path / "s.db")}, "jobs": {"enabled": False},
        "sms": {"provider": "gammu", "gammu": {"outbox_path": str(tmp_path / "outbox"),
                                               "sent_path": str(tmp_path / "sent")}}})
    return Node(config)


def test_our_sent_texts_leave_gammus_sent_folder_once_recorded(tmp_path):
    from gateway.outbox import delivery

    node = _sent_node(tmp_path)
    try:
        for key in ("a", "b", "c"):
            node.store.write(lambda db, key=key: outbound.enqueue(db, to=PHONE, body=f"Kode {key}", key=key))
        provider = providers.build(node.config)
        claimed = [node.store.write(lambda db: delivery.claim_next(db, "gammu", 60)) for _ in range(2)]
        for row in claimed:
            provider.send(row["id"], PHONE, row["body"])
        node.store.write(lambda db: delivery.mark_sent(db, claimed[0]["id"], "x", forget_body=True))
        sent = tmp_path / "sent"
        sent.mkdir()
        for path in (tmp_path / "outbox").iterdir():  # smsd sent both
            path.replace(sent / path.name)
        foreign = sent / "OUTC20261123_120000_00_+628111_operator.txt"
        foreign.write_bytes("bukan dari simpul".encode("utf-16"))
        unknown = sent / "OUTC20261123_120000_00_+628111_simpul999.txt"
        unknown.write_bytes(b"x")

        # "b" is still `sending` (its sender died before the ack): its file is the only proof it went
        assert gammu.forget_sent(node) == 1
        names = {p.name for p in sent.iterdir()}
        assert not any(n.endswith(f"_simpul{claimed[0]['id']}.txt") for n in names)
        assert any(n.endswith(f"_simpul{claimed[1]['id']}.txt") for n in names)
        assert {foreign.name, unknown.name} <= names  # not ours, or no row says it went: left alone

        # The next pass: recovery finds "b" handed over (no second send), then its file goes too;
        # "c" is sent now and its file waits in the outbox for smsd.
        stale = "2000-01-01T00:00:00Z"
        node.store.write(lambda db: db.execute("UPDATE outbound SET last_attempt_at = ? WHERE status = 'sending'",
                                               [stale]))
        report = sender.send_due(node)
        assert (report.recovered, report.forgotten, report.sent) == (1, 1, 1)
        assert {p.name for p in sent.iterdir()} == {foreign.name, unknown.name}
        rows = outbound.list_outbound(node.store.read())
        assert [r["status"] for r in rows] == ["sent", "sent", "sent"]
        assert len(list((tmp_path / "outbox").iterdir())) == 1
    finally:
        node.close()


def test_without_sent_path_gammus_folder_is_left_alone(tmp_path, gammu_node):
    gammu_node.store.write(lambda db: outbound.enqueue(db, to=PHONE, body="Kode", key="k"))
    sender.send_due(gammu_node)
    sent = tmp_path / "sent"
    sent.mkdir()
    for path in (tmp_path / "outbox").iterdir():
        path.replace(sent / path.name)
    assert gammu.forget_sent(gammu_node) == 0 and len(list(sent.iterdir())) == 1


@pytest.mark.slow
def test_real_gammu_smsd_sent_folder_is_emptied_of_our_texts(smsd):
    root, smsdrc = smsd
    config = root / "simpul.toml"
    config.write_text(config.read_text() + f'sent_path = "{root / "sent"}"\n')
    incoming(smsdrc, PHONE, f"DOMISILI#{NIK}#Siti Aminah#Dusun Krajan RT 02/03")
    assert wait_for(lambda: sent_texts(root)), "no reply reached sent/"
    out = run_cli("--config", str(config), "sms", "send-queued", cwd=root)
    assert out.returncode == 0, out.stderr
    assert list((root / "sent").iterdir()) == []
    node = Node(load_config(config))
    try:
        rows = outbound.list_outbound(node.store.read())
        assert [(r["status"], r["body"]) for r in rows] == [("sent", "")]
    finally:
        node.close()


def test_a_sent_path_that_is_not_a_folder_is_reported_and_sending_goes_on(tmp_path, caplog):
    (tmp_path / "sent").write_text("not a folder")  # a typo in sms.gammu.sent_path
    node = _sent_node(tmp_path)
    try:
        node.store.write(lambda db: outbound.enqueue(db, to=PHONE, body="Kode", key="k"))
        with caplog.at_level("WARNING", logger="channels.sms.sender"):
            report = sender.send_due(node)
        assert (report.forgotten, report.sent) == (0, 1)
        assert "gammu sent folder not readable" in caplog.text and PHONE not in caplog.text
        assert [r["status"] for r in outbound.list_outbound(node.store.read())] == ["sent"]
    finally:
        node.close()
