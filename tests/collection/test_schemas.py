import json

import pyarrow as pa
import pytest

from hub.schemas import SchemaError, load_schema, schema_by_iri, schema_names
from hub.schemas.loader import _parse

# tourism.md §5.2, in order: the indicator code reads these names.
BOOKING_COLUMNS = ["snapshot_date", "campsite_pid", "dep_code", "booking_pid", "booking_date", "status",
                   "cancel_date", "arrival_date", "departure_date", "stay_date", "nights", "unit_type", "adults",
                   "children", "country_code", "channel", "amount_eur", "residential"]


def test_booking_export_has_exactly_the_agreed_columns():
    s = load_schema("campsite-bookings")
    assert s.names == BOOKING_COLUMNS
    assert s.primary_key == ("snapshot_date", "booking_pid", "stay_date")
    assert s.field("nights").arrow_type == pa.int16()
    assert s.field("cancel_date").required is False and s.field("amount_eur").required is False


def test_capacity_and_dimension_columns():
    assert load_schema("campsite-capacity").names == ["snapshot_date", "campsite_pid", "dep_code", "date",
                                                       "unit_type", "units_available", "is_open"]
    dim = load_schema("campsite-dimension")
    assert dim.names == ["campsite_pid", "dep_code", "stars_band", "size_band", "opening_date", "closing_date"]
    assert dim.field("stars_band").constraints["enum"] == ["1-2", "3", "4-5", "unclassified"]


def test_every_schema_has_a_versioned_iri_usable_as_conformsTo():
    iris = set()
    for name in schema_names():
        s = load_schema(name)
        assert s.iri.startswith("https://") and s.iri.endswith("/" + s.version)
        assert schema_by_iri(s.iri) is s
        assert load_schema(s.iri) is s
        assert s.arrow_schema().metadata[b"conformsTo"] == s.iri.encode()
        iris.add(s.iri)
    assert len(iris) == len(schema_names())  # one IRI per schema
    assert {f"https://w3id.org/passerelle/schemas/campsite-{n}/1.0.0" for n in ("bookings", "capacity", "dimension")} <= iris


def test_identifier_columns_are_marked_for_pseudonymisation():
    s = load_schema("campsite-bookings")
    assert {f.name: f.pseudonymise for f in s.fields if f.pseudonymise} == {"campsite_pid": "campsite",
                                                                              "booking_pid": "booking"}


def test_unknown_schema_and_bad_descriptors_are_refused():
    with pytest.raises(SchemaError, match="unknown schema"):
        load_schema("hotel-bookings")
    desc = json.loads(json.dumps(load_schema("campsite-dimension").descriptor))
    desc["fields"][0]["type"] = "geopoint"
    desc["primaryKey"] = ["nope"]
    desc["rowRules"].append({"id": "x", "kind": "magic"})
    with pytest.raises(SchemaError) as e:
        _parse(desc)
    assert "geopoint" in str(e.value) and "nope" in str(e.value) and "magic" in str(e.value)
