"""catalog/ stays sans-IO (DESIGN §2): no web framework, HTTP client, SQL or clock reads."""

import re
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[2] / "catalog"
FORBIDDEN = re.compile(r"^\s*(from|import)\s+(flask|httpx|requests|sqlalchemy|sqlmodel|psycopg|sqlite3|socket|urllib\.request)\b"
                       r"|\b(datetime\.now|datetime\.utcnow|date\.today|time\.time)\(", re.M)


def test_no_io_in_catalog():
    offenders = {p.name: m.group(0) for p in CATALOG.glob("*.py") if (m := FORBIDDEN.search(p.read_text()))}
    assert offenders == {}
