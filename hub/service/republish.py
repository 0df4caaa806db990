"""Re-publication: each région's slice of the barometer as a DCAT dataset of the hub, offered to that région only.

The offer is the ``territory-bound`` template for ``REG-xx``: the catalogue shows it only to members whose
credential territory contains the région, so a région sees, negotiates and pulls its own indicators and nothing
else. Republishing after a recompute gives the dataset a new version (the file's sha256 changed).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from policies import territory

__all__ = ["dataset_id", "offer_id", "slice_metadata", "publish_slices"]

LICENCE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"


def dataset_id(region: str) -> str:
    """``REG-76`` → ``barometre-campings-reg-76``."""
    return f"barometre-campings-{region.lower()}"


def offer_id(region: str) -> str:
    return f"urn:passerelle:offer:barometre-campings:{region}:territoire"


def slice_metadata(node: Any, region: str, snapshot: dt.date, run_id: int, weeks: tuple[dt.date, dt.date] | None
                   ) -> dict[str, Any]:
    """The ``[datasets.<id>]`` mapping of a région's slice (what ``publish_dataset`` takes)."""
    reg = territory.region(region)
    if reg is None:
        raise ValueError(f"unknown région {region!r}")
    org = node.config.model.organisation.legal_name
    day = snapshot.strftime("%d/%m/%Y")
    meta: dict[str, Any] = {
        "title": {"fr": f"Baromètre des campings — {reg.name}",
                  "en": f"Campsite barometer — {reg.name}"},
        "description": {
            "fr": (f"Indicateurs hebdomadaires du baromètre des campings pour la région {reg.name} et ses "
                   "départements : taux d'occupation réalisé et à date, écart à N-1 sur panel constant, prise de "
                   "réservations, nuitées, arrivées, durée moyenne de séjour, clientèle étrangère par pays, délai "
                   "de réservation, annulations. Secret statistique appliqué (au moins 3 campings, aucun au-delà "
                   "de 85 %, suppression secondaire) : les cellules masquées ont status = suppressed et aucune "
                   "valeur. Un seul fichier CSV ; la colonne « table » nomme le tableau d'origine."),
            "en": (f"Weekly campsite barometer indicators for {reg.name} and its départements (occupancy, pace "
                   "vs last year on a constant panel, pick-up, nights, arrivals, length of stay, country mix, lead "
                   "time, cancellations), with statistical disclosure control; suppressed cells are marked."),
        },
        "themes": ["ECON", "REGI"],
        "keywords": {"fr": ["tourisme", "camping", "baromètre", "taux d'occupation"],
                     "en": ["tourism", "campsite", "barometer", "occupancy"]},
        "spatial": [f"REG-{reg.code}"],
        "temporal_resolution": "P1W",
        "frequency": "WEEKLY",
        "licence": LICENCE,
        "access_rights": "RESTRICTED",
        "publisher": {"name": {"fr": org, "en": org}, "type": "NationalAuthority",
                      "iri": f"{node.public_url}/#organisation"},
        "contact": {"name": "Baromètre des campings", "url": f"{node.public_url}/barometre"},
        "version_notes": {"fr": f"Instantané du {day} (calcul n° {run_id}).",
                          "en": f"Snapshot of {snapshot.isoformat()} (computation {run_id})."},
        "distribution": {"identifier": "csv", "title": {"fr": f"Indicateurs {reg.name} (CSV)",
                                                        "en": f"Indicators {reg.name} (CSV)"}},
        "offer_templates": [{"template": "territory-bound", "id": offer_id(f"REG-{reg.code}"),
                             "territory": f"REG-{reg.code}"}],
    }
    if weeks is not None:
        meta["temporal"] = {"start": weeks[0].isoformat(), "end": (weeks[1] + dt.timedelta(days=6)).isoformat()}
    return meta


def publish_slices(node: Any, slices: dict[str, Path], snapshot: dt.date, run_id: int,
                   weeks: tuple[dt.date, dt.date] | None = None, service: Any = None) -> dict[str, dict[str, Any]]:
    """Publish every région's slice; returns ``{REG-xx: {dataset, version, changed, sha256}}``."""
    from connector.publishing import publish_dataset
    out: dict[str, dict[str, Any]] = {}
    for region, path in sorted(slices.items()):
        ident = dataset_id(region)
        result = publish_dataset(node, ident, file=path, service=service,
                                 metadata=slice_metadata(node, region, snapshot, run_id, weeks))
        d = result.dataset
        out[region] = {"dataset": ident, "version": d.version, "changed": result.changed,
                       "sha256": d.distributions[0].sha256 if d.distributions else None}
    return out
