"""Management API for usage policies: validate one before publishing it, or check a request against it."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, jsonify, request

from connector.errors import json_error
from connector.web.management import _admin_only

bp = Blueprint("policies_api", __name__)
bp.before_request(_admin_only)


@bp.post("/policies/validate")
def validate():  # type: ignore[no-untyped-def]
    from policies import validate_policy
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return json_error(400, "bad_request", "the body must be a JSON object: the policy, or {policy, expect}")
    policy = body.get("policy", body)
    expect = body.get("expect", "Offer") if "policy" in body else "Offer"
    problems = validate_policy(policy, expect=expect, in_dataset=expect == "Offer")
    return jsonify({"valid": not problems, "problems": problems})


@bp.post("/policies/check")
def check():  # type: ignore[no-untyped-def]
    """Body: {policy, request: {party, action, purpose?, target?, recipient?, spatial?, claims?}, at?, count?}."""
    from policies import PolicyParseError, Request, World, evaluate, parse_policy
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("policy"), dict) \
            or not isinstance(body.get("request"), dict):
        return json_error(400, "bad_request", "expected {policy: {...}, request: {party, action, ...}}")
    req = body["request"]
    if not isinstance(req.get("party"), str) or not isinstance(req.get("action"), str):
        return json_error(400, "bad_request", "request.party and request.action are required strings")
    try:
        policy = parse_policy(body["policy"])
        now = datetime.fromisoformat(body["at"].replace("Z", "+00:00")) if body.get("at") \
            else current_app.config["NODE"].clock.utcnow()
        if now.tzinfo is None:
            return json_error(400, "bad_request", "at: give a timezone (e.g. 2026-07-01T00:00:00Z)")
        count = int(body.get("count", 0))
    except PolicyParseError as e:
        return json_error(400, "invalid_policy", "; ".join(e.problems))
    except (ValueError, TypeError) as e:
        return json_error(400, "bad_request", str(e))
    decision = evaluate(policy, Request(party=req["party"], action=req["action"], target=req.get("target"),
                                        purpose=req.get("purpose"), recipient=req.get("recipient"),
                                        spatial=req.get("spatial"), claims=req.get("claims") or {}),
                        World(now=now, count=count))
    return jsonify(decision.to_dict())
