"""Controlled vocabularies the catalogue validates against, read once from the bundled tables in ``catalog/data``.

EU Publications Office authority tables (data theme, frequency, access right, file type, language, country, planned
availability), ADMS publisher and licence types, IANA media types per file type, and the NUTS 2021 codes of the
French régions and départements (keyed by INSEE code, so ``policies.territory`` codes map to NUTS IRIs).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from policies import territory

__all__ = ["AUTHORITY", "SCHEME_TITLES", "Concept", "concept", "codes", "concept_iri", "scheme_iri", "media_type_of",
           "file_type_of_extension", "NutsRegion", "nuts_of", "nuts_code", "nuts_iri", "PUBLISHER_TYPES",
           "LICENCE_TYPES", "KNOWN_LICENCES", "place_concept", "NUTS_BASE", "COUNTRY_FRA"]

AUTHORITY = "http://publications.europa.eu/resource/authority/"
NUTS_BASE = "http://data.europa.eu/nuts/code/"
COUNTRY_FRA = AUTHORITY + "country/FRA"

#: titles of the EU authority tables we use (a ConceptScheme needs a ``dct:title`` in DCAT-AP)
SCHEME_TITLES: dict[str, str] = {
    "data-theme": "Data theme",
    "frequency": "Frequency",
    "access-right": "Access right",
    "file-type": "File type",
    "language": "Language",
    "country": "Country",
    "planned-availability": "Planned availability",
}

#: ADMS publisher types (http://purl.org/adms/publishertype/1.0), code → English label
PUBLISHER_TYPES: dict[str, str] = {
    "Academia-ScientificOrganisation": "Academia/Scientific organisation",
    "Company": "Company",
    "IndustryConsortium": "Industry consortium",
    "LocalAuthority": "Local authority",
    "NationalAuthority": "National authority",
    "NonGovernmentalOrganisation": "Non-governmental organisation",
    "NonProfitOrganisation": "Non-profit organisation",
    "RegionalAuthority": "Regional authority",
    "StandardisationBody": "Standardisation body",
    "SupraNationalAuthority": "Supra-national authority",
}

#: ADMS licence types (http://purl.org/adms/licencetype/1.0), code → English label
LICENCE_TYPES: dict[str, str] = {
    "Attribution": "Attribution",
    "ShareAlike": "Share alike",
    "PublicDomain": "Public domain",
    "RoyaltiesRequired": "Royalties required",
    "NonCommercialUseOnly": "Non-commercial use only",
}

#: licences we know how to describe (IRI → (label, ADMS licence types)); any other absolute IRI is accepted too
KNOWN_LICENCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "https://www.etalab.gouv.fr/licence-ouverte-open-licence/": ("Licence Ouverte / Open Licence 2.0", ("Attribution",)),
    AUTHORITY + "licence/CC_BY_4_0": ("Creative Commons Attribution 4.0", ("Attribution",)),
    "https://opendatacommons.org/licenses/odbl/1-0/": ("Open Database License 1.0", ("Attribution", "ShareAlike")),
}


@dataclass(frozen=True)
class Concept:
    """One concept of an EU authority table, with its labels in English and French."""

    scheme: str
    code: str
    label_en: str
    label_fr: str

    @property
    def iri(self) -> str:
        return concept_iri(self.scheme, self.code)


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("catalog.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@lru_cache(maxsize=1)
def _concepts() -> dict[tuple[str, str], Concept]:
    return {(r["scheme"], r["code"]): Concept(r["scheme"], r["code"], r["label_en"], r["label_fr"])
            for r in _rows("eu_vocabularies.csv")}


def scheme_iri(scheme: str) -> str:
    return AUTHORITY + scheme


def concept_iri(scheme: str, code: str) -> str:
    return f"{AUTHORITY}{scheme}/{code}"


def concept(scheme: str, code: str) -> Concept | None:
    """The bundled concept ``code`` of ``scheme`` (``"data-theme"``, ``"ECON"``), or None when unknown."""
    return _concepts().get((scheme, code))


def codes(scheme: str) -> list[str]:
    """Every bundled code of ``scheme``, in table order (used in error messages)."""
    return [c for (s, c) in _concepts() if s == scheme]


@lru_cache(maxsize=1)
def _media() -> tuple[dict[str, str], dict[str, str]]:
    rows = _rows("media_types.csv")
    return {r["file_type"]: r["media_type"] for r in rows}, {r["extension"]: r["file_type"] for r in rows}


def media_type_of(file_type: str) -> str | None:
    """IANA media type of an EU file-type code (``PARQUET`` → ``application/vnd.apache.parquet``)."""
    return _media()[0].get(file_type)


def file_type_of_extension(ext: str) -> str | None:
    """EU file-type code of a file extension (``.xlsx`` → ``XLSX``)."""
    return _media()[1].get(ext.lower())


@dataclass(frozen=True)
class NutsRegion:
    """A NUTS 2021 region matching one INSEE région or département."""

    key: str  # "REG-76" / "DEP-34"
    nuts: str  # "FRJ" / "FRJ13"
    level: int
    name: str

    @property
    def iri(self) -> str:
        return nuts_iri(self.nuts)


@lru_cache(maxsize=1)
def _nuts() -> dict[str, NutsRegion]:
    return {f"{r['kind']}-{r['insee']}": NutsRegion(f"{r['kind']}-{r['insee']}", r["nuts"], int(r["level"]), r["name"])
            for r in _rows("nuts2021_fr.csv")}


def nuts_of(code: str) -> NutsRegion | None:
    """The NUTS 2021 region of an INSEE territory code (``REG-76`` → FRJ, ``DEP-34`` → FRJ13), or None."""
    t = territory.parse_code(code)
    return _nuts().get(t.key) if t else None


def nuts_code(code: str) -> str | None:
    n = nuts_of(code)
    return n.nuts if n else None


def nuts_iri(nuts: str) -> str:
    return NUTS_BASE + nuts


def place_concept(code: str) -> tuple[str, str] | None:
    """(IRI, label) of a spatial code: ``FR`` → country table; ``REG-xx``/``DEP-xx`` → NUTS IRI."""
    if code == "FR":
        return COUNTRY_FRA, "France"
    n = nuts_of(code)
    return (n.iri, n.name) if n else None
