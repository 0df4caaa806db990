"""Shared fixtures: database URLs for both engines, free loopback ports, the spec folder."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = (ROOT / ".." / "shared" / "spec").resolve()
PG_URL = os.environ.get("PASSERELLE_TEST_PG", "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def port() -> int:
    return free_port()


def _pg_schema_url(base: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from connector.store import normalise_url
    schema = "t_" + uuid.uuid4().hex[:12]
    eng = create_engine(normalise_url(base))
    with eng.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def _drop_schema(base: str, schema: str) -> None:
    from sqlalchemy import create_engine, text
    from connector.store import normalise_url
    eng = create_engine(normalise_url(base))
    with eng.begin() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    eng.dispose()


def _engines() -> list[str]:
    from connector.testing import engines_under_test
    return engines_under_test()


@pytest.fixture(params=_engines())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database on each engine under test: one store test suite, run against both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'node.db'}"
        return
    url, schema = _pg_schema_url(PG_URL)
    try:
        yield url
    finally:
        _drop_schema(PG_URL, schema)


@pytest.fixture(params=_engines())
def db_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator:
    """Makes as many fresh databases as a test needs (one per node), all on the engine under test."""
    made: list[str] = []
    counter = iter(range(10_000))

    def make() -> str:
        if request.param == "sqlite":
            return ""  # the node's default: SQLite in its own directory
        url, schema = _pg_schema_url(PG_URL)
        made.append(schema)
        return url

    make.engine = request.param  # type: ignore[attr-defined]
    next(counter)
    yield make
    for schema in made:
        _drop_schema(PG_URL, schema)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # every test that touches a database is marked "pg", so `-m pg` reruns exactly those on PostgreSQL
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "db_url" in names or "db_factory" in names:
            item.add_marker(pytest.mark.pg)


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """Debian's headless Chromium under Playwright, launched once for the session (``make test`` installs it; the
    browser tests fail rather than skip without it). Tests open their own context and close it."""
    if not CHROMIUM.exists():
        pytest.fail(f"the page tests need Chromium at {CHROMIUM}: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    p = sync_playwright().start()
    browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                      "--disable-component-update", "--disable-sync", "--no-first-run"])
    try:
        yield browser
    finally:
        browser.close()
        p.stop()


@pytest.fixture(scope="session")
def spark():
    """The one Spark session of the test session (starting one costs several seconds). ``make test`` installs
    pyspark (the ``spark`` extra); the machine provides Java. The parity tests fail rather than skip without them."""
    import shutil
    try:
        import pyspark  # noqa: F401 - only whether it is installed
    except ImportError:
        pytest.fail("the Spark parity tests need pyspark: pip install '.[spark]' (make test does)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("the Spark parity tests need a Java runtime (java on PATH or JAVA_HOME)")
    from hub.indicators import spark_session
    os.environ.setdefault("PASSERELLE_SPARK_PARTITIONS", "1")  # tiny data: one shuffle partition is fastest
    return spark_session()
