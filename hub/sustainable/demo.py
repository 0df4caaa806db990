"""The sustainable-tourism part of ``passerelle demo``: the three providers' generated datasets and their metadata.

``PROVIDERS`` maps each demo provider node (config/demo/<name>.toml) to the datasets it publishes; each file is
generated (labelled synthetic) and published with the metadata below through ``POST /api/datasets/<id>/publish``.
Each dataset cites its declared schema (hub/schemas) in ``conforms_to``, so the provider publishes it through the
collection pipeline (validated, identifiers pseudonymised with the provider's key, Parquet), as the campsite
federation does its bookings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.schemas import load_schema
from hub.sustainable.inputs import INPUT_SCHEMAS

__all__ = ["PROVIDERS", "DATASETS", "generate_provider", "generate_sources"]

_OFFERS = lambda ident: [  # noqa: E731 - one offer pair per dataset, as the campsite federation's
    {"template": "members-statistical-use", "id": f"urn:passerelle:offer:{ident}:statistiques"},
    {"template": "no-raw-redistribution", "id": f"urn:passerelle:offer:{ident}:usage"}]


def _meta(title_fr: str, title_en: str, desc_fr: str, keywords: list[str], frequency: str, ident: str,
          schema_iri: str) -> dict[str, Any]:
    return {"title": {"fr": title_fr + " (synthétique)", "en": title_en + " (synthetic)"},
            "description": {"fr": desc_fr + " Données SYNTHÉTIQUES de démonstration.",
                            "en": title_en + ". SYNTHETIC demo data."},
            "keywords": {"fr": keywords, "en": keywords}, "themes": ["ECON", "ENVI"], "spatial": ["FR"],
            "frequency": frequency, "conforms_to": [schema_iri], "offer_templates": _OFFERS(ident)}


def _schema(kind: str) -> str:
    """The IRI of the declared schema of an input kind (what ``dct:conformsTo`` cites)."""
    return load_schema(INPUT_SCHEMAS[kind]).iri


DATASETS: dict[str, dict[str, Any]] = {
    "energie-hebergements": _meta(
        "Énergie, eau et nuitées mensuelles des hébergements", "Monthly energy, water and nights of accommodation",
        "Consommation d'énergie (kWh), d'eau (m³) et nuitées par établissement et par mois, identifiants "
        "pseudonymisés, département, type d'hébergement, écolabel.", ["énergie", "eau", "nuitées", "écolabel"],
        "MONTHLY", "energie-hebergements", _schema("energy")),
    "emploi-touristique": _meta(
        "Emploi salarié de l'hébergement et de la restauration", "Salaried jobs in accommodation and food services",
        "Emplois salariés NAF 55-56 et emploi salarié total par département et par trimestre.",
        ["emploi", "hébergement", "restauration"], "QUARTERLY", "emploi-touristique",
        _schema("employment")),
    "arrivees-nuitees": _meta(
        "Arrivées et nuitées par pays de résidence", "Arrivals and nights by country of residence",
        "Arrivées et nuitées des résidents et non-résidents par pays × région × mois.",
        ["arrivées", "nuitées", "clientèle internationale"], "MONTHLY", "arrivees-nuitees",
        _schema("arrivals")),
    "sejours-transport": _meta(
        "Séjours par mode de transport et distance", "Trips by transport mode and distance band",
        "Séjours, kilomètres et nuitées par mode de transport × tranche de distance × région × mois.",
        ["transport", "mobilité", "séjours"], "MONTHLY", "sejours-transport", _schema("trips")),
}
# provider node → (dataset id, input kind of compute_sustainable)
PROVIDERS = {"hebergeurs": [("energie-hebergements", "energy")], "emploi": [("emploi-touristique", "employment")],
             "frequentation": [("arrivees-nuitees", "arrivals"), ("sejours-transport", "trips")]}


def generate_provider(name: str, out: Path, establishments: int = 300, seed: int = 0) -> dict[str, Path]:
    """The files one demo provider publishes (Parquet, labelled synthetic), generated once into ``out``; keyed by
    the input kind of ``compute_sustainable``."""
    from hub.generate.arrivals import generate_arrivals
    from hub.generate.employment import generate_employment
    from hub.generate.energy import generate_energy
    if name not in PROVIDERS:
        raise ValueError(f"unknown demo provider {name!r}; expected one of {', '.join(PROVIDERS)}")
    out = Path(out)
    paths = {kind: out / f"{kind}.parquet" for _, kind in PROVIDERS[name]}
    if not all(p.exists() for p in paths.values()):
        if name == "hebergeurs":
            generate_energy(out, establishments=establishments, seed=seed)
        elif name == "emploi":
            generate_employment(out, seed=seed)
        else:
            generate_arrivals(out, seed=seed)
    return paths


def generate_sources(out: Path, establishments: int = 300, seed: int = 0) -> dict[str, Path]:
    """The four input files (Parquet, labelled synthetic), generated once into ``out``."""
    paths: dict[str, Path] = {}
    for name in PROVIDERS:
        paths.update(generate_provider(name, out, establishments=establishments, seed=seed))
    return paths
