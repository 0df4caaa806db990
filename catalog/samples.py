"""Realistic tourism catalogues for the demo, the tests and the benchmarks (metadata only, no files).

``campsite_federation`` is the provider node of the demo (campsite bookings export), ``region_indicators`` a région
node re-publishing the hub's indicators for its territory, ``synthetic_catalogue`` a node with many datasets.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from policies import territory

from .metadata import catalogue_from_mapping, dataset_from_mapping
from .model import Catalogue
from .publishing import publish

__all__ = ["LICENCE_OUVERTE", "campsite_federation", "region_indicators", "synthetic_catalogue", "purpose_offer"]

LICENCE_OUVERTE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
PURPOSE_STATISTICS = "https://passerelle.example/purpose/official-statistics"


def purpose_offer(offer_iri: str, purpose: str = PURPOSE_STATISTICS, action: str = "use",
                  until: str | None = None) -> dict[str, Any]:
    """An offer permitting ``action`` for one purpose (and optionally until a date), in DSP compact form."""
    constraints: list[dict[str, Any]] = [{"leftOperand": "odrl:purpose", "operator": "eq", "rightOperand": purpose}]
    if until:
        constraints.append({"leftOperand": "odrl:dateTime", "operator": "lt",
                            "rightOperand": {"@value": until, "@type": "xsd:dateTime"}})
    return {"@id": offer_iri, "@type": "Offer", "permission": [{"action": action, "constraint": constraints}]}


def _sha(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def campsite_federation(now: datetime) -> Catalogue:
    """The campsite federation's node: a pseudonymised bookings export and a capacity inventory."""
    cat = catalogue_from_mapping({
        "participant_id": "did:web:campings.passerelle.example",
        "endpoint_url": "https://campings.passerelle.example/dsp/2025-1",
        "homepage": "https://campings.passerelle.example/",
        "title": {"fr": "Catalogue de la fédération de l'hôtellerie de plein air",
                  "en": "Campsite federation data catalogue"},
        "description": {"fr": "Réservations et capacités des campings adhérents, pseudonymisées à la source.",
                        "en": "Bookings and capacity of member campsites, pseudonymised at source."},
        "publisher": {"name": {"fr": "Fédération nationale de l'hôtellerie de plein air",
                               "en": "National campsite federation"},
                      "iri": "https://campings.passerelle.example/#federation", "type": "NonProfitOrganisation"},
        "contact": {"name": "Service données", "email": "donnees@campings.passerelle.example"},
        "licence": LICENCE_OUVERTE,
        "access_rights": "RESTRICTED",
    }, now)
    base = "https://campings.passerelle.example/offers/"
    bookings = {
        "title": {"fr": "Réservations des campings (export hebdomadaire)",
                  "en": "Campsite bookings (weekly export)"},
        "description": {"fr": "Une ligne par réservation : dates d'arrivée et de départ, type d'emplacement, nombre "
                              "de personnes, pays de résidence ; identifiants de campings pseudonymisés.",
                        "en": "One row per booking: arrival and departure dates, pitch type, party size, country "
                              "of residence; campsite identifiers pseudonymised."},
        "themes": ["ECON", "REGI"],
        "keywords": {"fr": ["tourisme", "hôtellerie de plein air", "réservations"],
                     "en": ["tourism", "campsites", "bookings"]},
        "spatial": ["FR", "REG-76", "DEP-34", "DEP-30", "REG-93", "DEP-13"],
        "temporal": {"start": date(2024, 1, 1), "end": date(2025, 12, 31)},
        "temporal_resolution": "P1D",
        "frequency": "WEEKLY",
        "conforms_to": ["https://passerelle.example/schemas/campsite-bookings/1.0"],
        "distributions": [
            {"identifier": "parquet", "file_type": "PARQUET", "byte_size": 48_213_554,
             "sha256": _sha("bookings.parquet")},
            {"identifier": "csv", "file_type": "CSV", "byte_size": 191_004_321, "sha256": _sha("bookings.csv")},
        ],
        "offers": [purpose_offer(base + "campings-reservations/statistics"),
                   purpose_offer(base + "campings-reservations/aggregate", action="aggregate")],
    }
    capacity = {
        "title": {"fr": "Capacité d'accueil des campings", "en": "Campsite capacity"},
        "description": {"fr": "Nombre d'emplacements par camping et par type, pseudonymisé.",
                        "en": "Number of pitches per campsite and type, pseudonymised."},
        "themes": ["ECON"],
        "keywords": {"fr": ["tourisme", "capacité"], "en": ["tourism", "capacity"]},
        "spatial": ["FR"],
        "temporal": {"start": "2025-01-01"},
        "frequency": "ANNUAL",
        "distributions": [{"identifier": "xlsx", "file_type": "XLSX", "byte_size": 802_113,
                           "sha256": _sha("capacity.xlsx")}],
        "offers": [purpose_offer(base + "campings-capacite/statistics")],
    }
    for ident, meta in (("campings-reservations", bookings), ("campings-capacite", capacity)):
        cat = publish(cat, meta, identifier=ident, now=now).catalogue
    return cat


def region_indicators(now: datetime, region: str = "76", name_fr: str = "Occitanie") -> Catalogue:
    """A région node publishing the indicators of its territory (one dataset per indicator family)."""
    host = f"region-{region}.passerelle.example"
    cat = catalogue_from_mapping({
        "participant_id": f"did:web:{host}",
        "endpoint_url": f"https://{host}/dsp/2025-1",
        "title": {"fr": f"Données touristiques de la région {name_fr}", "en": f"{name_fr} region tourism data"},
        "description": {"fr": "Indicateurs de fréquentation des campings de la région.",
                        "en": "Campsite occupancy indicators for the region."},
        "publisher": {"name": {"fr": f"Comité régional du tourisme {name_fr}", "en": f"{name_fr} tourism board"},
                      "iri": f"https://{host}/#crt", "type": "RegionalAuthority"},
        "contact": {"name": "Observatoire régional du tourisme", "url": f"https://{host}/contact"},
        "licence": LICENCE_OUVERTE,
        "access_rights": "PUBLIC",
        "spatial": [f"REG-{region}"],
    }, now)
    for ident, fr, en, freq in (("taux-occupation", "Taux d'occupation hebdomadaire des campings",
                                 "Weekly campsite occupancy rate", "WEEKLY"),
                                ("nuitees", "Nuitées par pays de résidence", "Nights by country of residence",
                                 "MONTHLY")):
        meta = {
            "title": {"fr": fr, "en": en},
            "description": {"fr": f"{fr}, par département, avec secret statistique appliqué.",
                            "en": f"{en}, by département, with statistical disclosure control applied."},
            "themes": ["ECON", "REGI"],
            "keywords": {"fr": ["tourisme", "indicateur"], "en": ["tourism", "indicator"]},
            "temporal": {"start": "2024-01-01", "end": "2025-06-30"},
            "temporal_resolution": "P1W" if freq == "WEEKLY" else "P1M",
            "frequency": freq,
            "conforms_to": [f"https://passerelle.example/schemas/indicators/{ident}/1.0"],
            "distributions": [{"identifier": "csv", "file_type": "CSV", "byte_size": 52_311,
                               "sha256": _sha(ident)}],
            "offers": [purpose_offer(f"https://{host}/offers/{ident}/use")],
        }
        cat = publish(cat, meta, identifier=ident, now=now).catalogue
    return cat


_THEMES = (("ECON",), ("ECON", "REGI"), ("REGI", "SOCI"), ("ENVI",), ("TRAN", "REGI"))
_FREQ = ("WEEKLY", "MONTHLY", "ANNUAL", "QUARTERLY")


def synthetic_catalogue(n_datasets: int, now: datetime, node: int = 0) -> Catalogue:
    """A node with ``n_datasets`` valid tourism datasets spread over départements (benchmarks, pagination)."""
    deps = territory.all_departements()
    host = f"node-{node}.passerelle.example"
    cat = catalogue_from_mapping({
        "participant_id": f"did:web:{host}", "endpoint_url": f"https://{host}/dsp/2025-1",
        "title": {"fr": f"Nœud {node}", "en": f"Node {node}"},
        "description": {"fr": "Catalogue de démonstration.", "en": "Demonstration catalogue."},
        "publisher": {"name": {"fr": f"Organisme {node}", "en": f"Organisation {node}"},
                      "iri": f"https://{host}/#org", "type": "LocalAuthority"},
        "contact": {"name": "Données", "email": f"data@{host}"},
        "licence": LICENCE_OUVERTE, "access_rights": "RESTRICTED",
    }, now)
    datasets = dict(cat.datasets)
    history = dict(cat.history)
    for i in range(n_datasets):
        dep = deps[(node * 7 + i) % len(deps)]
        ident = f"ds-{node}-{i:05d}"
        year = 2020 + i % 6
        d = dataset_from_mapping(ident, {
            "title": {"fr": f"Fréquentation touristique {dep.name} {year} n°{i}",
                      "en": f"Tourism attendance {dep.name} {year} #{i}"},
            "description": {"fr": f"Nuitées et arrivées en hébergement collectif, {dep.name}.",
                            "en": f"Nights and arrivals in collective accommodation, {dep.name}."},
            "themes": list(_THEMES[i % len(_THEMES)]),
            "keywords": {"fr": ["tourisme", "fréquentation"], "en": ["tourism", "attendance"]},
            "spatial": [f"DEP-{dep.code}"],
            "temporal": {"start": date(year, 1, 1), "end": date(year, 12, 31)},
            "frequency": _FREQ[i % len(_FREQ)],
            "conforms_to": ["https://passerelle.example/schemas/attendance/1.0"],
            "distributions": [{"identifier": "parquet", "file_type": "PARQUET", "byte_size": 10_000 + i,
                               "sha256": _sha(ident)}],
            "offers": [purpose_offer(f"https://{host}/offers/{ident}/statistics")],
        }, cat)
        d = replace(d, issued=now, modified=now)
        datasets[ident] = d
        history[ident] = (d,)
    return replace(cat, datasets=datasets, history=history, modified=now)
