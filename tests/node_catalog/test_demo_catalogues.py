"""The demo nodes' catalogues (config/demo/*.toml, hub/sustainable/demo.py + the files the demo publishes) are
valid DCAT-AP 3.0.1."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _demo_catalogue(path: Path, tmp: Path) -> Any:
    from catalog import catalogue_from_mapping, publish
    from connector.config import catalogue_section, load_config
    from connector.demo import write_capacity_csv
    from connector.publishing import describe_file, expand_offer_templates
    now = datetime(2026, 5, 1, tzinfo=timezone.utc)
    cfg = load_config(path, check_files=False)
    cat = catalogue_from_mapping(catalogue_section(cfg), now)
    for ident, section in cfg.model.datasets.items():
        mapping = copy.deepcopy(section)
        assert expand_offer_templates(mapping) == []
        csv = tmp / f"{ident}.csv"
        assert write_capacity_csv(csv, section["spatial"]) > 0
        dist, problems = describe_file(csv)
        assert problems == []
        mapping["distributions"] = [dist]
        cat = publish(cat, mapping, now=now, identifier=ident).catalogue
    for ident, mapping in _sustainable_datasets(cfg.node.name, tmp):
        cat = publish(cat, mapping, now=now, identifier=ident).catalogue
    return cat


def _sustainable_datasets(name: str, tmp: Path) -> list[tuple[str, dict[str, Any]]]:
    """The generated datasets a sustainable-tourism provider publishes in the demo, with their declared metadata."""
    from connector.publishing import describe_file, expand_offer_templates
    from hub.sustainable.demo import DATASETS, PROVIDERS, generate_provider
    if name not in PROVIDERS:
        return []
    files = generate_provider(name, tmp / name)
    out = []
    for ident, kind in PROVIDERS[name]:
        mapping = copy.deepcopy(DATASETS[ident])
        assert expand_offer_templates(mapping) == []
        dist, problems = describe_file(files[kind])
        assert problems == []
        mapping["distributions"] = [dist]
        out.append((ident, mapping))
    return out


def _expected_count() -> int:
    """Datasets the demo publishes from its configs: each ``[datasets]`` section and each provider's generated set."""
    from connector.config import load_config
    from hub.sustainable.demo import PROVIDERS
    n, names = 0, set()
    for path in (ROOT / "config" / "demo").glob("*.toml"):
        cfg = load_config(path, check_files=False)
        names.add(cfg.node.name)
        n += len(cfg.model.datasets) + len(PROVIDERS.get(cfg.node.name, []))
    assert set(PROVIDERS) <= names  # every sustainable-tourism provider has its node config
    return n


def test_demo_catalogues_validate_against_dcat_ap_shapes(tmp_path: Path, kit: Any) -> None:
    from pyshacl import validate
    from rdflib import Graph, Namespace
    from catalog import catalogue_graph
    shapes = Graph()
    for name in ("shapes.ttl", "range.ttl", "mdr-vocabularies.shape.ttl", "deprecateduris.ttl"):
        shapes.parse(kit.SPEC / "dcat-ap" / "3.0.1" / "shacl-split" / name)
    data = Graph()
    count = 0
    for path in sorted((ROOT / "config" / "demo").glob("*.toml")):
        cat = _demo_catalogue(path, tmp_path)
        count += len(cat.datasets)
        data += catalogue_graph(cat)
    assert count == _expected_count() > 0
    SH = Namespace("http://www.w3.org/ns/shacl#")
    _, report, _ = validate(data, shacl_graph=shapes, allow_warnings=True)
    violations = [(str(report.value(r, SH.focusNode)), str(report.value(r, SH.resultPath)))
                  for r in report.objects(None, SH.result) if report.value(r, SH.resultSeverity) == SH.Violation]
    assert violations == []


def test_demo_territory_files_hold_their_territory_only(tmp_path: Path) -> None:
    import csv
    from connector.demo import write_capacity_csv
    n = write_capacity_csv(tmp_path / "h.csv", ["DEP-34"])
    rows = list(csv.DictReader((tmp_path / "h.csv").open(encoding="utf-8")))
    assert len(rows) == n > 0 and {r["dep"] for r in rows} == {"34"}
    write_capacity_csv(tmp_path / "o.csv", ["REG-76"])
    assert {r["reg"] for r in csv.DictReader((tmp_path / "o.csv").open(encoding="utf-8"))} == {"76"}
