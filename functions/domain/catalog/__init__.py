"""The fault-code knowledge base, split by job: `format` (the file formats), `telemetry`
(reading ranges, as data), `validation` (checks beyond the format) and `index` (loading and
lookups). The index is what most callers need, so it is importable from here."""

from functions.domain.catalog.index import (
    Catalog,
    ModelInfo,
    catalog_files,
    default_catalog,
    load_catalog,
)

__all__ = ["Catalog", "ModelInfo", "catalog_files", "default_catalog", "load_catalog"]
