"""Catalog formats: optional locales in format 2, and old nodes served a catalog they can read."""

import itertools
import tomllib

import pytest

from gateway.intake import catalog_format
from gateway.intake.catalog import CATALOG_FORMAT, check_text, read_catalog_text
from tests.syncenv import Regional

DEMO = read_catalog_text(None)[1]
OLD_NODE_LOCALES = {"id", "en"}


def old_node_problems(text: str) -> list[str]:
    """What a node from before catalog formats refuses: unknown top keys, texts not exactly id + en."""
    data = tomllib.loads(text)
    problems = [f"unknown key {k}" for k in data if k not in ("version", "services")]

    def walk(value, where):
        if isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")
        elif isinstance(value, dict):
            for k, v in value.items():
                if k in ("name", "description", "requirements", "fee", "processing_time", "label", "prompt") \
                        and isinstance(v, dict) and set(v) != OLD_NODE_LOCALES:
                    problems.append(f"{where}.{k}: locales {sorted(v)}")
                walk(v, f"{where}.{k}")

    walk(data["services"], "services")
    return problems


def test_demo_catalog_is_format_4_with_every_locale():
    catalog, errors = check_text(DEMO)
    assert errors == [] and catalog.format == CATALOG_FORMAT == 4
    for service in catalog.services:
        for loc in ("id", "en", "jv", "su"):
            assert service.name.get(loc), (service.code, loc)
            for f in service.fields:
                assert f.label.get(loc) and f.prompt.get(loc), (service.code, f.name, loc)
    assert old_node_problems(DEMO)  # as it stands, an old node would refuse it


def test_format_2_needs_only_id_and_falls_back_to_it():
    text = DEMO.replace(', en = "Domicile certificate", jv = "Surat Katrangan Domisili", '
                        'su = "Surat Katerangan Domisili"', "")
    catalog, errors = check_text(text)
    assert errors == []
    service = catalog.service("DOMISILI")
    assert set(service.name) == {"id"}
    for loc in ("en", "jv", "su"):
        assert service.text("name", loc) == "Surat Keterangan Domisili"
    missing_id = check_text(DEMO.replace('id = "Surat Keterangan Domisili", ', ""))[1]
    assert "services[0].name.id: missing text for shipped locale" in missing_id


def test_bad_formats_and_locales_are_reported():
    assert any(e.startswith("format: must be an integer from 1 to 4")
               for e in check_text(DEMO.replace("format = 4", "format = 5"))[1])
    assert any(e.startswith("format: ") for e in check_text(DEMO.replace("format = 4", 'format = "4"'))[1])
    errors = check_text(DEMO.replace('jv = "Gratis"', 'xx = "Gratis"', 1))[1]
    assert any(".fee.xx: unknown locale" in e for e in errors)
    errors = check_text(DEMO.replace('jv = "Gratis"', 'jv = ""', 1))[1]
    assert any(".fee.jv: must be a non-empty text" in e for e in errors)
    format_1 = check_text(DEMO.replace("format = 4\n", ""))[1]  # format 1 knows only id and en
    assert any(".name.jv: unknown locale (format 1: id, en)" in e for e in format_1)


def test_downgrade_to_format_1_is_what_an_old_node_accepts():
    text = DEMO.replace(', en = "Free"', "", 1)  # format 2 may leave en out; format 1 fills it from id
    old = catalog_format.text_for(text, 1)
    assert old_node_problems(old) == []
    catalog, errors = check_text(old)
    assert errors == [] and catalog.format == 1 and catalog.version == 1
    data = tomllib.loads(old)
    assert data["services"][0]["fee"] == {"id": "Gratis", "en": "Gratis"}
    assert "jv" not in old and "Basa" not in old
    new, _ = check_text(DEMO)
    assert [s.keywords for s in catalog.services] == [s.keywords for s in new.services]
    assert [[f.name for f in s.fields] for s in catalog.services] == [[f.name for f in s.sms_fields()]
                                                                      for s in new.services]
    assert catalog_format.text_for(DEMO, 4) == DEMO  # a node that reads format 4 gets the file as written
    two = catalog_format.text_for(DEMO, 2)  # format 2: no processing_days or reject_reasons, else all
    assert "processing_days" not in two and "reject_reasons" not in two and 'jv = "Gratis"' in two
    assert check_text(two)[1] == [] and check_text(two)[0].format == 2
    too_new = check_text(DEMO.replace("format = 4", "format = 2"))[1]
    assert "services[0].processing_days: needs format = 3" in too_new


def test_a_node_from_before_format_4_gets_no_choice_its_sms_would_ask_for():
    """Format 3 nodes split an SMS at every '#' to fill every field; ADUAN's optional category after
    the complaint text would then take a piece of a text that contains '#'."""
    three = catalog_format.text_for(DEMO, 3)
    catalog, errors = check_text(three)
    assert errors == [] and catalog.format == 3
    assert [f.name for f in catalog.service("ADUAN").fields] == ["message"]
    assert [f.name for f in catalog.service("DOMISILI").fields] == ["nik", "name", "address"]  # untouched
    refused = check_text(DEMO.replace("format = 4", "format = 3"))[1]
    assert any(e.startswith("services[") and e.endswith("fields: an optional choice after a text field "
                                                       "needs format = 4 (an SMS does not fill it)")
               for e in refused), refused


def test_dumped_toml_round_trips_awkward_text():
    data = {"version": 3, "services": [{"code": "X", "keywords": ["X"], "name": {"id": 'a "b" \\ c\nd #é'},
                                        "fields": [{"name": "n", "type": "text", "required": False,
                                                    "max_length": 5, "label": {"id": "N"}}]}]}
    assert tomllib.loads(catalog_format.dumps(data)) == data


def test_declared_format():
    assert catalog_format.declared_format({"version": 1}) == 1  # a node from before formats
    assert catalog_format.declared_format({"catalog_format": 2}) == 2
    assert catalog_format.declared_format({"catalog_format": 99}) == CATALOG_FORMAT
    for bad in ("2", None, True, 0, -1, 2.0):
        assert catalog_format.declared_format({"catalog_format": bad}) == 1
    assert catalog_format.declared_format("junk") == 1


@pytest.fixture
def regional(tmp_path, regional_engine):
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(DEMO.replace("version = 1", "version = 4", 1), encoding="utf-8")
    server = Regional(tmp_path / "regional", catalog=catalog, database_url=regional_engine.url).start()
    yield server
    server.stop()


def test_regional_server_serves_each_node_the_format_it_declares(regional):
    from sync.client.transport import Transport

    counter = itertools.count(1)
    secret = regional.add_node("desa-lama")
    link = Transport(regional.url, "desa-lama", secret, lambda at_least: max(next(counter), at_least))
    old = link.call("/catalog", {"version": 1})  # exactly what a node from before formats sends
    assert old["version"] == 4 and old_node_problems(old["toml"]) == []
    assert check_text(old["toml"])[0].version == 4
    new = link.call("/catalog", {"version": 1, "catalog_format": 2})
    assert new["format"] == 2 and 'jv = "Surat Katrangan Domisili"' in new["toml"]
    assert link.call("/catalog", {"version": 4, "catalog_format": 2})["toml"] is None
