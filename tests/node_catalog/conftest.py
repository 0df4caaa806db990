from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from connector.clock import FixedClock
from connector.testing import LiveSpace
from contracts.schemas import DSP_CONTEXT

SPEC = Path(__file__).resolve().parents[2] / ".." / "shared" / "spec"
CATALOG_REQUEST = {"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage", "filter": []}


def metadata(ident: str, *, dep: str = "34", title: str = "Capacité des campings") -> dict[str, Any]:
    """Valid metadata for a dataset of a département (what a [datasets.<id>] section holds)."""
    return {
        "title": {"fr": f"{title} ({ident})", "en": f"Campsite capacity ({ident})"},
        "description": {"fr": "Emplacements par département.", "en": "Pitches by département."},
        "themes": ["ECON", "REGI"],
        "keywords": {"fr": ["tourisme", "camping"], "en": ["tourism", "campsite"]},
        "spatial": [f"DEP-{dep}"],
        "temporal": {"start": "2024-01-01", "end": "2024-12-31"},
        "frequency": "ANNUAL",
        "licence": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
        "access_rights": "RESTRICTED",
        "publisher": {"name": {"fr": "Hérault Tourisme", "en": "Hérault Tourisme"}, "type": "LocalAuthority",
                      "iri": "https://herault.example/#org"},
        "contact": {"name": "Observatoire", "email": "observatoire@herault.example"},
        "offer_templates": [{"template": "members-statistical-use", "id": f"urn:passerelle:offer:{ident}:stats"},
                            {"template": "territory-bound", "id": f"urn:passerelle:offer:{ident}:territory",
                             "territory": f"DEP-{dep}"}],
    }


def write_csv(path: Path, rows: int = 3, seed: str = "") -> Path:
    lines = ["departement,emplacements"] + [f"{34 + i},{100 * (i + 1)}{seed}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def space(tmp_path: Path, db_factory) -> Iterator[LiveSpace]:  # type: ignore[no-untyped-def]
    s = LiveSpace(tmp_path, FixedClock(time.time()), db_factory)
    s.add("hub", role="hub", enrol=False)
    s.enrol("hub")
    s.add("herault", roles=["departmental_node"], territory=["DEP-34"])
    s.add("occitanie", territory=["REG-76"])
    yield s
    s.stop()


@pytest.fixture
def kit() -> Any:
    """The helpers above, for test modules (importlib mode does not import conftest by name)."""
    from types import SimpleNamespace
    return SimpleNamespace(metadata=metadata, write_csv=write_csv, CATALOG_REQUEST=CATALOG_REQUEST, SPEC=SPEC)
