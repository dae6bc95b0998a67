import tomllib

from gateway.intake.catalog import check_text, load_catalog, read_catalog_text
from tests.conftest import run_cli, write_config


def test_demo_catalog_services_in_order_with_keywords():
    catalog = load_catalog()
    assert [s.code for s in catalog.services] == ["DOMISILI", "SKTM", "KTP", "LAHIR", "ADUAN"]
    assert [f.name for f in catalog.service("LAHIR").fields] == ["child_name", "birth_date", "mother_nik"]
    assert catalog.by_keyword("skd").code == "DOMISILI"
    assert catalog.by_keyword("akta").code == "LAHIR"
    assert catalog.by_keyword("Lapor").code == "ADUAN"
    assert [o.code for o in catalog.service("KTP").field("reason").options] == ["new", "lost", "damaged", "changed"]
    assert catalog.service("ADUAN").field("message").max_length == 480
    assert catalog.service("DOMISILI").sms_format("id") == "DOMISILI#NIK#NAMA#ALAMAT"
    assert catalog.service("DOMISILI").sms_format("en") == "DOMISILI#NIK#NAME#ADDRESS"
    # ADUAN's optional category follows its free text: SMS keeps "ADUAN#text", the others ask for it.
    category = catalog.service("ADUAN").field("category")
    assert category.type == "choice" and not category.required and not category.personal
    assert catalog.service("ADUAN").sms_format("id") == "ADUAN#PESAN"
    assert [f.name for f in catalog.service("ADUAN").sms_fields()] == ["message"]
    assert catalog.service("KTP").sms_fields() == list(catalog.service("KTP").fields)  # a required choice stays
    assert all(f.personal for f in catalog.service("DOMISILI").fields)


def test_validation_normalizes_and_reports_all_problems():
    catalog = load_catalog()
    clean, problems = catalog.validate(catalog.service("KTP"), {"nik": "3201011708900001", "name": "A", "reason": "Hilang"}, "id")
    assert problems == [] and clean["reason"] == "lost"
    _, problems = catalog.validate(catalog.service("LAHIR"), {"birth_date": "31-02-2020", "extra": "x"}, "en")
    assert [p.field for p in problems] == ["extra", "child_name", "birth_date", "mother_nik"]


def _demo():
    return tomllib.loads(read_catalog_text(None)[1])


def test_every_error_reported_with_location():
    text = read_catalog_text(None)[1]
    text = text.replace('type = "nik"', 'type = "nikk"', 1).replace('code = "SKTM"', 'code = "sktm"')
    text = text.replace('keywords = ["KTP", "PENGANTAR"]', 'keywords = ["KTP", "SKD"]')
    text = text.replace("format = 4\n", "")  # format 1: every text needs id and en
    text = text.replace('en = "Domicile certificate"', 'xx = "oops"')
    catalog, errors = check_text(text)
    assert catalog is None
    joined = "\n".join(errors)
    assert "services[0].fields[0].type: unknown type 'nikk'" in joined
    assert "services[1].code" in joined
    assert "services[2].keywords: keyword SKD already used by DOMISILI" in joined
    assert "services[0].name.en: missing text" in joined
    assert "services[0].name.xx: unknown locale" in joined


def test_structural_errors():
    assert check_text("version = 0\n")[1] == ["version: must be a positive integer",
                                             "services: must be a non-empty array of tables ([[services]])"]
    assert "TOML syntax" in check_text("[[services]\n")[1][0]
    _, errors = check_text('version = 2\n[[services]]\ncode = "X"\nname = "n"\ndescription = "d"\n'
                           '[[services.fields]]\nname = "c"\ntype = "choice"\nlabel = "C"\nprompt = "p"\n')
    assert errors == ["services[0].fields[0].options: a choice needs a non-empty list of options"]


def test_catalog_check_cli(tmp_path):
    ok = run_cli("catalog", "check", cwd=tmp_path)
    assert ok.returncode == 0 and "5" in ok.stdout
    bad = write_config(tmp_path / "cat.toml", read_catalog_text(None)[1].replace('type = "date"', 'type = "when"'))
    result = run_cli("catalog", "check", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "services[3].fields[1].type" in result.stderr and "cat.toml" in result.stderr
    missing = run_cli("catalog", "check", str(tmp_path / "none.toml"), cwd=tmp_path)
    assert missing.returncode == 2


def test_configured_catalog_is_used(tmp_path):
    text = read_catalog_text(None)[1].replace("version = 1", "version = 7")
    write_config(tmp_path / "cat.toml", text)
    write_config(tmp_path / "config.toml", '[catalog]\npath = "cat.toml"\n')
    result = run_cli("catalog", "check", cwd=tmp_path)
    assert result.returncode == 0 and "7" in result.stdout
