"""The hub's sustainable-tourism service: compute from the providers' files, keep every run, re-publish by région.

A run's folder (``<data_dir>/tourisme-durable/run-<n>``) holds one Parquet and one CSV per table, each région's
slice (CSV) and ``run.json`` (inputs with sha256, snapshot id, indicator definitions, publications). It is written
under a temporary name and renamed once complete. The current run is the newest complete one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from hub.sustainable.catalogue import INDICATORS, TABLES, indicator_json
from hub.sustainable.compute import compute_sustainable, snapshot_of, suppressed_count
from policies import territory

__all__ = ["SustainableService", "regional_slice", "dataset_id", "offer_id", "slice_metadata"]

LICENCE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"


def dataset_id(region: str) -> str:
    """``REG-76`` → ``tourisme-durable-reg-76``."""
    return f"tourisme-durable-{region.lower()}"


def offer_id(region: str) -> str:
    return f"urn:passerelle:offer:tourisme-durable:{region}:territoire"


def regional_slice(tables: dict[str, pa.Table], region: str) -> pa.Table:
    """Every row of every table about ``region`` or its départements, marked by ``table`` (suppressed stay hidden)."""
    reg = territory.region(region)
    if reg is None:
        raise ValueError(f"unknown région {region!r}")
    codes = pa.array([f"REG-{reg.code}"] + [f"DEP-{d.code}" for d in territory.departements_of(reg.code)])
    parts = []
    for name in TABLES:
        t = tables[name]
        t = t.filter(pc.is_in(t.column("geo_code"), value_set=codes))
        parts.append(t.add_column(0, "table", pa.array([name] * t.num_rows, pa.string()))
                     .replace_schema_metadata(None))
    return pa.concat_tables(parts, promote_options="default")


def slice_metadata(node: Any, region: str, run: dict[str, Any]) -> dict[str, Any]:
    reg = territory.region(region)
    assert reg is not None
    org = node.config.model.organisation.legal_name
    return {
        "title": {"fr": f"Tableau de bord du tourisme durable — {reg.name}",
                  "en": f"Sustainable tourism dashboard — {reg.name}"},
        "description": {
            "fr": (f"Indicateurs du tourisme durable pour la région {reg.name} et ses départements, sur trois "
                   "piliers : économique (arrivées internationales, saisonnalité), social (contribution à l'emploi, "
                   "intensité touristique), environnemental (énergie et eau par nuitée, évolution par rapport à "
                   "l'année de référence, nuitées écolabellisées, empreinte carbone du transport). Secret "
                   "statistique sur les données d'établissements (au moins 3, aucun au-delà de 85 %). Calculé sur "
                   "des données SYNTHÉTIQUES de démonstration. Colonne « table » : tableau d'origine."),
            "en": (f"Sustainable tourism indicators for {reg.name} and its départements on three pillars; "
                   "disclosure control on establishment data; computed from SYNTHETIC demo data."),
        },
        "themes": ["ECON", "ENVI", "SOCI"],
        "keywords": {"fr": ["tourisme durable", "énergie", "emploi", "arrivées internationales"],
                     "en": ["sustainable tourism", "energy", "employment", "international arrivals"]},
        "spatial": [f"REG-{reg.code}"],
        "frequency": "MONTHLY",
        "licence": LICENCE,
        "access_rights": "RESTRICTED",
        "publisher": {"name": {"fr": org, "en": org}, "type": "NationalAuthority",
                      "iri": f"{node.public_url}/#organisation"},
        "contact": {"name": "Tableau de bord du tourisme durable", "url": f"{node.public_url}/tourisme-durable"},
        "version_notes": {"fr": f"Calcul n° {run['run']} sur l'instantané {run['snapshot']['id']}.",
                          "en": f"Computation {run['run']} on snapshot {run['snapshot']['id']}."},
        "distribution": {"identifier": "csv", "title": {"fr": f"Indicateurs {reg.name} (CSV)",
                                                        "en": f"Indicators {reg.name} (CSV)"}},
        "offer_templates": [{"template": "territory-bound", "id": offer_id(f"REG-{reg.code}"),
                             "territory": f"REG-{reg.code}"}],
    }


class SustainableService:
    """One per node process; ``republish``: publish each région's slice after a run."""

    def __init__(self, node: Any, *, engine: str = "duckdb", republish: bool = True, catalog: Any = None):
        self.node, self.engine, self.republish, self.catalog = node, engine, republish, catalog
        self._cache: tuple[str, dict[str, pa.Table]] | None = None

    @property
    def root(self) -> Path:
        return Path(self.node.data_dir) / "tourisme-durable"

    def compute(self, inputs: dict[str, str | Path], base_year: int | None = None) -> dict[str, Any]:
        """Compute, store and (if asked) re-publish; returns the run's manifest."""
        t0 = time.perf_counter()
        tables = compute_sustainable(inputs, self.engine, base_year=base_year)
        seconds = round(time.perf_counter() - t0, 3)
        runs = self._run_dirs()
        n = (int(runs[-1].name.split("-")[1]) + 1) if runs else 1
        directory = self.root / f"run-{n:05d}"
        manifest = {"run": n, "engine": self.engine, "snapshot": snapshot_of(inputs), "seconds": seconds,
                    "computed_at": self.node.clock.utcnow().isoformat(),
                    "tables": {k: {"rows": t.num_rows, "suppressed": suppressed_count(t)} for k, t in tables.items()},
                    "indicators": [indicator_json(i) for i in INDICATORS], "published": None}
        self._write(directory, tables, manifest)
        if self.republish:
            manifest["published"] = self.publish(directory, manifest)
            (directory / "run.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str),
                                                encoding="utf-8")
        self._cache = (directory.name, tables)
        return manifest

    def _write(self, directory: Path, tables: dict[str, pa.Table], manifest: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{directory.name}-{uuid.uuid4().hex}.partial"
        (tmp / "regions").mkdir(parents=True)
        try:
            for name, t in tables.items():
                pq.write_table(t, tmp / f"{name}.parquet")
                pacsv.write_csv(t, tmp / f"{name}.csv")
            for reg in sorted({c for c in tables["energy"].column("geo_code").to_pylist() if c.startswith("REG-")}
                              | {c for c in tables["arrivals"].column("geo_code").to_pylist()
                                 if c.startswith("REG-")}):
                if territory.region(reg) is not None:
                    pacsv.write_csv(regional_slice(tables, reg), tmp / "regions" / f"{reg}.csv")
            (tmp / "run.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str),
                                          encoding="utf-8")
            os.replace(tmp, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def publish(self, directory: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        from catalog import MetadataError
        from connector.publishing import publish_dataset
        out: dict[str, Any] = {}
        try:
            for path in sorted((directory / "regions").glob("REG-*.csv")):
                region = path.stem
                r = publish_dataset(self.node, dataset_id(region), file=path, service=self.catalog,
                                    metadata=slice_metadata(self.node, region, manifest))
                out[region] = {"dataset": dataset_id(region), "version": r.dataset.version, "changed": r.changed}
        except MetadataError as e:
            out["error"] = str(e)
        return out

    def _run_dirs(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_dir() and p.name.startswith("run-")
                      and (p / "run.json").is_file())

    def current(self) -> dict[str, Any] | None:
        runs = self._run_dirs()
        if not runs:
            return None
        m = json.loads((runs[-1] / "run.json").read_text(encoding="utf-8"))
        m["result_dir"] = str(runs[-1])
        return m

    def tables(self, run: dict[str, Any]) -> dict[str, pa.Table]:
        directory = Path(run["result_dir"])
        if self._cache and self._cache[0] == directory.name:
            return self._cache[1]
        tables = {n: pq.read_table(directory / f"{n}.parquet") for n in TABLES}
        self._cache = (directory.name, tables)
        return tables


