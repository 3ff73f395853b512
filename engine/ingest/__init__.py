"""Ingest: bytes from uploads, URLs, base64 or local paths become catalogued assets."""

from engine.ingest.service import IngestService

__all__ = ["IngestService"]
