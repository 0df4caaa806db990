"""INSEE territories (région ⊃ département) for spatial and territory constraints.

Codes follow the data space's convention: ``REG-76`` for a région, ``DEP-34`` for a département; bare INSEE codes
(``76``/``34``) are accepted where the kind is known. The tables are loaded once from the bundled COG files.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["Territory", "departement", "region", "parse_code", "contains", "departements_of", "all_departements",
           "all_regions"]


@dataclass(frozen=True)
class Territory:
    """A région or a département with its INSEE code and name."""

    kind: str  # "REG" or "DEP"
    code: str  # INSEE code, e.g. "76", "34", "2A", "971"
    name: str
    region: str  # for a département its région's code; for a région its own code

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.code}"


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("policies.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, Territory], dict[str, Territory]]:
    regs = {r["REG"]: Territory("REG", r["REG"], r["LIBELLE"], r["REG"]) for r in _rows("regions.csv")}
    deps = {r["DEP"]: Territory("DEP", r["DEP"], r["LIBELLE"], r["REG"]) for r in _rows("departements.csv")}
    return regs, deps


def departement(code: str) -> Territory | None:
    """The département with this INSEE code (``"34"``, ``"DEP-34"``), or None."""
    code = code.removeprefix("DEP-")
    return _tables()[1].get(code)


def region(code: str) -> Territory | None:
    """The région with this INSEE code (``"76"``, ``"REG-76"``), or None."""
    code = code.removeprefix("REG-")
    return _tables()[0].get(code)


def parse_code(value: str) -> Territory | None:
    """Resolve ``REG-xx``, ``DEP-xx`` or ``FR``-less bare codes; None when unknown (callers fail closed)."""
    value = value.strip()
    if value.startswith("REG-"):
        return region(value)
    if value.startswith("DEP-"):
        return departement(value)
    return None


def contains(outer: str, inner: str) -> bool:
    """True when territory ``inner`` lies within ``outer`` (a territory contains itself; ``FR`` contains all)."""
    if outer == "FR":
        return inner == "FR" or parse_code(inner) is not None
    o, i = parse_code(outer), parse_code(inner)
    if o is None or i is None:
        return False
    if o.key == i.key:
        return True
    return o.kind == "REG" and i.kind == "DEP" and i.region == o.code


def departements_of(region_code: str) -> list[Territory]:
    """The départements of a région, in INSEE order."""
    r = region(region_code)
    if r is None:
        return []
    return [d for d in _tables()[1].values() if d.region == r.code]


def all_departements() -> list[Territory]:
    return list(_tables()[1].values())


def all_regions() -> list[Territory]:
    return list(_tables()[0].values())
