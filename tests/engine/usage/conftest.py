"""The usage tests run on both catalogs, like the catalog's own."""

from tests.engine.catalog.conftest import catalog_url

__all__ = ["catalog_url"]
