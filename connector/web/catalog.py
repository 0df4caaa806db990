"""The catalogue over HTTP: DSP catalog endpoints, the public DCAT-AP export, publishing and the hub's federated
catalogue (management API and a page).

One blueprint registered by the app factory, holding three nested ones because each has its own guard:
``dsp`` (under ``/dsp/2025-1``: self-issued token + membership, refusals 401 with a ``CatalogError``), ``api``
(under ``/api``: the admin token) and ``public`` (the export and the ``/catalogue`` page: no authentication; the
metadata is public, the data is not).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, g, render_template_string, request

from catalog import CatalogRequestError, MetadataError, page_params, read_catalog_request
from connector.errors import catalog_error, json_error
from connector.web.protocol import consumes_token, guard

__all__ = ["bp"]

bp = Blueprint("catalogue", __name__)
dsp = Blueprint("catalogue_dsp", __name__)
api = Blueprint("catalogue_api", __name__)
public = Blueprint("catalogue_public", __name__)


@bp.record_once
def _setup(state: Any) -> None:
    from connector.catalog_service import CatalogService
    node = state.app.config["NODE"]
    state.app.config["CATALOG"] = CatalogService(node)
    if node.is_authority:
        from connector.federation import FederatedCatalogue
        state.app.config["FEDERATION"] = FederatedCatalogue(node, state.app.config["TRUST"])


def _service() -> Any:
    return current_app.config["CATALOG"]


# -- DSP ------------------------------------------------------------------------------------------------------------

guard(dsp)


def _catalog_response(body: bytes, status: int = 200, links: list[str] | None = None) -> Response:
    resp = Response(body, status=status, mimetype="application/json")
    if links:
        resp.headers["Link"] = ", ".join(links)
    resp.headers["ETag"] = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


def _refused(e: CatalogRequestError) -> Response:
    return catalog_error(e.status, e.code, e.reasons)


@dsp.post("/catalog/request")
@consumes_token
def catalog_request():  # type: ignore[no-untyped-def]
    from connector.catalog_service import requester_of
    try:
        read_catalog_request(request.get_data(cache=False))
        offset, limit = page_params(request.args)
    except CatalogRequestError as e:
        return _refused(e)
    service = _service()
    decisions: list[Any] = []
    page = service.view().catalog_page(requester_of(g.caller, service.node.clock.utcnow(), decisions), offset,
                                       limit, url=service.node.dsp_base + "/catalog/request")
    _log_served(service.node, g.caller.did, page.total, decisions)
    return _catalog_response(page.body, links=page.links)


def _log_served(node: Any, caller: str, datasets: int, decisions: list[Any], status: int = 200) -> None:
    """The exchange log keeps who asked for the catalogue, how much it saw, and each offer hidden by policy; the
    request's token id is spent in the same transaction (one of the node's group commits)."""
    from connector.audit import append_batch
    from connector.audit_service import ensure_log
    ensure_log(node)
    now = node.clock.utcnow()
    entries: list[tuple[str, dict[str, Any], Any]] = [("policy.decision", {
        "actor": {"did": node.did, "role": "provider"}, "counterparty": {"did": caller},
        "dataset": {"id": ds},
        "decision": {"effect": "deny", "point": "catalog", "rule": str(offer),
                     "reasons": [r.get("message", str(r)) if isinstance(r, dict) else str(r)
                                 for r in decision.get("reasons", [])][:20]}}, now)
        for ds, offer, decision in decisions]
    entries.append(("catalog.response", {
        "actor": {"did": node.did, "role": "provider"}, "counterparty": {"did": caller},
        "catalog": {"datasets": int(datasets)},
        "http": {"method": request.method, "route": request.path[:256], "status": status}}, now))
    with node.writes.transaction() as conn:
        g.token_use.consume(conn)
        node.writes.at_commit_batch(append_batch, entries)


@dsp.get("/catalog/datasets/<path:dataset_id>")
@consumes_token
def catalog_dataset(dataset_id: str):  # type: ignore[no-untyped-def]
    from connector.catalog_service import requester_of
    service = _service()
    decisions: list[Any] = []
    try:
        body = service.view().dataset_body(dataset_id, requester_of(g.caller, service.node.clock.utcnow(),
                                                                    decisions))
    except CatalogRequestError as e:
        _log_served(service.node, g.caller.did, 0, decisions, e.status)
        return _refused(e)
    _log_served(service.node, g.caller.did, 1, decisions)
    return _catalog_response(body)


# -- public export and page -----------------------------------------------------------------------------------------

def _export_response(text: str, mimetype: str) -> Response:
    etag = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    resp = Response(text, mimetype=mimetype)
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "public, max-age=60"
    return resp.make_conditional(request)


@public.get("/catalog.ttl")
def catalog_ttl():  # type: ignore[no-untyped-def]
    return _export_response(_service().export().turtle, "text/turtle")


@public.get("/catalog.jsonld")
def catalog_jsonld():  # type: ignore[no-untyped-def]
    return _export_response(_service().export().jsonld, "application/ld+json")


_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Catalogue fédéré — {{ node.name }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}form label{margin-right:1rem}
.stale{color:#a40}.muted{color:#666;font-size:.9em}</style></head>
<body><h1>Catalogue fédéré de l'espace de données</h1>
{% if not enabled %}<p>Ce nœud n'est pas le hub : il ne tient pas de catalogue fédéré.</p>{% else %}
<form method="get" action="/catalogue">
<label>Texte <input name="q" value="{{ args.q or '' }}"></label>
<label>Thème <input name="theme" size="5" value="{{ args.theme or '' }}" placeholder="ECON"></label>
<label>Territoire <input name="spatial" size="7" value="{{ args.spatial or '' }}" placeholder="DEP-34"></label>
<label>Du <input type="date" name="start" value="{{ args.start or '' }}"></label>
<label>au <input type="date" name="end" value="{{ args.end or '' }}"></label>
<label>Éditeur <input name="publisher" value="{{ args.publisher or '' }}"></label>
<button type="submit">Rechercher</button></form>
{% if error %}<p class="stale">Recherche invalide : {{ error }}</p>{% endif %}
<h2>Nœuds ({{ nodes|length }})</h2>
<table><tr><th>Participant</th><th>Jeux de données</th><th>Dernière copie</th><th>État</th></tr>
{% for n in nodes %}<tr><td><code>{{ n.node }}</code></td><td>{{ n.datasets }}</td><td>{{ n.fetched_at or '—' }}</td>
<td>{% if n.stale %}<span class="stale">copie ancienne ({{ n.error }})</span>{% else %}à jour{% endif %}</td></tr>
{% endfor %}</table>
<h2>Jeux de données ({{ hits|length }})</h2>
<table><tr><th>Titre</th><th>Éditeur</th><th>Thèmes</th><th>Couverture</th><th>Période</th><th>Nœud</th></tr>
{% for h in hits %}<tr><td><strong>{{ h.title }}</strong><br><span class="muted">{{ h.description }}</span></td>
<td>{{ h.publisher }}</td><td>{{ h.themes|join(', ') }}</td><td>{{ h.spatial|join(', ') }}</td>
<td>{{ h.start or '…' }} – {{ h.end or '…' }}</td>
<td><code>{{ h.node }}</code>{% if h.stale %} <span class="stale">(copie ancienne)</span>{% endif %}</td></tr>
{% endfor %}</table>{% endif %}
</body></html>"""


@public.get("/catalogue")
def catalogue_page():  # type: ignore[no-untyped-def]
    node = current_app.config["NODE"]
    fed = current_app.config.get("FEDERATION")
    hits: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    error = None
    if fed is not None:
        try:
            hits = [hit_json(h) for h in fed.search(**search_args(request.args))]
        except ValueError as e:
            error = str(e)
        nodes = fed.nodes_summary()
    return render_template_string(_PAGE, node=node, enabled=fed is not None, hits=hits, nodes=nodes,
                                  args=request.args, error=error)


# -- management API -------------------------------------------------------------------------------------------------

@api.before_request
def _admin_only():  # type: ignore[no-untyped-def]
    node = current_app.config["NODE"]
    header = request.headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else request.headers.get("X-Admin-Token", "")
    if not given or not hmac.compare_digest(given.encode(), node.admin_token.encode()):
        return json_error(401, "unauthorized", "missing or wrong admin token")
    return None


def _problems_response(e: MetadataError) -> Response:
    resp = current_app.json.response({"error": "invalid_metadata", "message": str(e),
                                      "problems": [{"field": p.field, "code": p.code, "message": p.message}
                                                   for p in e.problems]})
    resp.status_code = 422
    return resp


@api.get("/datasets")
def datasets():  # type: ignore[no-untyped-def]
    return {"datasets": _service().versions()}


@api.post("/datasets/<dataset_id>/publish")
def publish(dataset_id: str):  # type: ignore[no-untyped-def]
    """JSON ``{"metadata": {...}, "file": "/path/on/the/node"}`` or multipart ``file`` (+ ``metadata`` as JSON)."""
    from connector.publishing import publish_dataset
    node = current_app.config["NODE"]
    upload = request.files.get("file")
    tmp: Path | None = None
    try:
        if upload is not None:
            raw = request.form.get("metadata") or "{}"
            try:
                metadata = json.loads(raw)
            except ValueError:
                return json_error(400, "bad_request", "the 'metadata' field must be a JSON object")
            fd, name = tempfile.mkstemp(prefix=".upload-", dir=node.data_dir)
            tmp = Path(name)
            with open(fd, "wb") as f:
                upload.save(f)
            file, filename = tmp, upload.filename or "upload"
        else:
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                return json_error(400, "bad_request", "the body must be a JSON object or a multipart upload")
            metadata = body.get("metadata", {})
            file = Path(body["file"]) if isinstance(body.get("file"), str) else None
            filename = None
        if not isinstance(metadata, dict):
            return json_error(400, "bad_request", "'metadata' must be a JSON object")
        try:
            result = publish_dataset(node, dataset_id, file=file, filename=filename, metadata=metadata,
                                     service=_service())
        except MetadataError as e:
            return _problems_response(e)
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return result.summary(), (201 if result.changed else 200)


def _federation() -> Any:
    return current_app.config.get("FEDERATION")


@api.post("/catalog/crawl")
def crawl():  # type: ignore[no-untyped-def]
    fed = _federation()
    if fed is None:
        return json_error(404, "not_hub", "only the hub keeps a federated catalogue")
    return {"nodes": [r.as_json() for r in fed.crawl()]}


def search_args(args: Any) -> dict[str, Any]:
    """Query-string criteria → ``FederatedIndex.search`` keywords; ValueError names a malformed one."""
    out: dict[str, Any] = {}
    for key, name in (("q", "text"), ("theme", "theme"), ("spatial", "spatial"), ("publisher", "publisher")):
        if args.get(key):
            out[name] = args[key]
    for key in ("start", "end"):
        if args.get(key):
            try:
                out[key] = date.fromisoformat(args[key])
            except ValueError:
                raise ValueError(f"{key} must be a date YYYY-MM-DD, not {args[key]!r}") from None
    if out.get("start") and out.get("end") and out["start"] > out["end"]:
        raise ValueError("start is after end")
    if args.get("fresh") in ("1", "true", "yes"):
        out["include_stale"] = False
    return out


def hit_json(hit: Any) -> dict[str, Any]:
    e = hit.entry
    return {"node": e.node, "dataset": e.dataset, "identifier": e.identifier,
            "title": e.title.get("fr") or next(iter(e.title.values()), ""),
            "description": e.description.get("fr") or next(iter(e.description.values()), ""),
            "titles": dict(e.title), "themes": list(e.themes), "spatial": list(e.spatial), "keywords": list(e.keywords),
            "start": e.start.isoformat() if e.start else None, "end": e.end.isoformat() if e.end else None,
            "publisher": next(iter(e.publisher_names), e.publisher or ""), "publisher_iri": e.publisher,
            "version": e.version, "offers": e.offers, "stale": hit.stale}


@api.get("/catalog/search")
def search():  # type: ignore[no-untyped-def]
    fed = _federation()
    if fed is None:
        return json_error(404, "not_hub", "only the hub keeps a federated catalogue")
    try:
        hits = fed.search(**search_args(request.args))
    except ValueError as e:
        return json_error(400, "bad_request", str(e))
    return {"count": len(hits), "datasets": [hit_json(h) for h in hits], "nodes": fed.nodes_summary()}


bp.register_blueprint(dsp, url_prefix="/dsp/2025-1")
bp.register_blueprint(api, url_prefix="/api")
bp.register_blueprint(public)
