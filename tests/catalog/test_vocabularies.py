from policies import territory

from catalog import vocabularies as vocab


def test_every_insee_territory_has_one_nuts_code_nested_in_its_region():
    for dep in territory.all_departements():
        nuts = vocab.nuts_of(dep.key)
        assert nuts is not None and nuts.level == 3, dep
        assert nuts.nuts.startswith(vocab.nuts_code(f"REG-{dep.region}")), dep
    for reg in territory.all_regions():
        assert vocab.nuts_of(reg.key) is not None, reg
    codes = [vocab.nuts_code(d.key) for d in territory.all_departements()]
    assert len(set(codes)) == len(codes) == 101


def test_known_nuts_codes():
    assert vocab.nuts_code("DEP-34") == "FRJ13"  # Hérault
    assert vocab.nuts_code("REG-76") == "FRJ"  # Occitanie
    assert vocab.nuts_code("DEP-13") == "FRL04"  # Bouches-du-Rhône
    assert vocab.nuts_code("DEP-2A") == "FRM01"
    assert vocab.nuts_code("DEP-976") == "FRY50"
    assert vocab.nuts_code("REG-11") == "FR1"
    assert vocab.nuts_iri("FRJ13") == "http://data.europa.eu/nuts/code/FRJ13"
    assert vocab.nuts_of("DEP-99") is None


def test_eu_themes_have_no_tourism_code():
    themes = vocab.codes("data-theme")
    assert {"ECON", "REGI", "ENVI", "SOCI", "ENER", "TRAN"} <= set(themes)
    assert "TOUR" not in themes and len(themes) == 14
    assert vocab.concept("data-theme", "ECON").label_fr == "Économie et finances"


def test_media_types_follow_file_types():
    assert vocab.media_type_of("PARQUET") == "application/vnd.apache.parquet"
    assert vocab.file_type_of_extension(".XLSX") == "XLSX"
    assert vocab.concept("frequency", "WEEKLY") is not None
