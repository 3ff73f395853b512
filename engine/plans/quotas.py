"""Quotas per account (bytes stored, AI operations a month), checked before the work starts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.errors import PicshaError
from engine.plans.settings import LimitSettings

if TYPE_CHECKING:  # engine.usage reads the settings this package's settings are part of
    from engine.usage import UsageLedger


class QuotaExceeded(PicshaError):
    status = 402
    code = "quota_exceeded"


class Quotas:
    def __init__(self, settings: LimitSettings, ledger: UsageLedger):
        self.settings = settings
        self.ledger = ledger

    async def check_storage(self, account_id: str, incoming: int) -> None:
        """Refuse storing ``incoming`` more bytes past the plan's ``storage_bytes``."""
        quota = self.settings.plan_of(account_id).storage_bytes
        if quota is None:
            return
        used = await self.ledger.stored_bytes(account_id)
        if used + incoming > quota:
            raise QuotaExceeded(
                f"Storing {incoming} more bytes would pass this account's storage quota of {quota} bytes "
                f"({used} stored): delete assets or ask for a larger plan.",
                quota="storage_bytes", limit=quota, used=used)

    async def check_ai(self, account_id: str) -> None:
        """Refuse AI work once the month's ``ai_operations_per_month`` are used."""
        quota = self.settings.plan_of(account_id).ai_operations_per_month
        if quota is None:
            return
        used = await self.ledger.ai_operations(account_id)
        if used >= quota:
            raise QuotaExceeded(
                f"This account used its {quota} AI operations of this month ({used}); they renew on the 1st (UTC). "
                "Uploads still work with analyses off (config flags false).",
                quota="ai_operations_per_month", limit=quota, used=used)
