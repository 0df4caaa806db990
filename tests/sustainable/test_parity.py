"""DuckDB and Spark (local mode) give the same sustainable-indicator tables on the hand-made set."""

from __future__ import annotations

import math
import os
import shutil

import pytest


@pytest.fixture(scope="module")
def spark():
    """The process's one Spark session (shared with the barometer's tests: ``spark_session`` keeps a singleton)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("pyspark is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime")
    from hub.indicators import spark_session
    os.environ.setdefault("PASSERELLE_SPARK_PARTITIONS", "1")
    return spark_session()


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9))
    return a == b


def test_duckdb_and_spark_agree(spark, small) -> None:
    from hub.sustainable import compute_raw
    # energy (establishment level, joins, maxima), employment (seasonal join) and transport (factors as data) cover
    # every kind of operation the six tables use; all six on Spark would cost minutes on two cores
    only = ("energy", "employment", "transport")
    duck = compute_raw(small, "duckdb", only)
    sp = compute_raw(small, "spark", only)
    assert set(duck) == set(only)
    for name, t in duck.items():
        s = sp[name].select(t.column_names)
        assert t.num_rows == s.num_rows, name
        for r1, r2 in zip(t.to_pylist(), s.to_pylist()):
            assert all(_same(r1[k], r2[k]) for k in r1), (name, r1, r2)
