"""The usage ledger: one row per billable operation, priced from the configured price table."""

from engine.usage.ledger import UsageKind, UsageLedger, UsageSummary, attribute_to, format_usd

__all__ = ["UsageKind", "UsageLedger", "UsageSummary", "attribute_to", "format_usd"]
