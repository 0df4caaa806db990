"""Data plane (HTTP pull), under ``/public``: the files a started transfer may read, and token refresh.

``GET /public/data/<transfer>?format=parquet|arrow|csv`` with ``Authorization: Bearer <access token>``: every
request is authorised afresh (token, transfer state, current token id, agreement not revoked, consumer membership,
the agreement's policy — docs/transfer.md) and then answered with a file response (read in 1 MiB chunks by the server's file wrapper) that
honours ``Range``; ``ETag`` and ``Repr-Digest`` carry the sha256 of the file served, ``X-Passerelle-Rows`` its rows.
A refusal is a JSON body with the code and the reasons, and no data.

``POST /public/token`` (self-issued token of the consumer, JSON ``{"transfer", "refresh_token"}``) rotates the
tokens; presenting a rotated refresh token again terminates the transfer.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, current_app, jsonify, request, send_file

bp = Blueprint("dataplane", __name__)


def _refusal(e: Any):  # type: ignore[no-untyped-def]
    resp = jsonify({"error": e.code, "message": "; ".join(e.reasons), "reasons": e.reasons})
    resp.status_code = e.status
    if e.status == 401:
        resp.headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{e.code}"'
    return resp


def _range_start() -> int:
    r = request.headers.get("Range", "")
    if r.startswith("bytes="):
        first = r[6:].split(",")[0].split("-")[0].strip()
        if first.isdigit():
            return int(first)
    return 0


@bp.get("/data/<transfer_id>")
def pull(transfer_id: str):  # type: ignore[no-untyped-def]
    from connector.transfer.dataplane import resolve
    from connector.transfer.formats import FORMATS
    from connector.transfer.service import PullRefused
    svc = current_app.config["TRANSFERS"]
    fmt = (request.args.get("format") or "parquet").lower()
    if fmt not in FORMATS:
        resp = jsonify({"error": "bad_format", "message": f"format {fmt!r}: expected one of {', '.join(FORMATS)}"})
        resp.status_code = 400
        return resp
    try:
        grant = svc.authorize(transfer_id, request.headers.get("Authorization"),
                              purpose=request.args.get("purpose") or request.headers.get("X-Purpose"),
                              continuation=_range_start() > 0)
        served = resolve(svc, grant, fmt)
    except PullRefused as e:
        return _refusal(e)
    resp = send_file(served.path, mimetype=served.media_type, conditional=True, etag=served.sha256,
                     download_name=f"{grant.dataset_id.rsplit('/', 1)[-1].rsplit(':', 1)[-1]}.{fmt}",
                     as_attachment=True, max_age=0)
    resp.headers["Repr-Digest"] = "sha-256=:" + base64.b64encode(bytes.fromhex(served.sha256)).decode() + ":"
    resp.headers["X-Passerelle-Sha256"] = served.sha256
    resp.headers["X-Passerelle-Size"] = str(served.size)
    if served.rows is not None:
        resp.headers["X-Passerelle-Rows"] = str(served.rows)
    resp.headers["X-Passerelle-Content"] = "aggregate" if grant.aggregate else "rows"
    resp.headers["Cache-Control"] = "no-store"
    svc.record_pull(grant, served, fmt, resp.status_code, request.headers.get("Range"))
    return resp


@bp.post("/token")
def refresh():  # type: ignore[no-untyped-def]
    from connector.identity import IdentityError
    from connector.transfer.service import PullRefused
    trust = current_app.config["TRUST"]
    try:
        caller = trust.authenticate(request.headers.get("Authorization"), request.path)
    except IdentityError as e:
        trust.record_denial(request.path, e)
        resp = jsonify({"error": "unauthorized", "message": "authentication failed"})
        resp.status_code = 401
        return resp
    body = request.get_json(silent=True, force=True) or {}
    try:
        return jsonify(current_app.config["TRANSFERS"].refresh(caller, str(body.get("refresh_token") or ""),
                                                               str(body.get("transfer") or "")))
    except PullRefused as e:
        return _refusal(e)
