"""Read policies from the DSP 2025-1 compacted form or from expanded JSON-LD, and write the compacted form.

The compacted reader is tolerant of the spellings peers actually send (``odrl:`` prefixes, full IRIs, ``uid`` for
``@id``, bare or prefixed left operands, ``{"@id"}`` objects for parties) so that equivalent inputs give equal
models. Structural problems (not an object, unknown policy type, a rule that is not an object) raise
:class:`PolicyParseError` listing all of them; a constraint that cannot be read becomes a
:class:`~policies.model.MalformedConstraint`, which the evaluator denies with its problems (fail closed).
"""

from __future__ import annotations

from typing import Any, Mapping

from policies.model import (AnyConstraint, Constraint, LogicalConstraint, MalformedConstraint, Policy, Rule,
                            Value)
from policies.vocabulary import (LOGICAL_OPERATORS, ODRL, XSD, action_iri, compact, left_operand_iri,
                                 operator_iri)

__all__ = ["PolicyParseError", "from_dsp", "from_jsonld", "parse_policy", "to_dsp"]

_RDF_VALUE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#value"
_POLICY_CLASSES = {"Set": "Set", "Offer": "Offer", "Agreement": "Agreement", "Policy": "Set", "Privacy": "Set",
                   "Ticket": "Set", "Request": "Set", "Assertion": "Set"}
_RULE_KEYS = {"permission": "permission", "prohibition": "prohibition", "obligation": "obligation"}
_LIST_OPERATORS = {ODRL + o for o in ("isAnyOf", "isNoneOf", "isAllOf")}
_NESTED_DUTY_KEY = {"permission": "duty", "prohibition": "remedy", "duty": "consequence", "obligation": "consequence"}


class PolicyParseError(ValueError):
    """A policy document that cannot be read; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _key(k: str) -> str:
    """Canonical key: ``@id``/``uid`` → ``@id``, ``odrl:x`` / full ODRL IRI → ``x``."""
    if k in ("uid", "@id"):
        return "@id"
    if k in ("type", "@type"):
        return "@type"
    if k.startswith("odrl:"):
        return k[5:]
    if k.startswith(ODRL):
        return k[len(ODRL):]
    if k in ("rdf:value", _RDF_VALUE):
        return "rdf:value"
    if k.startswith("dspace:"):
        return k[7:]
    return k


def _norm(obj: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = _key(k)
        if key == "@id":
            if isinstance(v, dict) and isinstance(v.get("@id"), str):  # ``odrl:uid`` as a node reference
                v = v["@id"]
            if isinstance(out.get("@id"), str) or (isinstance(v, str) and v.startswith("_:")):
                continue  # a blank node label is not an identifier
        out[key] = v
    return out


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    if isinstance(v, list):
        return v
    if isinstance(v, dict) and ("@list" in v or "@set" in v):
        return list(v.get("@list", v.get("@set")) or [])
    return [v]


def _ident(v: Any, where: str, problems: list[str]) -> str | None:
    """A party / asset / action reference: a string, ``{"@id"}`` / ``{"uid"}`` object, or a one-element list."""
    if v is None:
        return None
    if isinstance(v, list):
        if len(v) != 1:
            problems.append(f"{where}: expected one value, got {len(v)}")
            return None
        v = v[0]
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        d = _norm(v)
        if isinstance(d.get("@id"), str):
            return d["@id"]
        if "rdf:value" in d:
            return _ident(d["rdf:value"], where, problems)
        if isinstance(d.get("@value"), str):
            return d["@value"]
    problems.append(f"{where}: expected an identifier, got {v!r}")
    return None


def _collection(v: Any, where: str, problems: list[str]) -> tuple[str | None, tuple[AnyConstraint, ...]]:
    """A target or assignee: an identifier, or a Party/AssetCollection object with ``source`` and ``refinement``."""
    if isinstance(v, list) and len(v) == 1:
        v = v[0]
    if isinstance(v, dict):
        d = _norm(v)
        if "refinement" in d or "source" in d:
            ref = d.get("source", d.get("@id"))
            ident = _ident(ref, f"{where}.source", problems) if ref is not None else None
            return ident, _constraints(d.get("refinement"), f"{where}.refinement")
    return _ident(v, where, problems), ()


def _values(raw: Any) -> tuple[tuple[Value, ...], bool, list[str]]:
    """Right operand → (values, is_list, problems)."""
    problems: list[str] = []
    is_list = isinstance(raw, list)
    if isinstance(raw, dict) and ("@list" in raw or "@set" in raw):
        is_list = True
    items = _as_list(raw)
    out = []
    for item in items:
        if isinstance(item, dict):
            d = _norm(item)
            if "@id" in d and isinstance(d["@id"], str):
                out.append(Value(d["@id"], None, True))
            elif "@value" in d:
                t = d.get("@type")
                if isinstance(t, str) and t.startswith("xsd:"):
                    t = XSD + t[4:]
                out.append(Value(d["@value"], t if isinstance(t, str) else None))
            else:
                problems.append(f"right operand value {item!r} has neither @id nor @value")
        elif isinstance(item, (str, int, float, bool)):
            out.append(Value(item))
        else:
            problems.append(f"right operand value {item!r} is not a scalar")
    if not out and not problems:
        problems.append("right operand is empty")
    return tuple(out), is_list, problems


def _constraint(raw: Any, where: str) -> AnyConstraint:
    if not isinstance(raw, dict):
        return MalformedConstraint((f"{where}: a constraint must be an object, got {type(raw).__name__}",))
    d = _norm(raw)
    uid = d.get("@id") if isinstance(d.get("@id"), str) else None
    logical = [op for op in LOGICAL_OPERATORS if op in d]
    if logical:
        problems = []
        if len(logical) > 1:
            problems.append(f"{where}: a logical constraint has exactly one of and/or/xone/andSequence, got "
                            f"{', '.join(logical)}")
        if "leftOperand" in d or "operator" in d:
            problems.append(f"{where}: a logical constraint cannot also have leftOperand/operator")
        op = logical[0]
        members = _as_list(d[op])
        if not members:
            problems.append(f"{where}.{op}: needs at least one constraint")
        if problems:
            return MalformedConstraint(tuple(problems), uid)
        return LogicalConstraint(op, tuple(_constraint(m, f"{where}.{op}[{i}]") for i, m in enumerate(members)), uid)
    problems: list[str] = []
    left = _ident(d.get("leftOperand"), f"{where}.leftOperand", problems) if "leftOperand" in d else None
    op = _ident(d.get("operator"), f"{where}.operator", problems) if "operator" in d else None
    if left is None and "leftOperand" not in d:
        problems.append(f"{where}: missing leftOperand")
    if op is None and "operator" not in d:
        problems.append(f"{where}: missing operator")
    if "rightOperand" not in d:
        problems.append(f"{where}: missing rightOperand" + (" (rightOperandReference is not supported)"
                                                            if "rightOperandReference" in d else ""))
        right, is_list = (), False
    else:
        right, is_list, rp = _values(d["rightOperand"])
        problems += [f"{where}: {p}" for p in rp]
    if problems or left is None or op is None:
        return MalformedConstraint(tuple(problems) or (f"{where}: unreadable constraint",), uid)
    unit = _ident(d.get("unit"), f"{where}.unit", problems) if "unit" in d else None
    dt = _ident(d.get("dataType"), f"{where}.dataType", problems) if "dataType" in d else None
    op_iri = operator_iri(op)
    # list-ness is meaning, not spelling: set operators always take a list, others a list only of several values
    # (JSON-LD does not keep a one-element array, so this is what makes both forms read the same)
    is_list = len(right) > 1 or op_iri in _LIST_OPERATORS
    return Constraint(left_operand_iri(left), op_iri, right, is_list, unit, dt, uid)


def _constraints(raw: Any, where: str) -> tuple[AnyConstraint, ...]:
    return tuple(_constraint(c, f"{where}[{i}]") for i, c in enumerate(_as_list(raw)))


def _rules(raw: Any, kind: str, where: str, inherited: dict[str, str | None],
           problems: list[str]) -> list[Rule]:
    rules: list[Rule] = []
    for i, item in enumerate(_as_list(raw)):
        w = f"{where}[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{w}: a rule must be an object, got {type(item).__name__}")
            continue
        d = _norm(item)
        refinements: tuple[AnyConstraint, ...] = ()
        actions: list[str | None] = []
        for j, a in enumerate(_as_list(d.get("action"))):
            if isinstance(a, dict):
                ad = _norm(a)
                if "refinement" in ad:
                    refinements = _constraints(ad["refinement"], f"{w}.action.refinement")
                name = _ident(ad.get("rdf:value", ad.get("@id")), f"{w}.action", problems)
            else:
                name = _ident(a, f"{w}.action", problems)
            if name is not None:
                actions.append(action_iri(name))
        if not actions:
            actions = [None]
        party = {k: (_collection(d[k], f"{w}.{k}", problems) if k in d else inherited[k])
                 for k in ("target", "assignee", "assigner")}
        nested_key = _NESTED_DUTY_KEY[kind]
        nested_kind = "duty"
        duties = tuple(_rules(d.get(nested_key), nested_kind, f"{w}.{nested_key}", party, problems))
        constraints = _constraints(d.get("constraint"), f"{w}.constraint")
        uid = d.get("@id") if isinstance(d.get("@id"), str) else None
        for action in actions:  # a rule with several actions is shorthand for one rule per action
            rules.append(Rule(kind, action, constraints, refinements, duties, party["target"][0],
                              party["assignee"][0], party["assigner"][0], uid, party["target"][1],
                              party["assignee"][1]))
    return rules


def from_dsp(obj: Any) -> Policy:
    """Read a policy in the DSP compacted form (an ``Offer`` in a catalogue or message, an ``Agreement``, a Set)."""
    if not isinstance(obj, dict):
        raise PolicyParseError([f"a policy must be a JSON object, got {type(obj).__name__}"])
    d = _norm(obj)
    problems: list[str] = []
    types = [t.removeprefix("odrl:").removeprefix(ODRL) for t in _as_list(d.get("@type", "Set"))
             if isinstance(t, str)]
    ptype = next((_POLICY_CLASSES[t] for t in types if t in _POLICY_CLASSES), None)
    if ptype is None:
        problems.append(f"@type: expected Set, Offer or Agreement, got {d.get('@type')!r}")
    uid = d.get("@id")
    if uid is not None and not isinstance(uid, str):
        problems.append("@id: must be a string")
        uid = None
    inherited = {k: (_collection(d[k], k, problems) if k in d else (None, ()))
                 for k in ("target", "assignee", "assigner")}
    rules = {kind: _rules(d.get(kind), kind, kind, inherited, problems) for kind in _RULE_KEYS}
    profile = tuple(p for p in (_ident(x, "profile", problems) for x in _as_list(d.get("profile"))) if p)
    conflict = _ident(d["conflict"], "conflict", problems) if "conflict" in d else None
    if conflict is not None:
        conflict = conflict.removeprefix("odrl:").removeprefix(ODRL)
        if conflict not in ("perm", "prohibit", "invalid"):
            problems.append(f"conflict: expected perm, prohibit or invalid, got {conflict!r}")
    ts = d.get("timestamp")
    if isinstance(ts, dict):
        ts = ts.get("@value")
    if problems:
        raise PolicyParseError(problems)
    known = {"@id", "@type", "@context", "target", "assignee", "assigner", "profile", "conflict", "timestamp",
             *_RULE_KEYS}
    extra = tuple((k, v) for k, v in obj.items() if _key(k) not in known)
    return Policy(ptype or "Set", uid, tuple(rules["permission"]), tuple(rules["prohibition"]),
                  tuple(rules["obligation"]), inherited["target"][0], inherited["assigner"][0],
                  inherited["assignee"][0],
                  profile, conflict, ts if isinstance(ts, str) else None, extra)


# --- expanded JSON-LD -------------------------------------------------------------------------------------------

_STRUCTURAL = {"permission", "prohibition", "obligation", "duty", "remedy", "consequence", "constraint",
               "refinement", "and", "or", "xone", "andSequence", "action"}


def _index(node: Any, nodes: dict[str, dict]) -> None:
    if isinstance(node, list):
        for n in node:
            _index(n, nodes)
    elif isinstance(node, dict):
        if "@graph" in node:
            _index(node["@graph"], nodes)
        if isinstance(node.get("@id"), str) and len(node) > 1:
            nodes.setdefault(node["@id"], {}).update(node)
        for v in node.values():
            if isinstance(v, (list, dict)):
                _index(v, nodes)


def _unexpand(node: dict, nodes: dict[str, dict], depth: int = 0) -> dict:
    """Expanded node → the compacted-like dict :func:`from_dsp` reads, resolving node references."""
    if depth > 64:
        raise PolicyParseError(["JSON-LD nesting deeper than 64 levels (a reference cycle?)"])
    out: dict[str, Any] = {}
    for k, v in node.items():
        key = _key(k)
        if k == "@type":
            out["@type"] = [t.removeprefix(ODRL) for t in _as_list(v)]
            continue
        if key in _STRUCTURAL or key == "rdf:value":
            items = []
            for item in _as_list(v):
                if isinstance(item, dict) and set(item) == {"@id"} and item["@id"] in nodes:
                    ref = nodes[item["@id"]]
                    if key == "action" and not any(_key(x) in ("rdf:value", "refinement") for x in ref):
                        items.append(item["@id"])  # a plain action IRI that the document also describes
                    else:
                        items.append(_unexpand(ref, nodes, depth + 1))
                elif isinstance(item, dict) and "@list" in item:
                    items.extend(_unexpand(x, nodes, depth + 1) if isinstance(x, dict) and "@id" in x
                                 and x["@id"] in nodes else x for x in item["@list"])
                elif isinstance(item, dict) and "@id" not in item and "@value" not in item:
                    items.append(_unexpand(item, nodes, depth + 1))
                else:
                    items.append(item)
            out[key] = items
        elif key in ("target", "assignee", "assigner"):
            vals = []
            for i in _as_list(v):
                if isinstance(i, dict) and set(i) == {"@id"} and any(_key(x) == "refinement"
                                                                     for x in nodes.get(i["@id"], {})):
                    vals.append(_unexpand(nodes[i["@id"]], nodes, depth + 1))  # a refined collection node
                elif isinstance(i, dict) and set(i) - {"@id", "@value", "@type"}:
                    vals.append(_unexpand(i, nodes, depth + 1))  # an embedded collection
                else:
                    vals.append(i)
            out[key] = vals[0] if len(vals) == 1 else vals
        elif key == "rightOperand":
            vals = []
            for item in _as_list(v):
                if isinstance(item, dict) and "@list" in item:
                    vals.extend(item["@list"])
                else:
                    vals.append(item)
            out[key] = vals if len(vals) != 1 else vals[0]
        else:
            vals = _as_list(v)
            out[key] = vals[0] if len(vals) == 1 else vals
    return out


def from_jsonld(doc: Any, policy_id: str | None = None) -> Policy:
    """Read a policy from expanded (or flattened) JSON-LD, e.g. the output of an RDF serialiser.

    The document may hold several nodes; the policy is the one with an ODRL policy ``@type`` (or ``policy_id``).
    """
    nodes: dict[str, dict] = {}
    _index(doc, nodes)
    candidates = [n for n in ([nodes[policy_id]] if policy_id in nodes else nodes.values())
                  if any(str(t).removeprefix(ODRL) in _POLICY_CLASSES and str(t).startswith(ODRL)
                         for t in _as_list(n.get("@type")))]
    if policy_id is None and not candidates and isinstance(doc, dict):
        candidates = [doc]
    if len(candidates) != 1:
        raise PolicyParseError([f"expected one ODRL policy node in the document, found {len(candidates)}"])
    return from_dsp(_unexpand(candidates[0], nodes))


def parse_policy(obj: Any) -> Policy:
    """Read either form: expanded JSON-LD (full ODRL IRIs as keys, or a list of nodes) or the compacted form."""
    if isinstance(obj, list) or (isinstance(obj, dict) and ("@graph" in obj or any(
            isinstance(k, str) and k.startswith(ODRL) for k in obj))):
        return from_jsonld(obj)
    return from_dsp(obj)


# --- serialisation ----------------------------------------------------------------------------------------------

def _value_out(v: Value) -> Any:
    if v.iri:
        return {"@id": v.value}
    if v.datatype:
        dt = "xsd:" + v.datatype[len(XSD):] if v.datatype.startswith(XSD) else v.datatype
        return {"@value": v.value, "@type": dt}
    return v.value


def _constraint_out(c: AnyConstraint) -> dict[str, Any]:
    if isinstance(c, LogicalConstraint):
        out: dict[str, Any] = {c.operator: [_constraint_out(x) for x in c.constraints]}
    elif isinstance(c, Constraint):
        right = [_value_out(v) for v in c.right]
        out = {"leftOperand": compact(c.left_operand), "operator": c.operator.removeprefix(ODRL),
               "rightOperand": right if c.right_is_list else right[0]}
        if c.unit:
            out["unit"] = c.unit
        if c.datatype:
            out["dataType"] = c.datatype
    else:
        raise ValueError(f"cannot serialise a malformed constraint: {'; '.join(c.problems)}")
    if c.uid:
        out["@id"] = c.uid
    return out


def _rule_out(r: Rule, policy: Policy) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if r.uid:
        out["@id"] = r.uid
    action = compact(r.action) if r.action else None
    if r.refinements:
        out["action"] = {_RDF_VALUE: {"@id": action if ":" in action else "odrl:" + action},
                         "odrl:refinement": [_constraint_out(c) for c in r.refinements]}
    elif action is not None:
        out["action"] = action
    for k in ("assigner", "assignee", "target"):  # only when it differs from the policy-level value
        v = getattr(r, k)
        refined = getattr(r, f"{k}_refinements", ())
        if refined:
            # the DSP context defines none of these terms: prefixed so that JSON-LD processing keeps them
            coll: dict[str, Any] = {"@type": "odrl:PartyCollection" if k == "assignee" else "odrl:AssetCollection"}
            if v is not None:
                coll["odrl:source"] = {"@id": v}
            coll["odrl:refinement"] = [_constraint_out(c) for c in refined]
            out[k] = coll
        elif v is not None and v != getattr(policy, k):
            out[k] = v
    if r.constraints:
        out["constraint"] = [_constraint_out(c) for c in r.constraints]
    if r.duties:
        key = _NESTED_DUTY_KEY[r.kind]
        out[key] = [_rule_out(d, policy) for d in r.duties]
    return out


def to_dsp(policy: Policy) -> dict[str, Any]:
    """The DSP 2025-1 compacted form (no ``@context``: the enclosing message carries it)."""
    out: dict[str, Any] = {}
    if policy.uid is not None:
        out["@id"] = policy.uid
    out["@type"] = policy.type
    for k in ("profile",):
        if policy.profile:
            out[k] = list(policy.profile) if len(policy.profile) > 1 else policy.profile[0]
    for k in ("target", "assigner", "assignee", "timestamp"):
        if getattr(policy, k) is not None:
            out[k] = getattr(policy, k)
    if policy.conflict:
        out["odrl:conflict"] = {"@id": "odrl:" + policy.conflict}
    for k, attr in (("permission", "permissions"), ("prohibition", "prohibitions"), ("obligation", "obligations")):
        rules = getattr(policy, attr)
        if rules:
            out[k] = [_rule_out(r, policy) for r in rules]
    for k, v in policy.extra:
        out.setdefault(k, v)
    return out
