"""The DCAT-AP 3.0.1 view of the catalogue: an rdflib graph, serialised as Turtle or JSON-LD.

Unlike the DSP view, this one follows DCAT-AP's ranges: IRIs for formats, media types, licences and endpoints, the EU
file type rather than the transfer type, offers on datasets only. The graph carries the description of every EU
vocabulary concept it uses (type, scheme, labels) and the classes its nodes need (``odrl:Policy``, ``vcard:Kind``),
so it validates against the DCAT-AP SHACL shapes on its own, without RDFS inference or fetched vocabularies.
The JSON-LD form is compacted with a bundled prefix context; nothing is ever fetched.
"""

from __future__ import annotations

import json
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any, Mapping

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, SKOS, XSD

from . import vocabularies as vocab
from .model import Agent, Catalogue, ContactPoint, Dataset, Distribution
from .offers import with_assigner

__all__ = ["catalogue_graph", "to_turtle", "to_jsonld", "DcatApExport", "EXPORT_CONTEXT", "SHA256_ALGORITHM"]

ODRL = Namespace("http://www.w3.org/ns/odrl/2/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
IANA = "https://www.iana.org/assignments/media-types/"
DCAT_VERSION = URIRef(str(DCAT) + "version")  # DCAT 3 terms that rdflib's DCAT namespace does not list
DCAT_PREVIOUS_VERSION = URIRef(str(DCAT) + "previousVersion")
PUBLISHER_TYPE = "http://purl.org/adms/publishertype/"
LICENCE_TYPE = "http://purl.org/adms/licencetype/"
#: DCAT-AP 3.0.1's vocabulary shape wants the algorithm under https://spdx.org/rdf/terms; the canonical SPDX IRI
#: (http://…#checksumAlgorithm_sha256) is linked to it with owl:sameAs.
SHA256_ALGORITHM = URIRef("https://spdx.org/rdf/terms#checksumAlgorithm_sha256")
_PREFIXES = {"odrl": str(ODRL), "dct": str(DCTERMS), "dcat": str(DCAT), "xsd": str(XSD), "foaf": str(FOAF),
             "vcard": str(VCARD), "spdx": str(SPDX), "skos": str(SKOS)}


@lru_cache(maxsize=1)
def _context() -> dict[str, Any]:
    text = resources.files("catalog.data").joinpath("dcat_ap_export.context.jsonld").read_text(encoding="utf-8")
    return json.loads(text)["@context"]


EXPORT_CONTEXT = _context()


class _Builder:
    def __init__(self, catalogue: Catalogue):
        self.c = catalogue
        self.g = Graph()
        for prefix, ns in EXPORT_CONTEXT.items():
            self.g.bind(prefix, Namespace(ns))
        self.g.bind("dct", DCTERMS, override=True)
        self._schemes: set[str] = set()

    # -- vocabulary descriptions -----------------------------------------------------------------------------------
    def scheme(self, iri: str, title: str) -> URIRef:
        node = URIRef(iri)
        if iri not in self._schemes:
            self._schemes.add(iri)
            self.g.add((node, RDF.type, SKOS.ConceptScheme))
            self.g.add((node, DCTERMS.title, Literal(title, lang="en")))
        return node

    def concept(self, scheme: str, code: str, *types: URIRef) -> URIRef:
        c = vocab.concept(scheme, code)
        node = URIRef(vocab.concept_iri(scheme, code))
        if c is None:  # not in our tables: describe nothing, so that validation reports it
            return node
        self.g.add((node, RDF.type, SKOS.Concept))
        for t in types:
            self.g.add((node, RDF.type, t))
        self.g.add((node, SKOS.inScheme, self.scheme(vocab.scheme_iri(scheme), vocab.SCHEME_TITLES[scheme])))
        self.g.add((node, SKOS.prefLabel, Literal(c.label_en, lang="en")))
        self.g.add((node, SKOS.prefLabel, Literal(c.label_fr, lang="fr")))
        return node

    def adms_concept(self, base: str, code: str, label: str, scheme_title: str) -> URIRef:
        node = URIRef(base + code)
        self.g.add((node, RDF.type, SKOS.Concept))
        self.g.add((node, SKOS.prefLabel, Literal(label, lang="en")))
        self.g.add((node, SKOS.inScheme, self.scheme(base + "1.0", scheme_title)))
        return node

    def typed(self, iri: str, *types: URIRef) -> URIRef:
        node = URIRef(iri)
        for t in types:
            self.g.add((node, RDF.type, t))
        return node

    def texts(self, subject, predicate, value: Mapping[str, str]) -> None:
        for lang, text in value.items():
            if text:
                self.g.add((subject, predicate, Literal(text, lang=lang)))

    # -- nodes -----------------------------------------------------------------------------------------------------
    def agent(self, agent: Agent):
        node = URIRef(agent.iri) if agent.iri else BNode()
        self.g.add((node, RDF.type, FOAF.Agent))
        self.texts(node, FOAF.name, agent.name)
        if agent.type:
            self.g.add((node, DCTERMS.type, self.adms_concept(PUBLISHER_TYPE, agent.type,
                                                               vocab.PUBLISHER_TYPES.get(agent.type, agent.type),
                                                               "Publisher type")))
        if agent.homepage:
            self.g.add((node, FOAF.homepage, self.typed(agent.homepage, FOAF.Document)))
        return node

    def contact(self, contact: ContactPoint) -> BNode:
        node = BNode()
        self.g.add((node, RDF.type, VCARD.Organization))
        self.g.add((node, RDF.type, VCARD.Kind))
        self.g.add((node, VCARD.fn, Literal(contact.name)))
        if contact.email:
            mail = contact.email if contact.email.startswith("mailto:") else f"mailto:{contact.email}"
            self.g.add((node, VCARD.hasEmail, URIRef(mail)))
        if contact.url:
            self.g.add((node, VCARD.hasURL, URIRef(contact.url)))
        return node

    def licence(self, iri: str) -> URIRef:
        node = self.typed(iri, DCTERMS.LicenseDocument)
        label, types = vocab.KNOWN_LICENCES.get(iri, (None, ()))
        if label:
            self.g.add((node, RDFS.label, Literal(label)))
        for t in types:
            self.g.add((node, DCTERMS.type, self.adms_concept(LICENCE_TYPE, t, vocab.LICENCE_TYPES[t], "Licence type")))
        return node

    def place(self, code: str) -> URIRef | None:
        if code == "FR":
            return self.concept("country", "FRA", DCTERMS.Location)
        n = vocab.nuts_of(code)
        if n is None:
            return None
        node = self.typed(n.iri, SKOS.Concept, DCTERMS.Location)
        self.g.add((node, SKOS.prefLabel, Literal(n.name, lang="fr")))
        self.g.add((node, SKOS.notation, Literal(n.nuts)))
        self.g.add((node, DCTERMS.identifier, Literal(code)))
        return node

    def term(self, value: Any, default_ns: Namespace = ODRL) -> URIRef:
        if isinstance(value, Mapping):
            value = value.get("@id", "")
        value = str(value)
        prefix, _, rest = value.partition(":")
        if rest and prefix in _PREFIXES:
            return URIRef(_PREFIXES[prefix] + rest)
        if rest:
            return URIRef(value)  # an absolute IRI (https:, did:, urn:)
        return default_ns[value]

    def operand(self, value: Any) -> list:
        if isinstance(value, list):
            return [x for v in value for x in self.operand(v)]
        if isinstance(value, Mapping):
            if "@id" in value:
                return [URIRef(str(self.term(value["@id"])))]
            if "@value" in value:
                t = value.get("@type")
                return [Literal(value["@value"], datatype=self.term(t) if t else None, lang=value.get("@language"))]
            return [Literal(json.dumps(value, sort_keys=True))]
        return [Literal(value)]

    def constraint(self, c: Mapping[str, Any]) -> BNode:
        node = BNode()
        for op in ("and", "or", "xone", "andSequence"):
            if op in c:
                self.g.add((node, RDF.type, ODRL.LogicalConstraint))
                for sub in c[op]:
                    self.g.add((node, ODRL[op], self.constraint(sub)))
                return node
        self.g.add((node, RDF.type, ODRL.Constraint))
        self.g.add((node, ODRL.leftOperand, self.term(c.get("leftOperand", ""))))
        self.g.add((node, ODRL.operator, self.term(c.get("operator", ""))))
        for v in self.operand(c.get("rightOperand")):
            self.g.add((node, ODRL.rightOperand, v))
        return node

    def rule(self, rule: Mapping[str, Any], type_: URIRef) -> BNode:
        node = BNode()
        self.g.add((node, RDF.type, type_))
        if "action" in rule:
            self.g.add((node, ODRL.action, self.term(rule["action"])))
        for c in rule.get("constraint", ()):
            self.g.add((node, ODRL.constraint, self.constraint(c)))
        for duty in rule.get("duty", ()):
            self.g.add((node, ODRL.duty, self.rule(duty, ODRL.Duty)))
        return node

    def offer(self, offer: Mapping[str, Any]) -> URIRef:
        node = URIRef(offer["@id"])
        self.g.add((node, RDF.type, ODRL.Offer))
        self.g.add((node, RDF.type, ODRL.Policy))
        if offer.get("assigner"):
            self.g.add((node, ODRL.assigner, self.term(offer["assigner"])))
        for key, pred, type_ in (("permission", ODRL.permission, ODRL.Permission),
                                 ("prohibition", ODRL.prohibition, ODRL.Prohibition),
                                 ("obligation", ODRL.obligation, ODRL.Duty)):
            for rule in offer.get(key, ()):
                self.g.add((node, pred, self.rule(rule, type_)))
        profile = offer.get("profile")
        for p in ([profile] if isinstance(profile, str) else profile or ()):
            self.g.add((node, ODRL.profile, URIRef(p)))
        return node

    def distribution(self, d: Distribution, dataset: Dataset) -> URIRef:
        node = URIRef(f"{dataset.iri}/distributions/{d.identifier}")
        g = self.g
        g.add((node, RDF.type, DCAT.Distribution))
        service = self.c.service(d.access_service)
        g.add((node, DCAT.accessURL, URIRef(service.endpoint_url if service else d.access_service)))
        g.add((node, DCAT.accessService, URIRef(d.access_service)))
        self.texts(node, DCTERMS.title, d.title)
        g.add((node, DCTERMS.format, self.concept("file-type", d.file_type, DCTERMS.MediaTypeOrExtent)))
        media = d.media_type or vocab.media_type_of(d.file_type)
        if media:
            g.add((node, DCAT.mediaType, self.typed(IANA + media, DCTERMS.MediaType)))
        if d.byte_size is not None:
            g.add((node, DCAT.byteSize, Literal(str(d.byte_size), datatype=XSD.nonNegativeInteger)))
        if d.sha256:
            checksum = BNode()
            g.add((node, SPDX.checksum, checksum))
            g.add((checksum, RDF.type, SPDX.Checksum))
            g.add((checksum, SPDX.algorithm, SHA256_ALGORITHM))
            g.add((checksum, SPDX.checksumValue, Literal(d.sha256, datatype=XSD.hexBinary)))
            g.add((SHA256_ALGORITHM, RDF.type, SPDX.ChecksumAlgorithm))
            g.add((SHA256_ALGORITHM, OWL.sameAs, SPDX.checksumAlgorithm_sha256))
        licence = d.licence or dataset.licence
        if licence:
            g.add((node, DCTERMS.license, self.licence(licence)))
        g.add((node, DCATAP.availability, self.concept("planned-availability", "STABLE")))
        return node

    def dataset(self, d: Dataset) -> URIRef:
        node = URIRef(d.iri)
        g = self.g
        g.add((node, RDF.type, DCAT.Dataset))
        g.add((node, DCTERMS.identifier, Literal(d.identifier)))
        self.texts(node, DCTERMS.title, d.title)
        self.texts(node, DCTERMS.description, d.description)
        for lang, words in d.keywords.items():
            for w in words:
                g.add((node, DCAT.keyword, Literal(w, lang=lang)))
        for theme in d.themes:
            g.add((node, DCAT.theme, self.concept("data-theme", theme)))
        places = [p for p in (self.place(code) for code in d.spatial) if p is not None]
        if places and "FR" not in d.spatial:
            places.append(self.place("FR"))  # keep a managed country concept next to the NUTS IRIs
        for p in places:
            g.add((node, DCTERMS.spatial, p))
        if d.temporal is not None:
            period = BNode()
            g.add((node, DCTERMS.temporal, period))
            g.add((period, RDF.type, DCTERMS.PeriodOfTime))
            if d.temporal.start:
                g.add((period, DCAT.startDate, Literal(d.temporal.start.isoformat(), datatype=XSD.date)))
            if d.temporal.end:
                g.add((period, DCAT.endDate, Literal(d.temporal.end.isoformat(), datatype=XSD.date)))
        if d.temporal_resolution:
            g.add((node, DCAT.temporalResolution, Literal(d.temporal_resolution, datatype=XSD.duration)))
        if d.frequency:
            g.add((node, DCTERMS.accrualPeriodicity, self.concept("frequency", d.frequency, DCTERMS.Frequency)))
        if d.publisher:
            g.add((node, DCTERMS.publisher, self.agent(d.publisher)))
        if d.contact_point:
            g.add((node, DCAT.contactPoint, self.contact(d.contact_point)))
        if d.access_rights:
            g.add((node, DCTERMS.accessRights,
                   self.concept("access-right", d.access_rights, DCTERMS.RightsStatement)))
        for iri in d.conforms_to:
            g.add((node, DCTERMS.conformsTo, self.typed(iri, DCTERMS.Standard)))
        if d.landing_page:
            g.add((node, DCAT.landingPage, self.typed(d.landing_page, FOAF.Document)))
        g.add((node, DCAT_VERSION, Literal(str(d.version))))
        if d.previous_version:
            g.add((node, DCAT_PREVIOUS_VERSION, URIRef(d.previous_version)))
        self.texts(node, ADMS.versionNotes, d.version_notes)
        if d.issued:
            g.add((node, DCTERMS.issued, Literal(d.issued.isoformat(), datatype=XSD.dateTime)))
        if d.modified:
            g.add((node, DCTERMS.modified, Literal(d.modified.isoformat(), datatype=XSD.dateTime)))
        for offer in d.offers:
            g.add((node, ODRL.hasPolicy, self.offer(with_assigner(offer, self.c.participant_id))))
        for dist in d.distributions:
            g.add((node, DCAT.distribution, self.distribution(dist, d)))
        return node

    def build(self) -> Graph:
        c, g = self.c, self.g
        node = URIRef(c.iri)
        g.add((node, RDF.type, DCAT.Catalog))
        self.texts(node, DCTERMS.title, c.title)
        self.texts(node, DCTERMS.description, c.description)
        g.add((node, DCTERMS.publisher, self.agent(c.publisher)))
        for code in ("FRA", "ENG"):
            g.add((node, DCTERMS.language, self.concept("language", code, DCTERMS.LinguisticSystem)))
        g.add((node, DCTERMS.spatial, self.place("FR")))
        g.add((node, DCAT.themeTaxonomy, self.scheme(vocab.scheme_iri("data-theme"), "Data theme")))
        if c.homepage:
            g.add((node, FOAF.homepage, self.typed(c.homepage, FOAF.Document)))
        if c.issued:
            g.add((node, DCTERMS.issued, Literal(c.issued.isoformat(), datatype=XSD.dateTime)))
        if c.modified:
            g.add((node, DCTERMS.modified, Literal(c.modified.isoformat(), datatype=XSD.dateTime)))
        services = {}
        for s in c.services:
            sn = URIRef(s.iri)
            services[s.iri] = sn
            g.add((node, DCAT.service, sn))
            g.add((sn, RDF.type, DCAT.DataService))
            self.texts(sn, DCTERMS.title, s.title)
            g.add((sn, DCAT.endpointURL, self.typed(s.endpoint_url, RDFS.Resource)))  # the individual range shapes ask
            g.add((sn, DCTERMS.conformsTo, self.typed(s.conforms_to, DCTERMS.Standard)))
        for ident in sorted(c.datasets):
            d = c.datasets[ident]
            dn = self.dataset(d)
            g.add((node, DCAT.dataset, dn))
            for s in {x.access_service for x in d.distributions}:
                if s in services:
                    g.add((services[s], DCAT.servesDataset, dn))
        return g


def catalogue_graph(catalogue: Catalogue) -> Graph:
    """The DCAT-AP 3.0.1 graph of the catalogue's current datasets, with the vocabulary concepts it uses."""
    return _Builder(catalogue).build()


def to_turtle(catalogue: Catalogue) -> str:
    return catalogue_graph(catalogue).serialize(format="turtle")


def to_jsonld(catalogue: Catalogue) -> str:
    """JSON-LD compacted with the bundled prefix context (inline, so readers need not fetch anything)."""
    return catalogue_graph(catalogue).serialize(format="json-ld", context=EXPORT_CONTEXT, indent=1)


class DcatApExport:
    """Both serialisations of one catalogue, computed once on first use (the node serves them from here)."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue

    @cached_property
    def graph(self) -> Graph:
        return catalogue_graph(self.catalogue)

    @cached_property
    def turtle(self) -> str:
        return self.graph.serialize(format="turtle")

    @cached_property
    def jsonld(self) -> str:
        return self.graph.serialize(format="json-ld", context=EXPORT_CONTEXT, indent=1)
