"""From an authorised pull to the file to serve: the published distribution, converted or aggregated."""

from __future__ import annotations

from typing import Any

from connector.publishing import distribution_path

from .formats import AggregationError, Served, aggregate_spec, served_file

__all__ = ["resolve", "current_distribution"]


def current_distribution(svc: Any, dataset_id: str) -> tuple[str, Any]:
    """The dataset's current version (by IRI or identifier): (local identifier, its first file distribution)."""
    from .service import PullRefused
    cat = svc.catalog.catalogue()
    ds = cat.datasets.get(dataset_id) or next((d for d in cat.datasets.values() if d.iri == dataset_id), None)
    if ds is None:
        raise PullRefused(404, "NO_DATASET", [f"dataset {dataset_id!r} is no longer published"])
    dist = next((d for d in ds.distributions if d.sha256), None)
    if dist is None:
        raise PullRefused(404, "NO_DISTRIBUTION", [f"dataset {dataset_id!r} has no file distribution"])
    return ds.identifier, dist


def resolve(svc: Any, grant: Any, fmt: str) -> Served:
    from .service import PullRefused
    identifier, dist = current_distribution(svc, grant.dataset_id)
    source = distribution_path(svc.node, identifier, dist.sha256, dist.file_type)
    if not source.exists():
        raise PullRefused(404, "NO_FILE", [f"the file of {identifier!r} v{dist.sha256[:12]} is missing on the node"])
    try:
        spec = aggregate_spec(grant.policy) if grant.aggregate else None
        return served_file(svc.node.data_dir, identifier, source, dist.sha256, fmt, spec)
    except AggregationError as e:
        raise PullRefused(403, "AGGREGATION", [str(e)]) from None
