"""What the official DSP conformance kit (TCK) expects our node to do by itself, as data (dsp.md §11).

The kit only plays the counter-party; the reactions of the side under test are scripted by the connector, keyed
by the dataset id (negotiation) or agreement id (transfer) the kit's configuration names. The HTTP layer looks the
id up here when a test node runs with the conformance hooks enabled, and performs the named actions with the
sans-IO objects (``Negotiation.counter_offer`` for ``offer``, ``agree``, ``finalize``, ``terminate``...;
``Transfer.start``, ``suspend``, ``complete``, ``terminate``). Nothing here does I/O.

Each script maps an event the node observes to the actions it takes, in order:
``on_request`` (a request arrived / we just sent ours), ``on_offer``, ``on_accepted``, ``on_agreement``,
``on_verification``, ``on_counter``, ``on_start``.
"""

from __future__ import annotations

__all__ = ["PROVIDER_NEGOTIATION", "CONSUMER_NEGOTIATION", "PROVIDER_TRANSFER", "CONSUMER_TRANSFER", "script_for",
           "NEGOTIATION_TRIGGER_FIELDS", "TRANSFER_TRIGGER_FIELDS"]

Script = dict[str, tuple[str, ...]]

#: provider side, keyed by the dataset id suffix (``ACN0101`` ...)
PROVIDER_NEGOTIATION: dict[str, Script] = {
    "ACN0101": {"on_request": ("offer",)},
    "ACN0102": {"on_request": ("offer",), "on_counter": ("terminate",)},
    "ACN0103": {"on_request": ("offer",), "on_accepted": ("agree",), "on_verification": ("finalize",)},
    "ACN0104": {"on_request": ("agree",), "on_verification": ("finalize",)},
    "ACN0201": {"on_request": ("terminate",)},
    "ACN0202": {},
    "ACN0203": {"on_request": ("agree",)},
    "ACN0204": {"on_request": ("offer",)},
    "ACN0205": {"on_request": ("offer", "terminate")},
    "ACN0206": {"on_request": ("offer",), "on_accepted": ("terminate",)},
    "ACN0207": {"on_request": ("agree",), "on_verification": ("terminate",)},
    "ACN0301": {"on_request": ("agree",), "on_verification": ("finalize",)},
    "ACN0302": {"on_request": ("offer",)},
    "ACN0303": {"on_request": ("offer",), "on_accepted": ()},
    "ACN0304": {"on_request": ("offer",), "on_counter": ()},
}

#: consumer side, keyed by the dataset id the trigger hook names (``ACNC0101`` ...)
CONSUMER_NEGOTIATION: dict[str, Script] = {
    "ACNC0101": {"on_offer": ("accept",), "on_agreement": ("verify",)},
    "ACNC0102": {"on_offer": ("counter",)},
    "ACNC0103": {"on_offer": ("terminate",)},
    "ACNC0104": {"on_agreement": ("verify",)},
    "ACNC0202": {"on_request": ("terminate",)},
    "ACNC0203": {"on_agreement": ("terminate",)},
    "ACNC0205": {"on_offer": ("accept",)},
    "ACNC0206": {"on_agreement": ("verify",)},
    "ACNC0304": {"on_offer": ("accept",)},
    "ACNC0305": {"on_offer": ("accept",)},
    "ACNC0306": {"on_offer": ("accept",), "on_agreement": ()},  # must not verify
}

#: provider side, keyed by agreement id
PROVIDER_TRANSFER: dict[str, Script] = {
    "ATP0101": {"on_request": ("start", "terminate")},
    "ATP0102": {"on_request": ("start", "complete")},
    "ATP0103": {"on_request": ("start", "suspend", "terminate")},
    "ATP0104": {"on_request": ("start", "suspend", "start", "complete")},
    "ATP0105": {"on_request": ("terminate",)},
    **{f"ATP0{n}": {"on_request": ("start",)} for n in (201, 202, 203, 204, 303, 304, 305, 306)},
    **{f"ATP0{n}": {} for n in (205, 301, 302)},
}

#: consumer side, keyed by agreement id
CONSUMER_TRANSFER: dict[str, Script] = {
    "ATPC0201": {"on_start": ("terminate",)},
    "ATPC0202": {"on_start": ("complete",)},
    "ATPC0203": {"on_start": ("suspend", "terminate")},
    "ATPC0205": {"on_request": ("terminate",)},
}

#: bodies of the kit's trigger hooks (plain JSON, not DSP): they make our node start a negotiation / transfer
NEGOTIATION_TRIGGER_FIELDS = ("providerId", "offerId", "datasetId", "connectorAddress")
TRANSFER_TRIGGER_FIELDS = ("providerId", "agreementId", "format", "connectorAddress")


def script_for(table: dict[str, Script], process_key: str | None) -> Script | None:
    """The script whose id ends ``process_key`` (the kit's ids may carry a prefix, e.g. ``CD123:ACN0101:456``)."""
    if not process_key:
        return None
    for part in reversed(process_key.replace("/", ":").split(":")):
        if part in table:
            return table[part]
    return next((script for key, script in table.items() if key in process_key), None)
