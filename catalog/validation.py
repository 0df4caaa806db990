"""Checks of a :class:`~catalog.model.Dataset` against our conventions and the controlled vocabularies.

``validate_dataset`` returns every problem at once (never stops at the first) so that publishing refuses with the
complete list. ``validate_metadata`` (in ``catalog.metadata``) adds the problems found while reading a config section.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from contracts.schemas import DSP_CONTEXT, validation_errors
from policies import territory, validate_policy

from . import vocabularies as vocab
from .model import Agent, Catalogue, ContactPoint, Dataset, Distribution
from .problems import Problem

__all__ = ["validate_dataset", "REQUIRED_LANGUAGES", "IDENTIFIER_RE"]

#: every title and description is given in these languages (standards.md §3.3)
REQUIRED_LANGUAGES = ("fr", "en")
IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_IRI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_HTTP_RE = re.compile(r"^https?://[^\s/$.?#][^\s<>\"]*$")
_LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_MEDIA_RE = re.compile(r"^[a-z]+/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")
_DURATION_RE = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def is_iri(value: Any) -> bool:
    return isinstance(value, str) and bool(_IRI_RE.match(value))


def is_http_iri(value: Any) -> bool:
    return isinstance(value, str) and bool(_HTTP_RE.match(value))


def _texts(field: str, value: Any, what: str) -> Iterable[Problem]:
    if not isinstance(value, dict) or not value:
        yield Problem(field, "missing", f"missing {what} (give {', '.join(f'{field}.{l}' for l in REQUIRED_LANGUAGES)})")
        return
    for lang in REQUIRED_LANGUAGES:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            yield Problem(f"{field}.{lang}", "missing", f"missing {_LANG_NAMES.get(lang, lang)} {what}")
    for lang in value:
        if not isinstance(lang, str) or not _LANG_RE.match(lang):
            yield Problem(f"{field}.{lang}", "bad-language", f"{lang!r} is not a language tag such as fr or en")


_LANG_NAMES = {"fr": "French", "en": "English"}


def _agent(field: str, agent: Agent | None) -> Iterable[Problem]:
    if agent is None:
        yield Problem(field, "missing", "missing publisher (name and, ideally, IRI and type)")
        return
    if not agent.name or not any(isinstance(v, str) and v.strip() for v in agent.name.values()):
        yield Problem(f"{field}.name", "missing", "missing publisher name")
    if agent.iri is not None and not is_iri(agent.iri):
        yield Problem(f"{field}.iri", "bad-iri", f"{agent.iri!r} is not an absolute IRI")
    if agent.type is not None and agent.type not in vocab.PUBLISHER_TYPES:
        yield Problem(f"{field}.type", "unknown-publisher-type",
                      f"unknown publisher type {agent.type!r} (ADMS: {', '.join(vocab.PUBLISHER_TYPES)})")
    if agent.homepage is not None and not is_http_iri(agent.homepage):
        yield Problem(f"{field}.homepage", "bad-iri", f"{agent.homepage!r} is not an http(s) URL")


def _contact(field: str, contact: ContactPoint | None) -> Iterable[Problem]:
    if contact is None:
        yield Problem(field, "missing", "missing contact point (name and email or url)")
        return
    if not contact.name or not contact.name.strip():
        yield Problem(f"{field}.name", "missing", "missing contact name")
    if contact.email is None and contact.url is None:
        yield Problem(field, "missing", "a contact point needs an email or a url")
    if contact.email is not None and not _EMAIL_RE.match(contact.email.removeprefix("mailto:")):
        yield Problem(f"{field}.email", "bad-email", f"{contact.email!r} is not an email address")
    if contact.url is not None and not is_http_iri(contact.url):
        yield Problem(f"{field}.url", "bad-iri", f"{contact.url!r} is not an http(s) URL")


def _spatial(codes: tuple[str, ...]) -> Iterable[Problem]:
    if not codes:
        yield Problem("spatial", "missing", "missing spatial coverage (FR, REG-xx or DEP-xx codes)")
    for i, code in enumerate(codes):
        f = f"spatial[{i}]"
        if code == "FR":
            continue
        if not isinstance(code, str):
            yield Problem(f, "bad-type", "a spatial code is a string such as FR, REG-76 or DEP-34")
        elif code.startswith("DEP-"):
            if territory.departement(code) is None:
                yield Problem(f, "unknown-departement", f"unknown département code {code!r} (INSEE codes: DEP-01 … DEP-976)")
        elif code.startswith("REG-"):
            if territory.region(code) is None:
                yield Problem(f, "unknown-region", f"unknown région code {code!r} (INSEE codes such as REG-76)")
        else:
            yield Problem(f, "unknown-territory", f"unknown spatial code {code!r}: use FR, REG-<INSEE> or DEP-<INSEE>")
        if isinstance(code, str) and territory.parse_code(code) is not None and vocab.nuts_of(code) is None:
            yield Problem(f, "no-nuts", f"no NUTS code known for {code!r}")


def _code(field: str, value: str | None, scheme: str, what: str, required: bool) -> Iterable[Problem]:
    if value is None:
        if required:
            yield Problem(field, "missing", f"missing {what} (one of {', '.join(vocab.codes(scheme))})")
        return
    if vocab.concept(scheme, value) is None:
        yield Problem(field, f"unknown-{scheme}", f"unknown {what} {value!r} (EU {scheme} table: "
                                                  f"{', '.join(vocab.codes(scheme))})")


def _distribution(i: int, d: Distribution, catalogue: Catalogue | None, seen: set[str]) -> Iterable[Problem]:
    f = f"distributions[{i}]"
    if not isinstance(d.identifier, str) or not IDENTIFIER_RE.match(d.identifier):
        yield Problem(f"{f}.identifier", "bad-identifier", f"{d.identifier!r} is not an identifier (letters, digits, . _ -)")
    elif d.identifier in seen:
        yield Problem(f"{f}.identifier", "duplicate", f"distribution {d.identifier!r} appears twice")
    seen.add(d.identifier)
    yield from _code(f"{f}.file_type", d.file_type, "file-type", "file type", True)
    media = d.media_type or vocab.media_type_of(d.file_type or "")
    if media is None:
        yield Problem(f"{f}.media_type", "missing", "missing media type (no default for this file type)")
    elif not _MEDIA_RE.match(media):
        yield Problem(f"{f}.media_type", "bad-media-type", f"{media!r} is not an IANA media type such as text/csv")
    if d.byte_size is not None and (isinstance(d.byte_size, bool) or not isinstance(d.byte_size, int) or d.byte_size < 0):
        yield Problem(f"{f}.byte_size", "bad-byte-size", f"byte size must be a non-negative integer, not {d.byte_size!r}")
    if d.sha256 is not None and not (isinstance(d.sha256, str) and _SHA256_RE.match(d.sha256)):
        yield Problem(f"{f}.sha256", "bad-checksum", "sha256 must be 64 lowercase hexadecimal digits")
    if not d.access_service:
        yield Problem(f"{f}.access_service", "missing", "missing access service")
    elif catalogue is not None and catalogue.service(d.access_service) is None:
        yield Problem(f"{f}.access_service", "unknown-service",
                      f"{d.access_service!r} is not a data service of this catalogue "
                      f"({', '.join(s.iri for s in catalogue.services)})")
    if not d.transfer_format or not isinstance(d.transfer_format, str):
        yield Problem(f"{f}.transfer_format", "missing", "missing transfer format (e.g. HttpData-PULL)")
    if d.licence is not None and not is_http_iri(d.licence):
        yield Problem(f"{f}.licence", "bad-iri", f"{d.licence!r} is not an http(s) IRI")


def _offers(offers: tuple[dict[str, Any], ...]) -> Iterable[Problem]:
    if not offers:
        yield Problem("offers", "missing", "a dataset needs at least one offer (ODRL policy)")
    ids: set[str] = set()
    for i, offer in enumerate(offers):
        f = f"offers[{i}]"
        if not isinstance(offer, dict):
            yield Problem(f, "bad-type", "an offer is a JSON object in DSP compact form")
            continue
        oid = offer.get("@id")
        if not is_iri(oid):
            yield Problem(f"{f}.@id", "bad-iri", f"an offer needs an absolute IRI as @id, not {oid!r}")
        elif oid in ids:
            yield Problem(f"{f}.@id", "duplicate", f"offer {oid!r} appears twice in this dataset")
        else:
            ids.add(oid)
        if "target" in offer:
            yield Problem(f"{f}.target", "target-in-offer", "an offer in a dataset carries no target (DSP 2025-1)")
        own = list(_constraint_problems(f, offer))
        if offer.get("@type") != "Offer":
            own.append(Problem(f"{f}.@type", "bad-offer", f"an offer has @type Offer, not {offer.get('@type')!r}"))
        if not offer.get("permission") and not offer.get("prohibition"):
            own.append(Problem(f, "bad-offer", "an offer needs permission or prohibition rules"))
        yield from own
        if own:  # the schema would only repeat these, less clearly
            continue
        probe = {"@context": [DSP_CONTEXT], "@id": "urn:probe", "@type": "Dataset", "hasPolicy": [offer],
                 "distribution": [{"@type": "Distribution", "format": "x", "accessService": "urn:probe"}]}
        schema = []
        for err in validation_errors(probe, "Dataset"):
            where, _, message = err.partition(": ")
            if "target" in message or not where.startswith("hasPolicy/0"):
                continue
            path = where.removeprefix("hasPolicy/0").strip("/").replace("/", ".")
            schema.append(Problem(f"{f}.{path}" if path else f, "bad-offer", f"not a DSP 2025-1 offer: {message}"))
        yield from schema
        if schema:
            continue
        for message in validate_policy(offer, expect="Offer", in_dataset=True):  # ODRL meaning: operands, actions…
            where, sep, text = message.partition(": ")
            if "target" in text:
                continue
            yield Problem(f"{f}.{where}" if sep else f, "bad-offer", text if sep else message)


#: operators of the DSP 2025-1 ODRL profile (``term-lteq`` left out: no ODRL 2.2 counterpart)
OPERATORS = frozenset({"eq", "neq", "gt", "gteq", "lt", "lteq", "isA", "hasPart", "isPartOf", "isAllOf", "isAnyOf",
                       "isNoneOf"})
_LOGICAL = ("and", "or", "xone", "andSequence")


def _constraint_problems(field: str, offer: dict[str, Any]) -> Iterable[Problem]:
    def walk(path: str, constraint: Any) -> Iterable[Problem]:
        if not isinstance(constraint, dict):
            yield Problem(path, "bad-offer", "a constraint is an object")
            return
        logical = [k for k in _LOGICAL if k in constraint]
        if logical:
            for j, sub in enumerate(constraint[logical[0]] if isinstance(constraint[logical[0]], list) else []):
                yield from walk(f"{path}.{logical[0]}[{j}]", sub)
            return
        for key in ("leftOperand", "operator", "rightOperand"):
            if key not in constraint:
                yield Problem(f"{path}.{key}", "bad-offer", f"a constraint needs {key}")
        op = constraint.get("operator")
        if "operator" in constraint and op not in OPERATORS:
            yield Problem(f"{path}.operator", "bad-offer",
                          f"unknown operator {op!r} (DSP 2025-1: {', '.join(sorted(OPERATORS))}; no odrl: prefix)")
        left = constraint.get("leftOperand")
        if isinstance(left, str) and ":" not in left:
            yield Problem(f"{path}.leftOperand", "bad-offer",
                          f"left operand {left!r} needs a prefix or an IRI (odrl:{left}), the DSP context names none")

    for kind in ("permission", "prohibition", "obligation"):
        rules = offer.get(kind) or []
        for j, rule in enumerate(rules if isinstance(rules, list) else []):
            if not isinstance(rule, dict):
                yield Problem(f"{field}.{kind}[{j}]", "bad-offer", "a rule is an object")
                continue
            if "action" not in rule:
                yield Problem(f"{field}.{kind}[{j}].action", "bad-offer", "a rule needs an action (e.g. use)")
            if "target" in rule:
                yield Problem(f"{field}.{kind}[{j}].target", "target-in-offer", "rules carry no target in DSP 2025-1")
            for k, c in enumerate(rule.get("constraint") or []):
                yield from walk(f"{field}.{kind}[{j}].constraint[{k}]", c)


def validate_dataset(dataset: Dataset, catalogue: Catalogue | None = None) -> list[Problem]:
    """Every problem of ``dataset`` (empty list when it can be published in ``catalogue``)."""
    d = dataset
    problems: list[Problem] = []
    if not isinstance(d.identifier, str) or not IDENTIFIER_RE.match(d.identifier):
        problems.append(Problem("identifier", "bad-identifier",
                                f"{d.identifier!r} is not an identifier (letters, digits, . _ -; at most 128)"))
    if not is_iri(d.iri):
        problems.append(Problem("iri", "bad-iri", f"{d.iri!r} is not an absolute IRI"))
    problems += _texts("title", d.title, "title")
    problems += _texts("description", d.description, "description")
    problems += _agent("publisher", d.publisher)
    problems += _contact("contact", d.contact_point)
    if not d.themes:
        problems.append(Problem("themes", "missing", f"missing theme (EU data themes: {', '.join(vocab.codes('data-theme'))})"))
    for i, theme in enumerate(d.themes):
        if vocab.concept("data-theme", theme) is None:
            hint = " (there is no TOUR theme: tourism statistics are ECON, with REGI for territories)" if \
                str(theme).upper().startswith("TOUR") else ""
            problems.append(Problem(f"themes[{i}]", "unknown-theme", f"unknown data theme {theme!r}{hint}; EU data "
                                    f"themes: {', '.join(vocab.codes('data-theme'))}"))
    for lang, words in d.keywords.items():
        if not _LANG_RE.match(lang):
            problems.append(Problem(f"keywords.{lang}", "bad-language", f"{lang!r} is not a language tag"))
        for j, w in enumerate(words):
            if not isinstance(w, str) or not w.strip():
                problems.append(Problem(f"keywords.{lang}[{j}]", "bad-keyword", "a keyword is a non-empty string"))
    problems += _spatial(d.spatial)
    if d.temporal is not None:
        t = d.temporal
        if t.start is None and t.end is None:
            problems.append(Problem("temporal", "missing", "temporal coverage needs a start or an end date"))
        if t.start is not None and t.end is not None and t.start > t.end:
            problems.append(Problem("temporal", "bad-date-range",
                                    f"temporal start {t.start.isoformat()} is after its end {t.end.isoformat()}"))
    if d.temporal_resolution is not None and not _DURATION_RE.match(d.temporal_resolution):
        problems.append(Problem("temporal_resolution", "bad-duration",
                                f"{d.temporal_resolution!r} is not an ISO 8601 duration such as P1W or P1M"))
    problems += _code("frequency", d.frequency, "frequency", "update frequency", True)
    if d.licence is None:
        problems.append(Problem("licence", "missing-licence", "missing licence (e.g. Licence Ouverte 2.0: "
                                "https://www.etalab.gouv.fr/licence-ouverte-open-licence/)"))
    elif not is_http_iri(d.licence):
        problems.append(Problem("licence", "bad-iri", f"{d.licence!r} is not an http(s) IRI of a licence"))
    problems += _code("access_rights", d.access_rights, "access-right", "access rights", True)
    for i, iri in enumerate(d.conforms_to):
        if not is_http_iri(iri):
            problems.append(Problem(f"conforms_to[{i}]", "bad-iri", f"{iri!r} is not an http(s) IRI of a schema"))
    if d.landing_page is not None and not is_http_iri(d.landing_page):
        problems.append(Problem("landing_page", "bad-iri", f"{d.landing_page!r} is not an http(s) URL"))
    if not d.distributions:
        problems.append(Problem("distributions", "missing", "a dataset needs at least one distribution"))
    seen: set[str] = set()
    for i, dist in enumerate(d.distributions):
        problems += _distribution(i, dist, catalogue, seen)
    problems += _offers(d.offers)
    if d.issued is not None and d.modified is not None and d.issued > d.modified:
        problems.append(Problem("modified", "bad-date-range", "modified is before issued"))
    return problems
