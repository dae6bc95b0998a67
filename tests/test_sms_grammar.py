"""The SMS grammar: pure parser driven by the catalog."""

from hypothesis import given, settings
from hypothesis import strategies as st

from channels.sms import grammar
from gateway.intake.catalog import load_catalog

CATALOG = load_catalog()


def parse(text):
    return grammar.parse(text, CATALOG)


def test_submit_with_alias_lowercase_and_spaces_around_hash():
    cmd = parse("  skd # 3201011708900001 #  Siti Aminah # Dusun Krajan RT 02/03 ")
    assert isinstance(cmd, grammar.Submit)
    assert cmd.service.code == "DOMISILI"
    assert cmd.values == {"nik": "3201011708900001", "name": "Siti Aminah", "address": "Dusun Krajan RT 02/03"}


def test_last_field_takes_the_rest_including_hash():
    cmd = parse("ADUAN#jalan rusak #3 dekat masjid")
    assert cmd.values == {"message": "jalan rusak #3 dekat masjid"}
    cmd = parse("DOMISILI#3201011708900001#Siti#Jl. Mawar #7 # RT 02")
    assert cmd.values["address"] == "Jl. Mawar #7 # RT 02"


def test_missing_fields_are_absent_not_empty():
    cmd = parse("DOMISILI#3201011708900001##")
    assert cmd.values == {"nik": "3201011708900001"}


def test_keyword_without_hash_asks_for_the_format():
    cmd = parse("SKTM 3201011708900001 Budi")
    assert isinstance(cmd, grammar.FormatHint) and cmd.service.code == "SKTM"


def test_status_forms():
    assert parse("STATUS abcde-12345") == grammar.Status("abcde-12345")
    assert parse("cek ABCDE12345") == grammar.Status("ABCDE12345")
    assert parse("STATUS#ABCDE-12345") == grammar.Status("ABCDE-12345")
    assert parse("status") == grammar.Status("")


def test_info_help_language():
    info = parse("info akta")
    assert isinstance(info, grammar.Info) and info.service.code == "LAHIR"
    assert parse("INFO DOMSILI") == grammar.Info(None, "DOMISILI")
    assert parse("INFO") == grammar.Info(None)
    for text in ("HELP", "bantuan", "", "   "):
        assert parse(text) == grammar.Help()
    assert parse("BAHASA EN") == grammar.Language("en")
    assert parse("language en") == grammar.Language("en")
    assert parse("Bahasa Indonesia") == grammar.Language("id")
    assert parse("BAHASA klingon") == grammar.Language(None)


def test_mistyped_keyword_gets_a_suggestion():
    cmd = parse("DOMSILI#3201011708900001#Siti#Krajan")
    assert isinstance(cmd, grammar.Unknown) and cmd.suggestion == "DOMISILI"
    assert parse("STATSU ABCDE-12345").suggestion == "STATUS"
    assert parse("halo pak kades") == grammar.Unknown(None)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_parser_never_raises(text):
    assert isinstance(parse(text), grammar.Command.__args__)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="#"), max_size=30), min_size=1, max_size=6),
       st.sampled_from(CATALOG.keywords()))
def test_hash_form_always_maps_fields_in_catalog_order(parts, keyword):
    cmd = parse("#".join([keyword, *parts]))
    service = CATALOG.by_keyword(keyword)
    assert isinstance(cmd, grammar.Submit) and cmd.service is service
    assert set(cmd.values) <= {f.name for f in service.fields}
