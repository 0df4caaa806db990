"""The sustainable-tourism inputs have declared, versioned schemas: the generators write files that conform, the
providers' catalogue entries cite them, and the hub refuses a file that does not conform, naming row and column."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub.schemas import load_schema, schema_by_iri, schema_names
from hub.sustainable.inputs import INPUT_SCHEMAS, InputRefused, check_input, check_inputs

KINDS = ("energy", "employment", "arrivals", "trips")


def test_the_loader_finds_every_bundled_schema() -> None:
    folder = Path(__file__).resolve().parents[2] / "hub" / "schemas"
    assert set(schema_names()) == {p.stem for p in folder.glob("*.json")}
    assert set(INPUT_SCHEMAS.values()) <= set(schema_names())
    for kind, name in INPUT_SCHEMAS.items():
        s = load_schema(name)
        assert s.iri == f"https://w3id.org/passerelle/schemas/{name}/{s.version}" and s.version == "1.0.0"
        assert schema_by_iri(s.iri) is s and s.primary_key, kind


def test_each_input_schema_has_the_columns_the_indicators_read() -> None:
    from hub.sustainable.compute import REQUIRED
    for kind, columns in REQUIRED.items():
        assert set(columns) <= set(load_schema(INPUT_SCHEMAS[kind]).names), kind
    energy = load_schema("accommodation-energy")
    assert energy.field("establishment_pid").pseudonymise == "establishment"  # re-keyed by the provider
    assert energy.field("dep_code").codelist == "insee:departement"


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_each_generator_writes_files_that_conform(tmp_path: Path, fmt: str) -> None:
    from hub.generate.arrivals import generate_arrivals
    from hub.generate.employment import generate_employment
    from hub.generate.energy import generate_energy
    made = {}
    for res in (generate_energy(tmp_path, establishments=30, years=(2025,), seed=4, fmt=fmt),
                generate_employment(tmp_path, years=(2025,), seed=4, fmt=fmt),
                generate_arrivals(tmp_path, years=(2025,), seed=4, fmt=fmt)):
        made.update(res.files)
        manifest = json.loads(res.manifest.read_text(encoding="utf-8"))
        for name, entry in manifest["files"].items():
            assert entry["conformsTo"] == load_schema(INPUT_SCHEMAS[name]).iri
    assert set(made) == set(KINDS)
    for kind, path in made.items():
        check = check_input(kind, path)
        assert check.ok, check.message()
        assert check.rows == (pq.read_metadata(path).num_rows if fmt == "parquet"
                              else len(path.read_text(encoding="utf-8").splitlines()) - 1) > 0
        if fmt == "parquet":
            meta = pq.read_schema(path).metadata
            assert meta[b"conformsTo"].decode() == load_schema(INPUT_SCHEMAS[kind]).iri
            assert meta[b"synthetic"] == b"true"


def test_the_hand_made_set_conforms(small: dict[str, Path]) -> None:
    assert all(c.ok for c in check_inputs(small).values())


def test_a_broken_csv_is_refused_naming_row_and_column(tmp_path: Path) -> None:
    from hub.generate.energy import generate_energy
    path = generate_energy(tmp_path, establishments=5, years=(2025,), seed=1, fmt="csv").files["energy"]
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].replace('"', "").split(",")
    cells = lines[3].split(",")  # spreadsheet row 4 (the header is row 1)
    cells[header.index("nights")] = "beaucoup"
    lines[3] = ",".join(cells)
    cells = lines[6].split(",")  # row 7
    cells[header.index("dep_code")] = '"99"'
    lines[6] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputRefused) as e:
        check_inputs({"energy": path}, tmp_path / "quarantine")
    msg = str(e.value)
    assert f"energy file {path} does not conform to accommodation-energy 1.0.0" in msg
    assert "row 4, column nights ('beaucoup'): not an integer" in msg
    assert "row 7, column dep_code ('99'): not an INSEE département code" in msg
    report = e.value.checks["energy"].quarantine / "report.json"
    assert json.loads(report.read_text(encoding="utf-8"))["report"]["counts"] == {"insee_code": 1, "type": 1}


def test_a_broken_parquet_is_refused_naming_row_column_and_rule(tmp_path: Path, generated: dict[str, Path]) -> None:
    t = pq.read_table(generated["employment"])
    total = t.column("jobs_total").to_pylist()
    total[9] = 1  # fewer jobs in all than in accommodation and food services
    i = t.schema.get_field_index("jobs_total")
    pq.write_table(t.set_column(i, t.schema.field(i), pa.array(total, t.schema.field(i).type)), tmp_path / "e.parquet")
    with pytest.raises(InputRefused, match=r"row 11, column jobs_accommodation_food \('\d+'\): "
                                           r"jobs_accommodation_food must be <= jobs_total \(1\)"):
        check_inputs({"employment": tmp_path / "e.parquet"})


def test_a_file_of_another_kind_is_refused_by_its_columns(generated: dict[str, Path]) -> None:
    with pytest.raises(InputRefused, match="does not conform to visitor-trips 1.0.0: .*missing columns: "
                                           "transport_mode, distance_band"):
        check_inputs({"trips": generated["arrivals"]})


def test_duplicate_keys_are_refused(tmp_path: Path, small: dict[str, Path]) -> None:
    t = pq.read_table(small["arrivals"])
    pq.write_table(pa.concat_tables([t, t.slice(2, 1)]), tmp_path / "a.parquet")
    with pytest.raises(InputRefused, match=rf"row {t.num_rows + 2}, column month, reg_code, country_code: "
                                           r"same \(month, reg_code, country_code\) as row 4"):
        check_inputs({"arrivals": tmp_path / "a.parquet"})


def test_the_providers_datasets_cite_their_schema_and_publish_through_the_pipeline() -> None:
    from connector.collection import take_settings
    from hub.sustainable.demo import DATASETS, PROVIDERS
    for datasets in PROVIDERS.values():
        for ident, kind in datasets:
            schema = load_schema(INPUT_SCHEMAS[kind])
            assert DATASETS[ident]["conforms_to"] == [schema.iri], ident
            settings, problems = take_settings(copy.deepcopy(DATASETS[ident]))
            assert problems == [] and settings is not None and settings.schema is schema, ident


def test_every_transport_mode_of_the_schema_has_a_declared_factor_with_its_status() -> None:
    import csv
    ref = Path(__file__).resolve().parents[2] / "hub" / "reference" / "emission_factors_transport.csv"
    with open(ref, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    modes = load_schema("visitor-trips").field("transport_mode").constraints["enum"]
    assert sorted(r["mode"] for r in rows) == sorted(modes)
    assert all(r["status"] and float(r["kgco2e_per_passenger_km"]) > 0 for r in rows)
