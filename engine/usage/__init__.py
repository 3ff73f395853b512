"""The usage ledger (one row per billable operation) and the storage meter (bytes held over time)."""

from engine.usage.ledger import UsageKind, UsageLedger, attribute_to, calling_key, format_usd
from engine.usage.models import UsageSummary

__all__ = ["UsageKind", "UsageLedger", "UsageSummary", "attribute_to", "calling_key", "format_usd"]
