"""Reference data bundled with the hub (see SOURCE.md in this folder)."""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

__all__ = ["classified_campsites"]


@lru_cache(maxsize=1)
def classified_campsites() -> list[dict[str, str | int]]:
    """Atout France classified campsites aggregated by département × stars × category (April 2026)."""
    text = resources.files("hub.reference").joinpath("campings_classes_par_departement.csv").read_text("utf-8")
    rows = []
    for r in csv.DictReader(text.splitlines()):
        rows.append({"dep": r["dep"], "reg": r["reg"], "classement": r["classement"], "categorie": r["categorie"],
                     "n_campings": int(r["n_campings"]), "n_emplacements": int(r["n_emplacements"]),
                     "capacite_personnes": int(r["capacite_personnes"])})
    return rows
