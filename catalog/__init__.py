"""DCAT catalogue: the model, its DSP 2025-1 and DCAT-AP 3.0.1 views, metadata validation, and the hub's index.

Sans-IO: no HTTP, SQL or clock here; times are passed in. The node's HTTP layer serves :class:`CatalogView` bodies
and :class:`DcatApExport` strings; the hub's crawler feeds :class:`FederatedIndex`.
"""

from .dcat_ap import DcatApExport, catalogue_graph, to_jsonld, to_turtle
from .dsp_views import (CATALOG_CONTEXT, CatalogPage, CatalogRequest, CatalogRequestError, CatalogView, catalog_error,
                        dataset_node, page_links, page_params, read_catalog_request)
from .federation import (CatalogueParseError, CatalogueStore, FederatedIndex, Hit, IndexEntry, IngestResult,
                         MemoryStore, NodeRecord, parse_catalog_pages)
from .metadata import catalogue_from_mapping, dataset_from_mapping, read_dataset, validate_metadata
from .model import Agent, Catalogue, ContactPoint, DataService, Dataset, Distribution, PeriodOfTime
from .offers import Requester, visible_offers
from .problems import MetadataError, Problem
from .publishing import Publication, publish
from .validation import validate_dataset

__all__ = [
    "Agent", "Catalogue", "ContactPoint", "DataService", "Dataset", "Distribution", "PeriodOfTime",
    "Problem", "MetadataError", "validate_metadata", "validate_dataset", "read_dataset", "dataset_from_mapping",
    "catalogue_from_mapping", "Publication", "publish", "Requester", "visible_offers",
    "CATALOG_CONTEXT", "CatalogView", "CatalogPage", "CatalogRequest", "CatalogRequestError", "catalog_error",
    "dataset_node", "page_links", "page_params", "read_catalog_request",
    "DcatApExport", "catalogue_graph", "to_turtle", "to_jsonld",
    "FederatedIndex", "CatalogueStore", "MemoryStore", "NodeRecord", "IndexEntry", "IngestResult", "Hit",
    "CatalogueParseError", "parse_catalog_pages",
]
