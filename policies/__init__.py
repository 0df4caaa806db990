"""ODRL 2.2 usage policies for the data space (sans-IO: no network, no clock; time is passed in).

Public API — what the catalogue, negotiation and data-plane code calls::

    from policies import parse_policy, to_dsp, evaluate, Request, World

    policy = parse_policy(offer_json)               # DSP compacted form or expanded JSON-LD → Policy
    decision = evaluate(policy, Request(party=did, action="use", purpose="Statistics",
                                        claims={"membershipRole": ["regional_node"], "territory": "REG-76"}),
                        World(now=now, count=uses_so_far, agreement_start=agreement.timestamp))
    decision.permitted, decision.decision            # True/False, "permit"/"deny"
    decision.reasons                                 # one Reason per rule, premise and constraint
    decision.to_dict()                               # {"decision": ..., "reasons": [...], "rules": [...]}
    evaluate(policy, request, world, unknown="possible")  # catalogue: could this requester be permitted?

- :func:`validate_policy` lists every problem of a policy document before it is published;
- :func:`match_offer` says how a requested offer differs from the provider's (empty list: same offer) and
  :func:`agreement_for` turns the agreed offer into the Agreement policy;
- :mod:`policies.templates` renders the tourism templates of ``config/policies/`` by name;
- :mod:`policies.territory` holds the INSEE régions/départements used by spatial and territory constraints.

Our own left operands live under ``https://w3id.org/passerelle/odrl/`` (:data:`PASSERELLE`); see
docs/policies.md for the semantics.
"""

from policies.evaluate import (CompiledPolicy, Decision, Reason, Request, RuleReport, World, compile_policy,
                               evaluate)
from policies.matching import agreement_for, canonical_rules, match_offer
from policies.model import Constraint, LogicalConstraint, MalformedConstraint, Policy, Rule, Value
from policies.parse import PolicyParseError, from_dsp, from_jsonld, parse_policy, to_dsp
from policies.validate import validate_policy
from policies.vocabulary import ODRL, PASSERELLE, PURPOSE

__all__ = [
    "Policy", "Rule", "Constraint", "LogicalConstraint", "MalformedConstraint", "Value",
    "parse_policy", "from_dsp", "from_jsonld", "to_dsp", "PolicyParseError",
    "Request", "World", "Decision", "Reason", "RuleReport", "CompiledPolicy", "compile_policy", "evaluate",
    "match_offer", "agreement_for", "canonical_rules", "validate_policy",
    "ODRL", "PASSERELLE", "PURPOSE",
]
