"""Hostile files through the node's upload route (trust.md §5): each is refused with a clear message, kept in
quarantine with its report when it could be read, and nothing is published."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from connector.web.upload import UploadRefused, receive_upload


def _post(live: Any, ident: str, name: str, data: bytes | Iterator[bytes], **kw: Any) -> httpx.Response:
    return httpx.post(f"{live.url}/api/collection/{ident}/uploads", timeout=30,
                      headers={"Authorization": f"Bearer {live.node.admin_token}", **kw.pop("headers", {})},
                      files={"file": (name, data, "application/octet-stream")} if isinstance(data, bytes) else None,
                      content=None if isinstance(data, bytes) else data, **kw)


def _nothing_published(live: Any, ident: str) -> None:
    assert live.api("GET", "/api/datasets").json()["datasets"] == []
    assert not (live.node.data_dir / "published" / ident).exists() or not any(
        (live.node.data_dir / "published" / ident).iterdir())
    staging = live.node.data_dir / "collection" / ident / "staging"
    assert not staging.exists() or not any(staging.iterdir())
    uploads = live.node.data_dir / "collection" / ident / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())  # received files are removed


def _zip_bomb(kit: Any, tmp: Path) -> bytes:
    good = kit.write_xlsx(tmp / "good.xlsx", kit.good_rows())
    out = io.BytesIO()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("xl/media/padding.xml", b"\0" * (8 * 1024 * 1024))  # 8 MiB of zeros in a few KB
    return out.getvalue()


def _formula(kit: Any, tmp: Path) -> bytes:
    return kit.write_xlsx(tmp / "f.xlsx", kit.good_rows(),
                          raw={(2, "booking_pid"): '=HYPERLINK("http://evil.example","x")'}).read_bytes()


def _latin1(kit: Any, tmp: Path) -> bytes:
    rows = kit.good_rows()
    rows[0]["channel"] = "DIRECT"
    text = kit.write_csv(tmp / "l.csv", rows).read_text(encoding="utf-8")
    return ("# Réservations été\n" + text).encode("latin-1")


def _truncated(kit: Any, tmp: Path) -> bytes:
    data = kit.write_xlsx(tmp / "t.xlsx", kit.good_rows()).read_bytes()
    return data[: len(data) // 2]


CASES = {
    "zip bomb": ("export.xlsx", _zip_bomb, "zip_bomb", "zip bomb"),
    "formula injection": ("export.xlsx", _formula, "formula_injection", "formula"),
    "path traversal": ("../../../etc/cron.d/export.csv", lambda kit, tmp: kit.write_csv(
        tmp / "p.csv", kit.good_rows()).read_bytes(), "file_name", "file name"),
    "wrong encoding": ("export.csv", _latin1, "encoding", "UTF-8"),
    "truncated": ("export.xlsx", _truncated, "truncated", "truncated"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_file_is_refused_and_nothing_published(provider: Any, kit: Any, tmp_path: Path, case: str) -> None:
    name, make, rule, words = CASES[case]
    r = _post(provider, kit.DATASET, name, make(kit, tmp_path))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["status"] == "rejected" and rule in body["counts"]
    problems = body["report"]["problems"]
    assert any(p["rule"] == rule and words.lower() in p["reason"].lower() for p in problems), problems
    if rule == "formula_injection":  # the cell is named: row 4 (header is row 1), column booking_pid
        p = next(p for p in problems if p["rule"] == rule)
        assert (p["row"], p["column"]) == (4, "booking_pid") and p["value"].startswith("=HYPERLINK")
    _nothing_published(provider, kit.DATASET)
    # the quarantine keeps the report (and the file, unless its name or size was the problem)
    q = provider.api("GET", f"/api/collection/{kit.DATASET}/quarantine").json()["quarantine"]
    assert len(q) == 1 and q[0]["counts"].get(rule)
    doc = provider.api("GET", f"/api/collection/{kit.DATASET}/quarantine/{q[0]['id']}").json()
    assert doc["report"]["counts"] == body["counts"]
    assert (doc["kept_file"] is None) == (rule == "file_name")
    assert doc["original_name"] == name  # kept as a label only: no file anywhere under that name
    assert not list(provider.node.config.base.rglob("cron.d"))


def test_too_large_upload_is_refused_while_streaming(provider: Any, kit: Any) -> None:
    """The test config caps uploads at 256 KiB: a bigger body (declared, multipart) is refused with 413 …"""
    r = _post(provider, kit.DATASET, "big.csv", b"x" * (400 * 1024))
    assert r.status_code == 413 and "under 256 KiB" in r.json()["message"]
    # … and so is one that does not declare its size (chunked): counted while it streams to disk
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"y" * (16 * 1024)
    r = _post(provider, kit.DATASET, "big.csv", chunks(), params={"name": "big.csv"},
              headers={"Content-Type": "text/csv"})
    assert r.status_code == 413, r.text
    _nothing_published(provider, kit.DATASET)


def test_a_two_gigabyte_body_is_refused_before_reading(tmp_path: Path) -> None:
    """With the default 2 GiB limit a 2 GiB upload is refused from its Content-Length, without keeping a byte."""
    class Stream:
        read_bytes = 0

        def read(self, n: int) -> bytes:
            self.read_bytes += n
            return b"\0" * min(n, 1 << 20)
    s = Stream()
    with pytest.raises(UploadRefused) as e:
        receive_upload(s, "multipart/form-data; boundary=x", 2 * 1024**3 + (1 << 20), tmp_path, 2 * 1024**3)
    assert e.value.status == 413 and "2 GiB" in e.value.message
    assert s.read_bytes <= 8 << 20 and list(tmp_path.iterdir()) == []


def test_unknown_dataset_and_auth(provider: Any, kit: Any) -> None:
    r = httpx.post(f"{provider.url}/api/collection/{kit.DATASET}/uploads", content=b"a", params={"name": "a.csv"})
    assert r.status_code == 401
    r = _post(provider, "nope", "a.csv", b"a,b\n")
    assert r.status_code == 404 and "declares a table schema" in r.json()["message"]
    r = provider.api("GET", f"/api/collection/{kit.DATASET}/quarantine/..%2F..%2Fnode.toml")
    assert r.status_code == 404
    listing = provider.api("GET", "/api/collection").json()["datasets"]
    assert [d["identifier"] for d in listing] == [kit.DATASET] and listing[0]["max_upload_bytes"] == 256 * 1024
