"""Enrichment: the offline (and optional paid) analyses that fill an asset's ``ai`` and its index row."""
