"""Webhooks: signed HTTP announcements of events (Standard Webhooks), each delivery its own retried job.

The service is imported from ``engine.webhooks.service``; this package stays light so ``engine.settings``
can import ``engine.webhooks.settings`` without a cycle.
"""
