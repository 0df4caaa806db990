"""Collection over HTTP: the upload page for small providers (``/depot``, in French) and the management API
(``/api/collection/...``, admin token) for uploads, the drop folder and quarantine reports.

Uploads bypass the app's 16 MiB body limit on these routes only: the body is read from the request stream in 1 MiB
pieces, the file part written straight to ``<data_dir>/collection/<id>/uploads/<uuid>`` (created with
``O_CREAT|O_EXCL|O_NOFOLLOW``; the client's file name is only a label), and refused with 413 as soon as it reaches
the dataset's limit (``max_upload_bytes``, at most 2 GiB). Nothing is held in memory but one piece.

The page signs in with the admin token (HTTP-only, SameSite=Strict cookie, as the negotiation page does).
Each worker process also starts the drop-folder watcher on its first request when a dataset declares a table schema
(``app.config["COLLECTION_WATCH"] = False`` turns that off).
"""

from __future__ import annotations

import hmac
import os
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from flask import Blueprint, current_app, make_response, redirect, render_template_string, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from connector.app import on_start
from connector.errors import json_error

__all__ = ["bp", "receive_upload", "UploadRefused", "RULE_LABELS"]

bp = Blueprint("collection_upload", __name__)

_COOKIE = "passerelle_admin"
_PIECE = 1 << 20
_DRAIN = 8 << 20  # an over-long body is read (and dropped) up to this much, so the client sees the 413
_OVERHEAD = 64 << 10  # multipart headers and boundaries around the file

# What each rule means, for people (the report's own reasons are the technical detail).
RULE_LABELS = {
    "file_name": "nom de fichier refusé", "size": "fichier trop volumineux", "format": "format non accepté",
    "encoding": "encodage incorrect (UTF-8 attendu)", "zip_bomb": "classeur anormal (bombe de décompression)",
    "truncated": "fichier tronqué ou illisible", "header": "ligne d'en-tête manquante",
    "columns": "colonnes non conformes au schéma", "rows": "trop de lignes", "column_count": "nombre de champs incorrect",
    "type": "valeur du mauvais type", "required": "valeur obligatoire manquante", "enum": "code hors de la liste",
    "pattern": "forme de valeur inattendue", "length": "longueur incorrecte", "minimum": "valeur sous le minimum",
    "maximum": "valeur au-dessus du maximum", "insee_code": "code INSEE inexistant",
    "formula_injection": "cellule commençant comme une formule", "duplicate": "ligne en double (même clé)",
    "metadata": "description du jeu de données incomplète",
    "single_snapshot": "plusieurs dates d'extraction dans un même fichier",
    "departure_after_arrival": "départ avant ou le jour de l'arrivée",
    "stay_on_or_after_arrival": "nuitée avant l'arrivée", "stay_before_departure": "nuitée le jour du départ ou après",
    "booked_before_arrival": "réservation postérieure à l'arrivée",
    "booked_before_snapshot": "réservation postérieure à l'extraction",
    "cancel_after_booking": "annulation avant la réservation",
    "cancel_before_snapshot": "annulation postérieure à l'extraction",
    "nights_match_dates": "nombre de nuits différent des dates",
    "cancel_date_iff_cancelled": "date d'annulation incohérente avec le statut",
    "opens_before_closing": "ouverture après la fermeture",
}
SCHEMA_TITLES = {"campsite-bookings": "Export hebdomadaire des réservations (une ligne par réservation et nuitée)",
                 "campsite-capacity": "Capacité (camping × date × type d'hébergement)",
                 "campsite-dimension": "Campings (étoiles et taille par classes)"}
STATUS_LABELS = {"published": "Publié", "unchanged": "Inchangé", "rejected": "Refusé"}
VIA_LABELS = {"upload": "page de dépôt", "depot": "dossier de dépôt", "publish": "ligne de commande", "api": "API"}


class UploadRefused(Exception):
    def __init__(self, status: int, code: str, message: str, message_fr: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.message_fr = status, code, message, message_fr


def _too_large(cap: int) -> UploadRefused:
    return UploadRefused(413, "too_large", f"the file must be under {_size(cap, 'en')}; split it by week",
                         f"Le fichier doit faire moins de {_size(cap, 'fr')} : découpez-le par semaine.")


def _size(n: int, lang: str) -> str:
    for unit, factor in (("Gio" if lang == "fr" else "GiB", 1 << 30), ("Mio" if lang == "fr" else "MiB", 1 << 20),
                         ("Kio" if lang == "fr" else "KiB", 1 << 10)):
        if n >= factor:
            text = f"{n / factor:.3g} {unit}"
            return text.replace(".", ",") if lang == "fr" else text
    return f"{n} octets" if lang == "fr" else f"{n} bytes"


def _open_new(directory: Path) -> tuple[Path, BinaryIO]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f".upload-{os.getpid()}-{uuid.uuid4().hex}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    return path, os.fdopen(fd, "wb")


def _drain(stream: Any) -> None:
    left = _DRAIN
    try:
        while left > 0:
            piece = stream.read(min(_PIECE, left))
            if not piece:
                break
            left -= len(piece)
    except Exception:  # the client went away: nothing to answer
        pass


def receive_upload(stream: Any, content_type: str, content_length: int | None, directory: Path, cap: int,
                   name_hint: str | None = None) -> tuple[Path, str]:
    """Stream the upload to a new file in ``directory``; returns its path and the client's file name.

    A multipart body's first file part is the file (``name_hint`` is ignored); any other body is the file itself,
    named by ``name_hint``. Raises :class:`UploadRefused` (413 beyond ``cap``, 400 for a malformed body), removing
    what was written."""
    if content_length is not None and content_length > cap + _OVERHEAD:
        _drain(stream)
        raise _too_large(cap)
    mimetype, options = parse_options_header(content_type or "")
    path, out = _open_new(directory)
    written = 0
    try:
        with out:
            if mimetype != "multipart/form-data":
                if not name_hint:
                    raise UploadRefused(400, "bad_request", "name the file with ?name=…",
                                        "Le nom du fichier manque.")
                while piece := stream.read(_PIECE):
                    written += len(piece)
                    if written >= cap:
                        _drain(stream)
                        raise _too_large(cap)
                    out.write(piece)
                return path, name_hint
            boundary = options.get("boundary", "").encode("latin-1")
            if not boundary:
                raise UploadRefused(400, "bad_request", "multipart body without a boundary", "Envoi mal formé.")
            decoder = MultipartDecoder(boundary, max_form_memory_size=2 * _PIECE + _OVERHEAD, max_parts=16)
            filename: str | None = None
            in_file = done = False
            while not done:
                piece = stream.read(_PIECE)
                try:
                    decoder.receive_data(piece or None)
                except RequestEntityTooLarge:
                    raise UploadRefused(400, "bad_request", "a multipart header is too long",
                                        "Envoi mal formé.") from None
                while True:
                    try:
                        event = decoder.next_event()
                    except ValueError:
                        raise UploadRefused(400, "bad_request", "malformed multipart body",
                                            "Envoi mal formé : recommencez.") from None
                    if isinstance(event, NeedData):
                        break
                    if isinstance(event, Epilogue):
                        done = True
                        break
                    if isinstance(event, File) and filename is None:
                        filename, in_file = event.filename or "", True
                    elif isinstance(event, (File, Field)):
                        in_file = False
                    elif isinstance(event, Data) and in_file:
                        written += len(event.data)
                        if written >= cap:
                            _drain(stream)
                            raise _too_large(cap)
                        out.write(event.data)
                        if not event.more_data:
                            in_file = False
                if not piece and not done:
                    raise UploadRefused(400, "truncated", "the upload ended early; send it again",
                                        "L'envoi s'est interrompu : recommencez.")
            if filename is None:
                raise UploadRefused(400, "bad_request", "no file in the upload (field 'file')",
                                    "Aucun fichier n'a été choisi.")
            out.flush()
            os.fsync(out.fileno())
            return path, filename
    except BaseException:
        path.unlink(missing_ok=True)
        raise


# -- helpers --------------------------------------------------------------------------------------------------------

def _node() -> Any:
    return current_app.config["NODE"]


def _admin_ok(allow_cookie: bool = False) -> bool:
    header = request.headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else request.headers.get("X-Admin-Token", "")
    if not given and allow_cookie:
        given = request.cookies.get(_COOKIE, "")
    return bool(given) and hmac.compare_digest(given.encode(), _node().admin_token.encode())


def _datasets() -> dict[str, Any]:
    from connector.collection import collected_datasets
    return collected_datasets(_node())


def _receive(identifier: str, settings: Any, via: str) -> Any:
    """Receive the body, run the pipeline, remove the received file; the Submission."""
    from connector.collection import collect, dataset_paths, magic_suffix
    node = _node()
    request.max_content_length = None  # this route reads the stream itself, with the dataset's cap
    path, name = receive_upload(request.stream, request.headers.get("Content-Type", ""), request.content_length,
                                dataset_paths(node, identifier).uploads, settings.max_bytes,
                                request.args.get("name"))
    typed = path.with_name(path.name + magic_suffix(path))
    os.rename(path, typed)
    try:
        return collect(node, identifier, typed, original_name=name, via=via,
                       service=current_app.config.get("CATALOG"))
    finally:
        typed.unlink(missing_ok=True)


@bp.record_once
def _setup(state: Any) -> None:
    on_start(state.app, _watch)


def _watch(app: Any) -> None:
    """Start this process's drop-folder watcher once (threads do not survive a fork, so not earlier)."""
    watcher = app.config.get("COLLECTION_WATCHER")
    if not app.config.get("COLLECTION_WATCH", True) or (watcher is not None and watcher.pid == os.getpid()):
        return
    from connector.collection import DropFolderWatcher, collected_datasets
    node = app.config["NODE"]
    if not collected_datasets(node):
        app.config["COLLECTION_WATCH"] = False
        return
    app.config["COLLECTION_WATCHER"] = DropFolderWatcher(node, service=app.config.get("CATALOG")).start()


# -- management API -------------------------------------------------------------------------------------------------

def _unknown(identifier: str):  # type: ignore[no-untyped-def]
    return json_error(404, "unknown_dataset", f"no dataset {identifier!r} declares a table schema on this node")


@bp.get("/api/collection")
def api_datasets():  # type: ignore[no-untyped-def]
    if not _admin_ok():
        return json_error(401, "unauthorized", "missing or wrong admin token")
    from connector.collection import dataset_paths
    node = _node()
    return {"datasets": [{"identifier": ident, "schema": s.schema.iri, "schema_name": s.schema.name,
                          "key_version": s.key_version, "max_upload_bytes": s.max_bytes,
                          "drop_folder": str(dataset_paths(node, ident).drop)}
                         for ident, s in _datasets().items()]}


@bp.post("/api/collection/<identifier>/uploads")
def api_upload(identifier: str):  # type: ignore[no-untyped-def]
    """Multipart (field ``file``) or the raw file with ``?name=``: 201 published, 200 unchanged, 422 refused."""
    if not _admin_ok():
        return json_error(401, "unauthorized", "missing or wrong admin token")
    settings = _datasets().get(identifier)
    if settings is None:
        return _unknown(identifier)
    try:
        sub = _receive(identifier, settings, "api")
    except UploadRefused as e:
        resp = json_error(e.status, e.code, e.message)
        resp.headers["Connection"] = "close"
        return resp
    body = sub.to_dict()
    return body, {"published": 201, "unchanged": 200}.get(sub.status, 422)


@bp.get("/api/collection/<identifier>/uploads")
def api_submissions(identifier: str):  # type: ignore[no-untyped-def]
    if not _admin_ok():
        return json_error(401, "unauthorized", "missing or wrong admin token")
    if identifier not in _datasets():
        return _unknown(identifier)
    from connector.collection import submissions
    return {"submissions": [s.to_dict(with_report=False) for s in submissions(_node(), identifier)]}


@bp.get("/api/collection/<identifier>/quarantine")
def api_quarantine(identifier: str):  # type: ignore[no-untyped-def]
    if not _admin_ok():
        return json_error(401, "unauthorized", "missing or wrong admin token")
    if identifier not in _datasets():
        return _unknown(identifier)
    from connector.collection import quarantine_reports
    return {"quarantine": quarantine_reports(_node(), identifier)}


@bp.get("/api/collection/<identifier>/quarantine/<entry>")
def api_quarantine_report(identifier: str, entry: str):  # type: ignore[no-untyped-def]
    if not _admin_ok():
        return json_error(401, "unauthorized", "missing or wrong admin token")
    if identifier not in _datasets():
        return _unknown(identifier)
    from connector.collection import quarantine_report
    doc = quarantine_report(_node(), identifier, entry)
    if doc is None:
        return json_error(404, "unknown_entry", f"no quarantine entry {entry!r}")
    return doc


@bp.post("/api/collection/<identifier>/depot/scan")
def api_scan(identifier: str):  # type: ignore[no-untyped-def]
    """Process the drop folder now (files untouched for ``min_age`` seconds, default 5)."""
    if not _admin_ok():
        return json_error(401, "unauthorized", "missing or wrong admin token")
    if identifier not in _datasets():
        return _unknown(identifier)
    from connector.collection import process_drop_folder
    try:
        min_age = float(request.args.get("min_age", 5))
    except ValueError:
        return json_error(400, "bad_request", "min_age must be a number of seconds")
    subs = process_drop_folder(_node(), identifier, min_age=max(min_age, 0.0),
                               service=current_app.config.get("CATALOG"))
    return {"submissions": [s.to_dict() for s in subs]}


# -- the page -------------------------------------------------------------------------------------------------------

_CSS = """
*{box-sizing:border-box}body{margin:0;font-family:"Marianne","Segoe UI",Roboto,"Helvetica Neue","Liberation Sans",
"DejaVu Sans",Arial,sans-serif;
color:#161616;background:#f6f6f6;font-size:15px;line-height:1.45}
header{background:#000091;color:#fff;padding:.9rem 2rem;display:flex;align-items:baseline;gap:1.5rem}
header .brand{font-weight:700;font-size:1.15rem;letter-spacing:.02em}header .org{opacity:.85}
header nav{margin-left:auto}header a{color:#fff}
main{max-width:68rem;margin:1.5rem auto;padding:0 1.5rem}
h1{font-size:1.6rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:0 0 .8rem}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1.2rem 1.4rem;margin-bottom:1.2rem}
.card>p:first-child{margin-top:0}
.muted{color:#666;font-size:.9em}code{font-size:.88em;background:#eef;padding:0 .25em;border-radius:3px}
table{border-collapse:collapse;width:100%}th,td{padding:.45rem .6rem;text-align:left;vertical-align:top;
border-bottom:1px solid #e5e5e5}th{background:#f0f0f7;font-weight:600;font-size:.9em}
tr:nth-child(even) td{background:#fafafa}
.badge{display:inline-block;padding:.1rem .55rem;border-radius:1rem;font-size:.82em;font-weight:600}
.ok{background:#b8fec9;color:#18753c}.ko{background:#ffe9e9;color:#ce0500}.same{background:#eee;color:#444}
.alert{border-left:5px solid;padding:.8rem 1rem;border-radius:4px;margin-bottom:1.2rem;background:#fff}
.alert.ok{border-color:#18753c;background:#f0fff4;color:#161616}.alert.ko{border-color:#ce0500;background:#fff4f4;color:#161616}
.alert strong{display:block;margin-bottom:.2rem}
.upload{display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
input[type=file]{padding:.5rem;border:1px dashed #888;border-radius:4px;background:#fafafa;min-width:22rem}
button{background:#000091;color:#fff;border:0;padding:.6rem 1.2rem;border-radius:4px;font-size:1rem;cursor:pointer}
button:hover{background:#1212ff}input[type=password]{padding:.5rem;border:1px solid #888;border-radius:4px}
.counts span{margin-right:1rem}.val{font-family:ui-monospace,monospace;font-size:.9em;word-break:break-all}
.tech{color:#777;font-size:.85em}details{margin-top:.8rem}summary{cursor:pointer;color:#000091}
details table{margin-top:.6rem;font-size:.92em}label.file{display:block;font-weight:600;margin-bottom:.4rem}
"""

_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Dépôt de fichiers — {{ node.config.organisation.legal_name }}</title><style>{{ css|safe }}</style></head>
<body><header><span class="brand">Passerelle</span><span class="org">{{ node.config.organisation.legal_name }}</span>
<nav><a href="/depot">Dépôt de fichiers</a></nav></header><main>
{% if not signed_in %}
<h1>Dépôt de fichiers</h1>
<div class="card"><h2>Connexion</h2>
{% if error %}<div class="alert ko" role="alert">{{ error }}</div>{% endif %}
<form method="post" action="/depot/connexion"><label>Jeton d'accès du nœud
<input type="password" name="jeton" required autocomplete="off"></label> <button type="submit">Se connecter</button></form>
</div>
{% elif dataset is none %}
<h1>Dépôt de fichiers</h1>
<div class="card"><p>Choisissez le jeu de données auquel vous envoyez un fichier (Excel .xlsx, CSV UTF-8 ou Parquet).
Chaque fichier est vérifié ligne par ligne ; les identifiants sont pseudonymisés avant publication.</p>
<table><tr><th>Jeu de données</th><th>Schéma</th><th>Dernier dépôt</th></tr>
{% for d in datasets %}<tr><td><a href="/depot/{{ d.id }}"><strong>{{ d.title }}</strong></a><br>
<span class="muted"><code>{{ d.id }}</code></span></td><td>{{ d.schema_title }}<br><span class="muted">{{ d.schema }}</span></td>
<td>{% if d.last %}<span class="badge {{ d.last_class }}">{{ d.last_status }}</span> {{ d.last.received[:16]|replace('T', ' ') }}{% else %}—{% endif %}</td></tr>
{% else %}<tr><td colspan="3">Aucun jeu de données de ce nœud ne déclare de schéma : rien à déposer.</td></tr>{% endfor %}
</table></div>
{% else %}
<h1>{{ title }}</h1>
<p class="muted">Jeu de données <code>{{ dataset }}</code> · schéma <a href="{{ schema.iri }}">{{ schema.name }} {{ schema.version }}</a>
· taille maximale {{ max_size }}{% if version %} · version publiée : <strong id="version-courante">{{ version }}</strong>{% endif %}</p>
{% if error %}<div class="alert ko" role="alert"><strong>Envoi refusé</strong>{{ error }}</div>{% endif %}
{% if sub %}
  {% if sub.status == 'rejected' %}
  <div class="alert ko" role="alert" id="resultat"><strong>Fichier refusé : rien n'a été publié.</strong>
  « {{ sub.original_name }} » : {{ sub.total_problems }} problème{{ 's' if sub.total_problems > 1 }} trouvé{{ 's' if sub.total_problems > 1 }}.
  {% if version %}La version {{ version }} reste publiée.{% endif %} Corrigez le fichier et déposez-le à nouveau.</div>
  {% else %}
  <div class="alert ok" role="status" id="resultat"><strong>{% if sub.status == 'published' %}Version {{ sub.version }} publiée.{% else %}Fichier déjà publié (version {{ sub.version }}).{% endif %}</strong>
  « {{ sub.original_name }} » : {{ '{:,}'.format(sub.rows).replace(',', ' ') }} lignes vérifiées, identifiants pseudonymisés, publiées au format Parquet.</div>
  {% endif %}
{% endif %}
{% if report %}
<div class="card" id="rapport"><h2>Rapport de vérification</h2>
{% if report.fatal %}<p><strong>{{ label(report.problems[0].rule) if report.problems else '' }}</strong> — <span class="tech">{{ report.fatal }}</span></p>{% endif %}
<p class="counts">{% for rule, n in report.counts.items() %}<span><span class="badge ko">{{ n }}</span> {{ label(rule) }}</span>{% endfor %}</p>
{% if report.problems and not report.fatal %}
<table><tr><th>Ligne</th><th>Colonne</th><th>Valeur</th><th>Problème</th></tr>
{% for p in report.problems %}<tr><td>{{ p.row if p.row is not none else '—' }}</td><td>{{ p.column or '—' }}</td>
<td class="val">{{ p.value if p.value is not none else '' }}</td>
<td>{{ label(p.rule) }}<br><span class="tech">{{ p.reason }}</span></td></tr>{% endfor %}</table>
{% if report.total_problems > report.problems|length %}<p class="muted">Les {{ report.problems|length }} premiers problèmes sont affichés sur {{ report.total_problems }}.</p>{% endif %}
{% endif %}</div>
{% endif %}
<div class="card"><h2>Déposer un fichier</h2>
<p>Excel (.xlsx), CSV UTF-8 ou Parquet, avec les colonnes du schéma dans la première ligne. Le fichier est vérifié
en entier avant toute publication : s'il contient une erreur, rien n'est publié et le rapport indique chaque ligne à
corriger.</p>
<form method="post" action="/depot/{{ dataset }}" enctype="multipart/form-data">
<label class="file" for="fichier">Fichier à déposer</label><div class="upload">
<input type="file" name="file" id="fichier" accept=".xlsx,.csv,.parquet" required>
<button type="submit" id="envoyer">Vérifier et publier</button></div></form>
<details><summary>Colonnes attendues ({{ schema.fields|length }})</summary>
<table><tr><th>Colonne</th><th>Type</th><th>Obligatoire</th><th>Description</th></tr>
{% for f in schema.fields %}<tr><td><code>{{ f.name }}</code></td><td>{{ types.get(f.type, f.type) }}</td>
<td>{{ 'oui' if f.required else 'non' }}</td><td class="muted">{{ f.description }}</td></tr>{% endfor %}</table>
</details></div>
<div class="card"><h2>Derniers dépôts</h2>
<table id="historique"><tr><th>Reçu le (UTC)</th><th>Fichier</th><th>Par</th><th>Résultat</th><th>Lignes</th><th>Version</th></tr>
{% for s in history %}<tr><td>{{ s.received[:19]|replace('T', ' ') }}</td><td>{{ s.original_name }}</td><td>{{ via(s.via) }}</td>
<td><a href="/depot/{{ dataset }}?envoi={{ s.id }}"><span class="badge {{ klass(s.status) }}">{{ status(s.status) }}</span></a>
{% if s.status == 'rejected' %}<span class="muted">{{ s.total_problems }} problème{{ 's' if s.total_problems > 1 }}</span>{% endif %}</td>
<td>{{ s.rows or '' }}</td><td>{{ s.version or '' }}</td></tr>
{% else %}<tr><td colspan="6">Aucun dépôt pour l'instant.</td></tr>{% endfor %}</table></div>
{% endif %}
</main></body></html>"""


def _label(rule: str) -> str:
    return RULE_LABELS.get(rule, rule.replace("_", " "))


def _render(dataset: str | None = None, *, sub_id: str | None = None, error: str | None = None,
            status: int = 200):  # type: ignore[no-untyped-def]
    from connector.collection import quarantine_report, submissions
    node = _node()
    signed_in = _admin_ok(allow_cookie=True)
    ctx: dict[str, Any] = {"node": node, "css": _CSS, "signed_in": signed_in, "error": error, "dataset": None,
                           "label": _label, "status": lambda s: STATUS_LABELS.get(s, s),
                           "klass": lambda s: {"published": "ok", "rejected": "ko"}.get(s, "same"),
                           "via": lambda v: VIA_LABELS.get(v, v),
                           "types": {"string": "texte", "integer": "entier", "number": "nombre", "date": "date (AAAA-MM-JJ)",
                                     "boolean": "booléen (true/false)"}}
    if signed_in:
        sets = _datasets()
        if dataset is None:
            rows = []
            for ident, s in sets.items():
                last = next(iter(submissions(node, ident, limit=1)), None)
                rows.append({"id": ident, "title": _title(node, ident), "schema": s.schema.iri,
                             "schema_title": SCHEMA_TITLES.get(s.schema.name, s.schema.title), "last": last,
                             "last_status": STATUS_LABELS.get(last.status, "") if last else "",
                             "last_class": ctx["klass"](last.status) if last else ""})
            ctx["datasets"] = rows
        else:
            s = sets[dataset]
            history = submissions(node, dataset, limit=20)
            sub = next((x for x in history if x.id == sub_id), None) if sub_id else None
            report = None
            if sub is not None and sub.status == "rejected":
                doc = quarantine_report(node, dataset, sub.quarantine) if sub.quarantine else None
                report = doc["report"] if doc else {"fatal": sub.message, "counts": sub.counts,
                                                    "problems": [], "total_problems": sub.total_problems}
            current = current_app.config["CATALOG"].catalogue().datasets.get(dataset)
            ctx.update(dataset=dataset, title=_title(node, dataset), schema=s.schema, history=history, sub=sub,
                       report=report, version=current.version if current else None,
                       max_size=_size(s.max_bytes, "fr"))
    resp = make_response(render_template_string(_PAGE, **ctx), status)
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _title(node: Any, ident: str) -> str:
    section = node.config.model.datasets.get(ident) or {}
    title = section.get("title")
    if isinstance(title, dict):
        return title.get("fr") or next(iter(title.values()), ident)
    return title if isinstance(title, str) else ident


@bp.get("/depot")
def page():  # type: ignore[no-untyped-def]
    return _render()


@bp.post("/depot/connexion")
def sign_in():  # type: ignore[no-untyped-def]
    token = request.form.get("jeton", "")
    if not token or not hmac.compare_digest(token.encode(), _node().admin_token.encode()):
        return _render(error="Jeton incorrect.", status=401)
    resp = make_response(redirect("/depot", code=303))
    resp.set_cookie(_COOKIE, token, httponly=True, samesite="Strict", path="/")
    return resp


@bp.get("/depot/<identifier>")
def dataset_page(identifier: str):  # type: ignore[no-untyped-def]
    if _admin_ok(allow_cookie=True) and identifier not in _datasets():
        return _render(error=f"Aucun jeu de données « {identifier} » n'accepte de dépôt.", status=404)
    return _render(identifier if _admin_ok(allow_cookie=True) else None, sub_id=request.args.get("envoi"))


@bp.post("/depot/<identifier>")
def upload(identifier: str):  # type: ignore[no-untyped-def]
    if not _admin_ok(allow_cookie=True):
        return _render(error="Connectez-vous d'abord.", status=401)
    settings = _datasets().get(identifier)
    if settings is None:
        return _render(error=f"Aucun jeu de données « {identifier} » n'accepte de dépôt.", status=404)
    try:
        sub = _receive(identifier, settings, "upload")
    except UploadRefused as e:
        resp = _render(identifier, error=e.message_fr, status=e.status)
        resp.headers["Connection"] = "close"
        return resp
    return redirect(f"/depot/{identifier}?envoi={sub.id}", code=303)
