"""Pages for people: the node's overview. Pages read the same services as the management API."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template_string

bp = Blueprint("pages", __name__)

_HOME = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Passerelle — {{ node.name }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}code{font-size:.9em}</style></head>
<body><h1>Passerelle — {{ node.name }}</h1>
<p>Nœud <strong>{{ role }}</strong> · identifiant <code>{{ node.did }}</code></p>
<p>Autorité : <code>{{ node.config.authority.did }}</code></p>
<h2>Adhésion</h2><p>{{ membership.status_fr }}</p>
{% if members is not none %}<h2>Participants ({{ members|length }})</h2>
<table><tr><th>DID</th><th>Organisation</th><th>Rôles</th><th>Territoire</th><th>Statut</th></tr>
{% for m in members %}<tr><td><code>{{ m.did }}</code></td><td>{{ m.legal_name }}</td><td>{{ m.roles|join(', ') }}</td>
<td>{{ m.territory|join(', ') }}</td><td>{{ m.status }}</td></tr>{% endfor %}</table>{% endif %}
</body></html>"""


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    node = current_app.config["NODE"]
    trust = current_app.config["TRUST"]
    members = trust.list_members() if node.is_authority else None
    role = "hub (autorité)" if node.is_authority else "connecteur"
    return render_template_string(_HOME, node=node, role=role, members=members,
                                  membership=trust.membership_summary())
