"""Enrichment: the offline (and optional paid) analyses that fill an asset's ``ai`` and its index row."""

from engine.enrich.claude import ClaudeWriter
from engine.enrich.model_store import ModelStore

__all__ = ["ClaudeWriter", "ModelStore"]
