"""Disclosure control on the establishment-level source: a département with fewer than 3 establishments never
appears with energy or water values, whatever the period."""

from __future__ import annotations

import pyarrow.parquet as pq


def _few(energy_path) -> set[str]:
    import collections
    t = pq.read_table(energy_path).to_pylist()
    per = collections.defaultdict(set)
    for r in t:
        per[r["dep_code"]].add(r["establishment_pid"])
    return {f"DEP-{d}" for d, s in per.items() if len(s) < 3}


def test_small_departements_never_show_energy_or_water(generated) -> None:
    from hub.sustainable import compute_sustainable
    few = _few(generated["energy"])
    assert few  # 400 establishments over 101 départements: some have 1 or 2
    t = compute_sustainable(generated)["energy"]
    seen = 0
    for r in t.to_pylist():
        if r["geo_code"] in few:
            seen += 1
            assert r["status"] == "suppressed"
            for col in ("energy_kwh", "water_m3", "nights", "energy_per_night_kwh", "water_per_night_l",
                        "ecolabel_share_pct", "energy_change_pct", "n_establishments"):
                assert r[col] is None, (r["geo_code"], col)
        if r["status"] == "published" and r["geo_level"] != "FR":
            assert r["n_establishments"] >= 3
    assert seen


def test_generated_files_are_labelled_synthetic(generated) -> None:
    import json
    for k, p in generated.items():
        assert pq.read_schema(p).metadata[b"synthetic"] == b"true", k
    manifests = list(generated["energy"].parent.glob("MANIFEST-*.json"))
    assert len(manifests) == 3 and all(json.loads(m.read_text())["synthetic"] is True for m in manifests)
