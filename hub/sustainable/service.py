"""The hub's sustainable-tourism service: check the providers' files, compute, record every run, re-publish by région.

Each computation is a row of the hub's run table (``hub.service.records``, kind ``sustainable``): the input files
with their sha256 and the snapshot id over them, the engine and base year, when it started and ended, each table's
row count, the outcome and, for a failed run, why. The same files (same sha256s, engine and base year) are computed
once: a pull that lands unchanged files, or a second worker, finds the run already there. Before computing, every
input is checked against its declared schema (``hub.sustainable.inputs``); a file that does not conform fails the
run with the validator's row and column, and is kept in ``tourisme-durable/quarantine/``.

A run's folder (``<data_dir>/tourisme-durable/run-<id>``) holds one Parquet and one CSV per table, each région's
slice (CSV) and ``run.json`` (inputs with sha256, snapshot id, indicator definitions, publications). It is written
under a temporary name and renamed once complete. The current run is the newest completed one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sqlmodel import select

from hub.indicators.engine import InputError
from hub.service.records import BarometerRun, claim_run, finish_run
from hub.sustainable.catalogue import INDICATORS, TABLES, indicator_json
from hub.sustainable.compute import check_kinds, compute_sustainable, snapshot_id, suppressed_count
from hub.sustainable.inputs import check_inputs
from policies import territory

__all__ = ["SustainableService", "Claim", "regional_slice", "dataset_id", "offer_id", "slice_metadata", "KIND",
           "run_json"]

log = logging.getLogger(__name__)

KIND = "sustainable"  # this service's runs in the hub's run table

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


@dataclass(frozen=True)
class Claim:
    """A recorded run and whether the caller holds it (then it computes it), with the files it rests on."""

    run: BarometerRun
    claimed: bool
    paths: dict[str, Path]
    snapshot: str
    base_year: int | None


class SustainableService:
    """One per node process; ``republish``: publish each région's slice after a run that became current;
    ``check``: check the inputs against their declared schemas before computing (the hub always does)."""

    def __init__(self, node: Any, *, engine: str = "duckdb", republish: bool = True, catalog: Any = None,
                 check: bool = True):
        self.node, self.engine, self.republish, self.catalog, self.check = node, engine, republish, catalog, check
        self._cache: tuple[str, dict[str, pa.Table]] | None = None

    @property
    def root(self) -> Path:
        return Path(self.node.data_dir) / "tourisme-durable"

    # -- computing --------------------------------------------------------------------------------------------------
    def compute(self, inputs: dict[str, str | Path], base_year: int | None = None) -> dict[str, Any]:
        """Check, compute, store, record and (if asked) re-publish; returns the run's manifest (``run.json``).

        The same files computed before return that run's manifest. A refused or failed computation is recorded as
        ``failed`` and raises (``InputError`` for input problems)."""
        run, _ = self.land(inputs, base_year)
        return self.manifest(run)

    def land(self, inputs: dict[str, str | Path], base_year: int | None = None) -> tuple[BarometerRun, bool]:
        """As :meth:`compute`, returning the recorded run and whether this call computed it (False: these files
        were computed before, or are being computed by another worker)."""
        claim = self.claim(inputs, base_year)
        if not claim.claimed:
            return claim.run, False
        return self.run_claimed(claim), True

    def claim(self, inputs: dict[str, str | Path], base_year: int | None = None) -> "Claim":
        """Fingerprint the files and record the run: the first caller with these files (and engine, base year) holds
        it and computes it with :meth:`run_claimed`; the others get the run as recorded (``claimed`` False)."""
        check_kinds(inputs)
        files = {}
        for kind, path in sorted(inputs.items()):
            p = Path(path).resolve()
            if not p.is_file():
                raise InputError(f"{kind} file not found: {path}")
            files[kind] = {"path": str(p), "sha256": _sha256(p), "bytes": p.stat().st_size}
        snap = snapshot_id(files)
        recorded = {**files, "snapshot": snap, "base_year": base_year}
        key = hashlib.sha256(json.dumps({"kind": KIND, "engine": self.engine, "base_year": base_year,
                                         "inputs": {k: v["sha256"] for k, v in files.items()}},
                                        sort_keys=True).encode()).hexdigest()
        run, claimed = claim_run(self.node, KIND, key, recorded, self.engine)
        return Claim(run, claimed, {k: Path(v["path"]) for k, v in files.items()}, snap, base_year)

    def run_claimed(self, claim: "Claim") -> BarometerRun:
        """Check, compute, store, record and re-publish a run this process claimed; raises as :meth:`compute`."""
        if not claim.claimed:
            raise ValueError(f"run {claim.run.id} is held by another caller")
        return self._compute(claim.run, claim.paths, claim.snapshot, claim.base_year)

    def _compute(self, run: BarometerRun, inputs: dict[str, Path], snap: str, base_year: int | None) -> BarometerRun:
        assert run.id is not None
        t0 = time.perf_counter()
        try:
            checks = (check_inputs(inputs, self.root / "quarantine", now=self.node.clock.utcnow)
                      if self.check else {})
            t1 = time.perf_counter()
            tables = compute_sustainable(inputs, self.engine, base_year=base_year)
            t2 = time.perf_counter()
            summary = {k: {"rows": t.num_rows, "suppressed": suppressed_count(t)} for k, t in tables.items()}
            directory = self.root / f"run-{run.id:05d}"
            manifest = {"run": run.id, "engine": self.engine,
                        "snapshot": {"id": snap, "inputs": {k: {"path": v["path"], "sha256": v["sha256"]}
                                                            for k, v in run.inputs.items() if isinstance(v, dict)},
                                     "at": _iso(run.started_at)},
                        "base_year": base_year, "seconds": round(t2 - t1, 3), "check_seconds": round(t1 - t0, 3),
                        "computed_at": self.node.clock.utcnow().isoformat(),
                        "checks": {k: {"schema": c.schema.iri, "rows": c.rows} for k, c in checks.items()},
                        "tables": summary, "indicators": [indicator_json(i) for i in INDICATORS],
                        "published": None}
            if directory.exists():  # left by a worker that died before recording the run, which we now hold
                shutil.rmtree(directory)
            self._write(directory, tables, manifest)
        except Exception as e:
            finish_run(self.node, run.id, status="failed", error=str(e) if isinstance(e, InputError)
                       else f"{type(e).__name__}: {e}", seconds=round(time.perf_counter() - t0, 3))
            raise
        run = finish_run(self.node, run.id, status="done", result_dir=str(directory), tables=summary,
                         seconds=round(time.perf_counter() - t0, 3))
        self._cache = (directory.name, tables)
        log.info("sustainable run %s: snapshot %s computed in %.2f s", run.id, snap, t2 - t1)
        if self.republish and self.current_id() == run.id:
            try:
                manifest["published"] = self.publish(directory, manifest)
            except Exception as e:  # noqa: BLE001 - the run stands; its record says the publication failed
                log.warning("sustainable run %s: re-publication failed: %s", run.id, e)
                manifest["published"] = {"error": f"{type(e).__name__}: {e}"}
            (directory / "run.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str),
                                                encoding="utf-8")
            run = finish_run(self.node, run.id, published=manifest["published"])
        return run

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

    # -- reading ----------------------------------------------------------------------------------------------------
    def current_run(self) -> BarometerRun | None:
        """The newest completed run."""
        with self.node.session() as s:
            return s.exec(select(BarometerRun).where(BarometerRun.kind == KIND, BarometerRun.status == "done")
                          .order_by(BarometerRun.id.desc()).limit(1)).first()

    def current_id(self) -> int | None:
        run = self.current_run()
        return run.id if run else None

    def current(self) -> dict[str, Any] | None:
        """The newest completed run's manifest (with ``result_dir``), or None."""
        run = self.current_run()
        return self.manifest(run) if run is not None else None

    def runs(self, limit: int = 50) -> list[BarometerRun]:
        """The recorded runs, newest first (failed ones too)."""
        with self.node.session() as s:
            return list(s.exec(select(BarometerRun).where(BarometerRun.kind == KIND)
                               .order_by(BarometerRun.id.desc()).limit(limit)).all())

    def run(self, run_id: int) -> BarometerRun | None:
        with self.node.session() as s:
            run = s.get(BarometerRun, run_id)
            return run if run is not None and run.kind == KIND else None

    def latest_inputs(self) -> dict[str, Path] | None:
        """The input files of the most recent run (any outcome), to recompute from."""
        for run in self.runs(limit=1):
            return {k: Path(v["path"]) for k, v in run.inputs.items() if isinstance(v, dict)}
        return None

    def manifest(self, run: BarometerRun) -> dict[str, Any]:
        """A completed run's ``run.json`` with its folder (``result_dir``) and its record (``record``)."""
        if run.status != "done" or not run.result_dir:
            raise ValueError(f"run {run.id} is {run.status}" + (f": {run.error}" if run.error else ""))
        m = json.loads((Path(run.result_dir) / "run.json").read_text(encoding="utf-8"))
        m["result_dir"] = run.result_dir
        m["record"] = run_json(run)
        return m

    def tables(self, run: dict[str, Any]) -> dict[str, pa.Table]:
        directory = Path(run["result_dir"])
        if self._cache and self._cache[0] == directory.name:
            return self._cache[1]
        tables = {n: pq.read_table(directory / f"{n}.parquet") for n in TABLES}
        self._cache = (directory.name, tables)
        return tables


def run_json(run: BarometerRun) -> dict[str, Any]:
    """A run as the API and the CLI show it."""
    inputs = run.inputs or {}
    return {"id": run.id, "kind": run.kind, "status": run.status, "engine": run.engine,
            "snapshot": inputs.get("snapshot"), "base_year": inputs.get("base_year"),
            "inputs": {k: v for k, v in inputs.items() if isinstance(v, dict)}, "tables": run.tables,
            "published": run.published, "seconds": run.seconds, "error": run.error, "result_dir": run.result_dir,
            "started_at": _iso(run.started_at), "finished_at": _iso(run.finished_at), "input_key": run.input_key}


def _iso(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.isoformat()


def _sha256(path: Path) -> str:
    from hub.collection.atomic import sha256_file
    return sha256_file(path)
